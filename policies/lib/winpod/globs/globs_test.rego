package lib.winpod.globs_test

import data.lib.winpod.globs

match_cases := {
	"exact": {"pattern": "mcr.microsoft.com/windows/nanoserver", "value": "mcr.microsoft.com/windows/nanoserver", "want": true},
	"exact differs": {"pattern": "mcr.microsoft.com/windows/nanoserver", "value": "mcr.microsoft.com/windows/servercore", "want": false},
	"anchored at start": {"pattern": "mcr.microsoft.com/windows/nanoserver", "value": "evil.io/mcr.microsoft.com/windows/nanoserver", "want": false},
	"anchored at end": {"pattern": "mcr.microsoft.com/windows/nanoserver", "value": "mcr.microsoft.com/windows/nanoserver-evil", "want": false},
	"star anchored at start": {"pattern": "mcr.microsoft.com/*", "value": "evil.io/mcr.microsoft.com/x", "want": false},
	"star anchored at end": {"pattern": "*/nanoserver", "value": "a/nanoserver/evil", "want": false},
	"dot is literal": {"pattern": "mcr.microsoft.com/x", "value": "mcrXmicrosoftXcom/x", "want": false},
	"dot is literal with star": {"pattern": "mcr.microsoft.com/*", "value": "mcrXmicrosoft.com/x", "want": false},
	"star crosses slash": {"pattern": "mcr.microsoft.com/*", "value": "mcr.microsoft.com/oss/kubernetes-csi/csi-proxy", "want": true},
	"star matches empty": {"pattern": "csi-proxy-*", "value": "csi-proxy-", "want": true},
	"star in the middle": {"pattern": "a*z", "value": "a/b.c:d@z", "want": true},
	"two stars": {"pattern": "*proxy*", "value": "csi-proxy-v1", "want": true},
	"two stars in order only": {"pattern": "a*b*c", "value": "acb", "want": false},
	"star alone": {"pattern": "*", "value": "", "want": true},
	"star crosses newline": {"pattern": "a*b", "value": "a\nb", "want": true},
	"question mark is literal": {"pattern": "a?c*", "value": "abc", "want": false},
	"question mark matches itself": {"pattern": "a?c*", "value": "a?cd", "want": true},
	"brackets are literal": {"pattern": "[ab]*", "value": "a", "want": false},
	"brackets match themselves": {"pattern": "[ab]*", "value": "[ab]x", "want": true},
	"braces are literal": {"pattern": "{a,b}*", "value": "a", "want": false},
	"backslash is literal": {"pattern": `csi\*`, "value": `csi\proxy`, "want": true},
	"backslash does not escape": {"pattern": `csi\*`, "value": "csi*", "want": false},
	"regex syntax is literal": {"pattern": "^a+(b|c)$*", "value": "^a+(b|c)$", "want": true},
	"regex syntax does not act": {"pattern": "a+*", "value": "aa", "want": false},
	"case sensitive": {"pattern": "ABC*", "value": "abc", "want": false},
	"pattern not a string": {"pattern": 5, "value": "5", "want": false},
	"value not a string": {"pattern": "*", "value": 5, "want": false},
	"value null": {"pattern": "*", "value": null, "want": false},
}

test_matches[name] if {
	some name, tc in match_cases
	globs.matches(tc.pattern, tc.value) == tc.want
}

any_cases := {
	"one of many": {"patterns": ["a", "b*"], "value": "bc", "want": true},
	"none": {"patterns": ["a", "b*"], "value": "c", "want": false},
	"empty list": {"patterns": [], "value": "c", "want": false},
	"not a list": {"patterns": "c", "value": "c", "want": false},
	"non-string entries are skipped": {"patterns": [1, "c"], "value": "c", "want": true},
}

test_matches_any[name] if {
	some name, tc in any_cases
	globs.matches_any(tc.patterns, tc.value) == tc.want
}
