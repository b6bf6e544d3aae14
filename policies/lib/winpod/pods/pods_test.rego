package lib.winpod.pods_test

import data.lib.winpod.pods
import data.lib.winpod.windows
import data.lib.winpod.windows_test

pod_spec := {"containers": [{"name": "app", "image": "img"}]}

# Each governed kind with its pod spec where SPEC 1 says it is.
kind_cases := {
	"Pod": {"object": {"kind": "Pod", "spec": pod_spec}, "prefix": "spec"},
	"PodTemplate": {"object": {"kind": "PodTemplate", "template": {"spec": pod_spec}}, "prefix": "template.spec"},
	"Deployment": {"object": {"kind": "Deployment", "spec": {"template": {"spec": pod_spec}}}, "prefix": "spec.template.spec"},
	"ReplicaSet": {"object": {"kind": "ReplicaSet", "spec": {"template": {"spec": pod_spec}}}, "prefix": "spec.template.spec"},
	"StatefulSet": {"object": {"kind": "StatefulSet", "spec": {"template": {"spec": pod_spec}}}, "prefix": "spec.template.spec"},
	"DaemonSet": {"object": {"kind": "DaemonSet", "spec": {"template": {"spec": pod_spec}}}, "prefix": "spec.template.spec"},
	"Job": {"object": {"kind": "Job", "spec": {"template": {"spec": pod_spec}}}, "prefix": "spec.template.spec"},
	"ReplicationController": {"object": {"kind": "ReplicationController", "spec": {"template": {"spec": pod_spec}}}, "prefix": "spec.template.spec"},
	"CronJob": {"object": {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": pod_spec}}}}}, "prefix": "spec.jobTemplate.spec.template.spec"},
}

test_pod_spec_of_each_kind[name] if {
	some name, tc in kind_cases
	pod := pods.pod({"object": tc.object})
	pod.prefix == tc.prefix
	[pods.field(pod, c) | some c in pod.containers] == [concat("", [tc.prefix, ".containers[0]"])]
	pod.malformed == set()
}

ungoverned_cases := {
	"other kind": {"object": {"kind": "ConfigMap", "data": {"spec": "x"}}},
	"no kind": {"object": {"spec": pod_spec}},
	"kind not a string": {"object": {"kind": ["Pod"], "spec": pod_spec}},
	"object not an object": {"object": "Pod"},
	"no object": {},
	"review not an object": 42,
}

test_pod_undefined_for_ungoverned[name] if {
	some name, tc in ungoverned_cases
	not pods.pod(tc)
}

test_kinds_cover_spec_paths if {
	{kind | some entry in pods.kinds; some kind in entry.kinds} == object.keys(pods.spec_paths)
}

namespace_cases := {
	"object": {"review": {"object": {"metadata": {"namespace": "a"}}, "namespace": "b"}, "want": "a"},
	"request": {"review": {"object": {"metadata": {}}, "namespace": "b"}, "want": "b"},
	"empty object namespace": {"review": {"object": {"metadata": {"namespace": ""}}, "namespace": "b"}, "want": "b"},
	"default": {"review": {"object": {}}, "want": "default"},
	"wrong types": {"review": {"object": {"metadata": {"namespace": 1}}, "namespace": ["b"]}, "want": "default"},
	"metadata not an object": {"review": {"object": {"metadata": "x"}}, "want": "default"},
}

test_namespace[name] if {
	some name, tc in namespace_cases
	pods.namespace(tc.review) == tc.want
}

name_cases := {
	"name": {"object": {"metadata": {"name": "a", "generateName": "g-"}}, "want": "a"},
	"generateName": {"object": {"metadata": {"generateName": "g-"}}, "want": "g-"},
	"none": {"object": {"metadata": {"name": 5}}, "want": "<unnamed>"},
}

test_name[name] if {
	some name, tc in name_cases
	pods.name(tc.object) == tc.want
}

test_label if {
	pods.object_label(pods.pod({"object": {"kind": "Pod", "metadata": {"name": "p"}, "spec": {}}, "namespace": "ns"})) == "Pod/ns/p"
}

test_absent_or_null_spec_has_no_containers[name] if {
	some name, obj in {
		"absent": {"kind": "Deployment"},
		"null template": {"kind": "Deployment", "spec": {"template": null}},
		"null spec": {"kind": "Pod", "spec": null},
	}
	pod := pods.pod({"object": obj})
	pod.containers == []
	pod.volumes == []
	pod.malformed == set()
}

# Effective values: the container's when set (not null), else the pod's.
effective_cases := {
	"container only": {
		"pod": {},
		"container": {"securityContext": {"windowsOptions": {"hostProcess": true, "runAsUserName": "u"}, "runAsNonRoot": true}},
		"want": {
			"host_process": true, "host_process_value": true, "host_process_inherited": false, "user": "u", "user_inherited": false,
			"fields": ["spec.containers[0].securityContext.windowsOptions.hostProcess", "spec.containers[0].securityContext.windowsOptions.runAsUserName"],
		},
	},
	"pod only": {
		"pod": {"windowsOptions": {"hostProcess": true, "runAsUserName": "p"}, "runAsNonRoot": true},
		"container": {},
		"want": {
			"host_process": true, "host_process_value": true, "host_process_inherited": true, "user": "p", "user_inherited": true,
			"fields": ["spec.securityContext.windowsOptions.hostProcess", "spec.securityContext.windowsOptions.runAsUserName"],
		},
	},
	"container overrides pod": {
		"pod": {"windowsOptions": {"hostProcess": true, "runAsUserName": "p"}, "runAsNonRoot": true},
		"container": {"securityContext": {"windowsOptions": {"hostProcess": false, "runAsUserName": "c"}, "runAsNonRoot": false}},
		"want": {
			"host_process": false, "host_process_value": false, "host_process_inherited": false, "user": "c", "user_inherited": false,
			"fields": ["spec.containers[0].securityContext.windowsOptions.hostProcess", "spec.containers[0].securityContext.windowsOptions.runAsUserName"],
		},
	},
	"container null falls back to pod": {
		"pod": {"windowsOptions": {"hostProcess": true, "runAsUserName": "p"}},
		"container": {"securityContext": {"windowsOptions": {"hostProcess": null, "runAsUserName": null}}},
		"want": {
			"host_process": true, "host_process_value": true, "host_process_inherited": true, "user": "p", "user_inherited": true,
			"fields": ["spec.securityContext.windowsOptions.hostProcess", "spec.securityContext.windowsOptions.runAsUserName"],
		},
	},
	"string true is HostProcess": {
		"pod": {},
		"container": {"securityContext": {"windowsOptions": {"hostProcess": "true"}}},
		"want": {
			"host_process": true, "host_process_value": "true", "host_process_inherited": false, "user": null, "user_inherited": true,
			"fields": ["spec.containers[0].securityContext.windowsOptions.hostProcess", "spec.containers[0].securityContext.windowsOptions.runAsUserName"],
		},
	},
	"string false is HostProcess too": {
		"pod": {},
		"container": {"securityContext": {"windowsOptions": {"hostProcess": "false"}}},
		"want": {
			"host_process": true, "host_process_value": "false", "host_process_inherited": false, "user": null, "user_inherited": true,
			"fields": ["spec.containers[0].securityContext.windowsOptions.hostProcess", "spec.containers[0].securityContext.windowsOptions.runAsUserName"],
		},
	},
	"nothing set": {
		"pod": {},
		"container": {},
		"want": {
			"host_process": false, "host_process_value": null, "host_process_inherited": true, "user": null, "user_inherited": true,
			"fields": ["spec.containers[0].securityContext.windowsOptions.hostProcess", "spec.containers[0].securityContext.windowsOptions.runAsUserName"],
		},
	},
	"wrong-typed securityContexts read as unset": {
		"pod": "x",
		"container": {"securityContext": ["x"]},
		"want": {
			"host_process": false, "host_process_value": null, "host_process_inherited": true, "user": null, "user_inherited": true,
			"fields": ["spec.containers[0].securityContext.windowsOptions.hostProcess", "spec.containers[0].securityContext.windowsOptions.runAsUserName"],
		},
	},
	"garbage own values are set, never the pod's": {
		"pod": {"windowsOptions": {"hostProcess": false, "runAsUserName": "p"}, "runAsNonRoot": true},
		"container": {"securityContext": {"windowsOptions": {"hostProcess": [null], "runAsUserName": [null]}, "runAsNonRoot": [null]}},
		"want": {
			"host_process": true, "host_process_value": [null], "host_process_inherited": false, "user": [null], "user_inherited": false,
			"fields": ["spec.containers[0].securityContext.windowsOptions.hostProcess", "spec.containers[0].securityContext.windowsOptions.runAsUserName"],
		},
	},
	"a false-looking list is HostProcess": {
		"pod": {},
		"container": {"securityContext": {"windowsOptions": {"hostProcess": [false]}}},
		"want": {
			"host_process": true, "host_process_value": [false], "host_process_inherited": false, "user": null, "user_inherited": true,
			"fields": ["spec.containers[0].securityContext.windowsOptions.hostProcess", "spec.containers[0].securityContext.windowsOptions.runAsUserName"],
		},
	},
}

test_effective_values[name] if {
	some name, tc in effective_cases
	pod := pods.pod({"object": {"kind": "Pod", "spec": {"securityContext": tc.pod, "containers": [tc.container]}}})
	[c] := pod.containers
	got := object.union(
		object.filter(c, {"host_process", "host_process_value", "host_process_inherited", "user", "user_inherited"}),
		{"fields": [pods.host_process_field(pod, c), pods.user_field(pod, c)]},
	)
	got == tc.want
}

test_all_three_container_lists if {
	pod := pods.pod({"object": {"kind": "Pod", "spec": {
		"containers": [{"name": "a"}, {"name": "b"}],
		"initContainers": [{"name": "i"}],
		"ephemeralContainers": [{"name": "e"}],
	}}})
	{[pods.field(pod, c), pods.label(pod, c)] | some c in pod.containers} == {
		["spec.containers[0]", `container "a"`],
		["spec.containers[1]", `container "b"`],
		["spec.initContainers[0]", `initContainer "i"`],
		["spec.ephemeralContainers[0]", `ephemeralContainer "e"`],
	}
}

test_container_without_name_is_labelled_by_field if {
	pod := pods.pod({"object": {"kind": "Pod", "spec": {"containers": [{"image": "x"}]}}})
	[pods.label(pod, c) | some c in pod.containers] == ["container spec.containers[0]"]
}

test_mounts_and_volumes if {
	pod := pods.pod({"object": {"kind": "Pod", "spec": {
		"containers": [{"name": "a", "volumeMounts": [{"name": "h", "readOnly": true, "subPath": "logs"}, {"name": "e", "subPathExpr": "$(POD)"}, {"name": "s", "readOnly": "true"}, "x"]}],
		"volumes": [{"name": "h", "hostPath": {"path": `C:\x`}}, {"name": "e", "emptyDir": {}}, {"name": "n", "hostPath": null}, "x"],
	}}})
	[c] := pod.containers
	pods.mounts(c) == [
		{"index": 0, "name": "h", "read_only": true, "sub_path": "logs", "sub_path_expr": null},
		{"index": 1, "name": "e", "read_only": false, "sub_path": null, "sub_path_expr": "$(POD)"},
		{"index": 2, "name": "s", "read_only": false, "sub_path": null, "sub_path_expr": null},
	]
	[pods.mount_field(pod, c, m) | some m in pods.mounts(c)] == [
		"spec.containers[0].volumeMounts[0]",
		"spec.containers[0].volumeMounts[1]",
		"spec.containers[0].volumeMounts[2]",
	]
	pod.volumes == [{"index": 0, "name": "h", "path": `C:\x`}]
	[pods.volume_field(pod, v) | some v in pod.volumes] == ["spec.volumes[0]"]
	pods.image_field(pod, c) == "spec.containers[0].image"
}

test_non_object_containers_are_left_to_malformed if {
	pod := pods.pod({"object": {"kind": "Pod", "spec": {"containers": ["x", {"name": "a"}]}}})
	[pods.field(pod, c) | some c in pod.containers] == ["spec.containers[1]"]
	pod.malformed == {{"category": "pod", "field": "spec.containers[0]", "expected": "object", "got": "string"}}
}

test_host_process_pod[name] if {
	some name, tc in {
		"pod true": {"spec": {"securityContext": {"windowsOptions": {"hostProcess": true}}}, "value": true, "want": true},
		"pod string": {"spec": {"securityContext": {"windowsOptions": {"hostProcess": "true"}}}, "value": "true", "want": true},
		"pod false": {"spec": {"securityContext": {"windowsOptions": {"hostProcess": false}}}, "value": false, "want": false},
		"pod null": {"spec": {"securityContext": {"windowsOptions": {"hostProcess": null}}}, "value": null, "want": false},
		"init container": {"spec": {"initContainers": [{"securityContext": {"windowsOptions": {"hostProcess": true}}}]}, "value": null, "want": true},
		"none": {"spec": {"containers": [{"name": "a"}]}, "value": null, "want": false},
	}
	pod := pods.pod({"object": {"kind": "Pod", "spec": tc.spec}})
	[pod.host_process, pod.host_process_pod] == [tc.value, tc.want]
}

test_malformed_is_the_shapes_problems if {
	obj := {"kind": "Deployment", "spec": {"template": {"spec": {"containers": "x"}}}}
	pods.pod({"object": obj}).malformed == {{"category": "pod", "field": "spec.template.spec.containers", "expected": "array", "got": "string"}}
}

quiet_cases := {
	"linux pod": {"object": {"kind": "Pod", "spec": pod_spec}, "want": true},
	"linux deployment with volumes and mounts": {
		"object": {"kind": "Deployment", "spec": {"template": {"spec": {
			"containers": [{"name": "a", "image": "i", "volumeMounts": [{"name": "data", "mountPath": "/d"}]}],
			"volumes": [{"name": "data", "emptyDir": {}}],
			"nodeSelector": {"kubernetes.io/os": "linux"},
		}}}},
		"want": true,
	},
	"empty spec": {"object": {"kind": "Pod", "spec": {}}, "want": true},
	"os.name Windows, any case": {"object": {"kind": "Pod", "spec": {"os": {"name": "WINDOWS"}}}, "want": false},
	"windows node selector": {"object": {"kind": "Pod", "spec": {"nodeSelector": {"kubernetes.io/os": "windows"}}}, "want": false},
	"windowsOptions": {"object": {"kind": "Pod", "spec": {"containers": [{"securityContext": {"windowsOptions": {}}}]}}, "want": false},
	"a Windows image on a Linux pod is looked at in full": {"object": {"kind": "Pod", "spec": {"containers": [{"image": "mcr.microsoft.com/windows/nanoserver"}]}}, "want": false},
	"a servercore tag": {"object": {"kind": "Pod", "spec": {"containers": [{"image": "example.com/app:ServerCore-1"}]}}, "want": false},
	"a dotnet framework image": {"object": {"kind": "Pod", "spec": {"containers": [{"image": "mcr.microsoft.com/dotnet/framework/aspnet:4.8"}]}}, "want": false},
	"a windows-build node selector": {"object": {"kind": "Pod", "spec": {"nodeSelector": {"node.kubernetes.io/windows-build": "10.0.20348"}}}, "want": false},
	"a windows toleration": {"object": {"kind": "Pod", "spec": {"tolerations": [{"key": "os", "value": "windows", "effect": "NoSchedule"}]}}, "want": false},
	"a windows RuntimeClass": {"object": {"kind": "Pod", "spec": {"runtimeClassName": "windows-2022"}}, "want": false},
	"required affinity NotIn linux": {"object": {"kind": "Pod", "spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/os", "operator": "NotIn", "values": ["linux"]}]}]}}}}}, "want": false},
	"a subPathExpr": {"object": {"kind": "Pod", "spec": {"containers": [{"name": "a", "image": "i", "volumeMounts": [{"name": "d", "mountPath": "/d", "subPathExpr": "$(POD)"}]}], "volumes": [{"name": "d", "emptyDir": {}}]}}, "want": true},
	"an exists toleration": {"object": {"kind": "Pod", "spec": {"tolerations": [{"operator": "Exists"}]}}, "want": true},
	"hostPath volume": {"object": {"kind": "Pod", "spec": {"volumes": [{"name": "h", "hostPath": {"path": "/etc"}}]}}, "want": false},
	"null hostPath": {"object": {"kind": "Pod", "spec": {"volumes": [{"name": "h", "hostPath": null}]}}, "want": false},
	"wrong-typed containers": {"object": {"kind": "Pod", "spec": {"containers": "x"}}, "want": false},
	"wrong-typed mount": {"object": {"kind": "Pod", "spec": {"containers": [{"volumeMounts": [{"mountPath": "/x"}]}]}}, "want": false},
	"spec not an object": {"object": {"kind": "Pod", "spec": ["x"]}, "want": false},
	"absent spec": {"object": {"kind": "Pod"}, "want": false},
	"ungoverned kind": {"object": {"kind": "Service", "spec": {}}, "want": false},
}

test_is_quiet[name] if {
	some name, tc in quiet_cases
	pods.is_quiet(tc.object) == tc.want
}

# Sound: whatever is quiet has nothing any rule reads under the default
# Windows signs, in every object of the tables above.
test_quiet_objects_have_nothing_to_check[name] if {
	some name, obj in object.union(
		{name: tc.object | some name, tc in quiet_cases},
		{name: {"kind": "Pod", "spec": tc.spec} | some name, tc in windows_test.signal_cases},
	)
	_nothing_to_check(obj)
}

_nothing_to_check(obj) if not pods.is_quiet(obj)

_nothing_to_check(obj) if {
	pods.is_quiet(obj)
	pod := pods.pod({"object": obj})
	[pod.host_process_pod, windows.is_pod(pod, {}), pod.volumes, pod.malformed] == [false, false, [], set()]
}
