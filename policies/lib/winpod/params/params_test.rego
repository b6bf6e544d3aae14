package lib.winpod.params_test

import data.lib.winpod.params

object_cases := {
	"object": {"parameters": {"a": 1}, "want": {"a": 1}},
	"null": {"parameters": null, "want": {}},
	"string": {"parameters": "x", "want": {}},
	"list": {"parameters": [{"a": 1}], "want": {}},
}

test_object_of[name] if {
	some name, tc in object_cases
	params.object_of(tc.parameters) == tc.want
}

array_cases := {
	"set": {"parameters": {"k": ["a"]}, "want": ["a"]},
	"empty": {"parameters": {"k": []}, "want": []},
	"absent": {"parameters": {}, "want": ["default"]},
	"null": {"parameters": {"k": null}, "want": ["default"]},
	"string": {"parameters": {"k": "a"}, "want": []},
	"object": {"parameters": {"k": {"a": 1}}, "want": []},
}

test_list[name] if {
	some name, tc in array_cases
	params.list(tc.parameters, "k", ["default"]) == tc.want
}

flag_cases := {
	"true": {"parameters": {"k": true}, "is_true": true, "is_false": false},
	"false": {"parameters": {"k": false}, "is_true": false, "is_false": true},
	"absent": {"parameters": {}, "is_true": false, "is_false": false},
	"string true": {"parameters": {"k": "true"}, "is_true": false, "is_false": false},
	"string false": {"parameters": {"k": "false"}, "is_true": false, "is_false": false},
	"zero": {"parameters": {"k": 0}, "is_true": false, "is_false": false},
}

test_flags[name] if {
	some name, tc in flag_cases
	params.is_true(tc.parameters, "k") == tc.is_true
	params.is_false(tc.parameters, "k") == tc.is_false
}
