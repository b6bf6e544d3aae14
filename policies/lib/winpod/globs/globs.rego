# METADATA
# title: Anchored globs
# description: >-
#   SPEC 1 "Globs" for images, namespaces and pipe names: `*` matches any run of
#   characters, `/` included; every other character is literal; the whole string
#   must match. glob.match is not used because it gives `?`, `[` and `{` meaning.
# custom:
#   id: lib.winpod.globs
package lib.winpod.globs

# METADATA
# scope: document
# title: matches
# description: True when the string value matches the glob pattern; false for non-strings.
default matches(_, _) := false

matches(pattern, value) if {
	is_string(pattern)
	is_string(value)
	not contains(pattern, "*")
	pattern == value
}

matches(pattern, value) if {
	is_string(pattern)
	is_string(value)
	contains(pattern, "*")
	regex.match(regex_of(pattern), value)
}

# METADATA
# scope: document
# title: matches_any
# description: True when value matches some pattern of the list; a non-list matches nothing.
default matches_any(_, _) := false

matches_any(patterns, value) if {
	is_array(patterns)
	some pattern in patterns
	matches(pattern, value)
}

# METADATA
# title: regex_of
# description: The RE2 expression equivalent to a glob pattern, anchored at both ends.
regex_of(pattern) := concat("", [`(?s)\A`, strings.replace_n(_regex_escapes, pattern), `\z`])

# Every RE2 metacharacter but `*` stands for itself; `*` becomes "any run".
_regex_escapes := {
	`\`: `\\`,
	".": `\.`,
	"+": `\+`,
	"?": `\?`,
	"(": `\(`,
	")": `\)`,
	"[": `\[`,
	"]": `\]`,
	"{": `\{`,
	"}": `\}`,
	"|": `\|`,
	"^": `\^`,
	"$": `\$`,
	"*": ".*",
}
