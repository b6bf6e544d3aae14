// Prints, as JSON, pairs of one-character strings with Go's verdict on them
// under strings.EqualFold: every character with a case mapping or a fold
// orbit, against each member of its orbit and each of its case mappings.
// tests/test_equal_fold.py holds lib.winpod.users.equal_fold to it.
package main

import (
	"encoding/json"
	"os"
	"strings"
	"unicode"
)

func main() {
	type pair struct {
		A     string `json:"a"`
		B     string `json:"b"`
		Equal bool   `json:"equal"`
	}
	var pairs []pair
	add := func(a, b rune) {
		pairs = append(pairs, pair{string(a), string(b), strings.EqualFold(string(a), string(b))})
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		lower, upper := unicode.ToLower(r), unicode.ToUpper(r)
		orbit := unicode.SimpleFold(r) != r
		if lower == r && upper == r && !orbit {
			continue
		}
		add(r, lower)
		add(r, upper)
		add(r, unicode.ToLower(upper))
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			add(r, f)
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(map[string][]pair{"pairs": pairs}); err != nil {
		os.Exit(1)
	}
}
