package lib.winpod.result_test

import data.lib.winpod.result

test_violation if {
	result.violation("hostpath.writable", "spec.volumes[0]", "m") == {
		"msg": "m",
		"details": {"code": "hostpath.writable", "field": "spec.volumes[0]"},
	}
}

show_cases := {
	"string": {"value": `C:\Windows`, "want": `"C:\Windows"`},
	"null": {"value": null, "want": "unset"},
	"boolean": {"value": true, "want": "true"},
	"number": {"value": 1, "want": "1"},
	"list": {"value": [`NT AUTHORITY\SYSTEM`, 1, null], "want": `["NT AUTHORITY\SYSTEM", 1, null]`},
	"empty list": {"value": [], "want": "[]"},
	"object": {"value": {"a": "b"}, "want": `{"a":"b"}`},
}

test_show[name] if {
	some name, tc in show_cases
	result.show(tc.value) == tc.want
}

test_malformed if {
	result.malformed("users.malformed", "Pod/ns/p", {"category": "os", "field": "spec.os", "expected": "object", "got": "string"}) == {
		"msg": "Pod/ns/p: spec.os must be an object, got string",
		"details": {"code": "users.malformed", "field": "spec.os"},
	}
}
