package lib.winpod.fast_test

import data.lib.winpod.fast
import data.lib.winpod.pods
import data.lib.winpod.shapes
import data.lib.winpod.shapes_test

# The quick look and the checks that name fields agree on every case of the
# shapes tables (tests/test_properties.py does the same on generated pods).
test_problems_are_the_checks[name] if {
	some name, obj in object.union(
		shapes_test.well_typed_cases,
		{name: tc.object | some name, tc in shapes_test.malformed_cases},
	)
	path := pods.spec_paths[obj.kind]
	fast.problems(obj, path) == shapes.problems(obj, path)
}

# Sound: a spec the quick look passes has no problem.
test_the_quick_look_is_sound[name] if {
	some name, obj in object.union(
		shapes_test.well_typed_cases,
		{name: tc.object | some name, tc in shapes_test.malformed_cases},
	)
	_sound(obj)
}

_sound(obj) if not fast.well_typed(object.get(obj, pods.spec_paths[obj.kind], null))

_sound(obj) if {
	fast.well_typed(object.get(obj, pods.spec_paths[obj.kind], null))
	shapes.problems(obj, pods.spec_paths[obj.kind]) == set()
}

# And it takes the common case: containers, volumes, tolerations, selectors.
test_the_quick_look_takes_a_plain_pod if {
	fast.well_typed({
		"securityContext": {"windowsOptions": {"runAsUserName": "ContainerUser"}},
		"nodeSelector": {"kubernetes.io/os": "windows"},
		"tolerations": [{"key": "os", "value": "windows"}],
		"containers": [{"name": "a", "image": "x", "volumeMounts": [{"name": "h", "subPath": "a"}]}],
		"volumes": [{"name": "h", "hostPath": {"path": "C:\\x"}}, {"name": "e", "emptyDir": {}}],
		"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
	})
}

test_wrong_types_fail_the_quick_look[name] if {
	some name, tc in {name: tc | some name, tc in shapes_test.malformed_cases; tc.want != set()}
	not fast.well_typed(object.get(tc.object, pods.spec_paths[tc.object.kind], null))
}

test_own_or if {
	fast.own_or("a", "b") == "a"
	fast.own_or(null, "b") == "b"
	fast.own_or(false, true) == false
}
