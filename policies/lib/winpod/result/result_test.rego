package lib.winpod.result_test

import data.lib.winpod.result

test_violation if {
	result.violation("hostpath.writable", "spec.volumes[0]", "m") == {
		"msg": "m",
		"details": {"code": "hostpath.writable", "field": "spec.volumes[0]"},
	}
}
