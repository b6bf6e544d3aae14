package lib.winpod.shapes_test

import data.lib.winpod.pods
import data.lib.winpod.shapes

build_expression_without_operator := {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "node.kubernetes.io/windows-build", "operator": null}]}]}}}

# Every wrong type is reported with the field and category of what reads it.
malformed_cases := {
	"spec chain": {
		"object": {"kind": "CronJob", "spec": {"jobTemplate": {"spec": "x"}}},
		"want": {{"category": "pod", "field": "spec.jobTemplate.spec", "expected": "object", "got": "string"}},
	},
	"spec itself": {
		"object": {"kind": "Pod", "spec": []},
		"want": {{"category": "pod", "field": "spec", "expected": "object", "got": "array"}},
	},
	"container lists": {
		"object": {"kind": "Pod", "spec": {"containers": "x", "initContainers": {}, "ephemeralContainers": 1}},
		"want": {
			{"category": "pod", "field": "spec.containers", "expected": "array", "got": "string"},
			{"category": "pod", "field": "spec.initContainers", "expected": "array", "got": "object"},
			{"category": "pod", "field": "spec.ephemeralContainers", "expected": "array", "got": "number"},
		},
	},
	"v2 Windows signs": {
		"object": {"kind": "Pod", "spec": {
			"tolerations": [{"value": 1}, "x", {"value": "windows"}],
			"runtimeClassName": ["windows"],
			"nodeSelector": {"node.kubernetes.io/windows-build": 10},
			"affinity": build_expression_without_operator,
		}},
		"want": {
			{"category": "os", "field": "spec.tolerations[0].value", "expected": "string", "got": "number"},
			{"category": "os", "field": "spec.tolerations[1]", "expected": "object", "got": "string"},
			{"category": "os", "field": "spec.runtimeClassName", "expected": "string", "got": "array"},
			{"category": "os", "field": `spec.nodeSelector["node.kubernetes.io/windows-build"]`, "expected": "string", "got": "number"},
			{"category": "os", "field": "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator", "expected": "string", "got": "null"},
		},
	},
	"a toleration of the wrong type, the only wrong field": {
		"object": {"kind": "Pod", "spec": {"tolerations": [{"value": "windows"}, "x"]}},
		"want": {{"category": "os", "field": "spec.tolerations[1]", "expected": "object", "got": "string"}},
	},
	"tolerations not a list": {
		"object": {"kind": "Pod", "spec": {"tolerations": {"value": "windows"}}},
		"want": {{"category": "os", "field": "spec.tolerations", "expected": "array", "got": "object"}},
	},
	"subPath and subPathExpr": {
		"object": {"kind": "Pod", "spec": {"containers": [{"name": "a", "volumeMounts": [{"name": "h", "subPath": 1, "subPathExpr": ["x"]}]}]}},
		"want": {
			{"category": "volumes", "field": "spec.containers[0].volumeMounts[0].subPath", "expected": "string", "got": "number"},
			{"category": "volumes", "field": "spec.containers[0].volumeMounts[0].subPathExpr", "expected": "string", "got": "array"},
		},
	},
	"a mount that is a string, the only wrong field": {
		"object": {"kind": "Pod", "spec": {"containers": [{"name": "a", "volumeMounts": ["host"]}]}},
		"want": {{"category": "volumes", "field": "spec.containers[0].volumeMounts[0]", "expected": "object", "got": "string"}},
	},
	"container entries": {
		"object": {"kind": "Pod", "spec": {"containers": [null, "x", {
			"securityContext": {"windowsOptions": {"runAsUserName": 5}},
			"image": ["img"],
			"volumeMounts": [null, {"name": 1}, {"mountPath": "/x"}],
		}]}},
		"want": {
			{"category": "pod", "field": "spec.containers[0]", "expected": "object", "got": "null"},
			{"category": "pod", "field": "spec.containers[1]", "expected": "object", "got": "string"},
			{"category": "user", "field": "spec.containers[2].securityContext.windowsOptions.runAsUserName", "expected": "string", "got": "number"},
			{"category": "image", "field": "spec.containers[2].image", "expected": "string", "got": "array"},
			{"category": "volumes", "field": "spec.containers[2].volumeMounts[0]", "expected": "object", "got": "null"},
			{"category": "volumes", "field": "spec.containers[2].volumeMounts[1].name", "expected": "string", "got": "number"},
			{"category": "volumes", "field": "spec.containers[2].volumeMounts[2].name", "expected": "string", "got": "null"},
		},
	},
	"container security contexts": {
		"object": {"kind": "Pod", "spec": {"initContainers": [{"securityContext": "x"}, {"securityContext": {"windowsOptions": true}}], "containers": [{"volumeMounts": {}}]}},
		"want": {
			{"category": "pod", "field": "spec.initContainers[0].securityContext", "expected": "object", "got": "string"},
			{"category": "pod", "field": "spec.initContainers[1].securityContext.windowsOptions", "expected": "object", "got": "boolean"},
			{"category": "volumes", "field": "spec.containers[0].volumeMounts", "expected": "array", "got": "object"},
		},
	},
	"pod security context": {
		"object": {"kind": "Pod", "spec": {"securityContext": "x"}},
		"want": {{"category": "pod", "field": "spec.securityContext", "expected": "object", "got": "string"}},
	},
	"pod windowsOptions": {
		"object": {"kind": "Pod", "spec": {"securityContext": {"windowsOptions": []}}},
		"want": {{"category": "pod", "field": "spec.securityContext.windowsOptions", "expected": "object", "got": "array"}},
	},
	"pod user": {
		"object": {"kind": "Pod", "spec": {"securityContext": {"windowsOptions": {"runAsUserName": {}}}}},
		"want": {{"category": "user", "field": "spec.securityContext.windowsOptions.runAsUserName", "expected": "string", "got": "object"}},
	},
	"os fields": {
		"object": {"kind": "Pod", "spec": {"os": {"name": 1}, "nodeSelector": {"kubernetes.io/os": true, "beta.kubernetes.io/os": ["windows"], "other": 1}}},
		"want": {
			{"category": "os", "field": "spec.os.name", "expected": "string", "got": "number"},
			{"category": "os", "field": `spec.nodeSelector["kubernetes.io/os"]`, "expected": "string", "got": "boolean"},
			{"category": "os", "field": `spec.nodeSelector["beta.kubernetes.io/os"]`, "expected": "string", "got": "array"},
		},
	},
	"os name alone": {
		"object": {"kind": "Pod", "spec": {"os": {"name": ["windows"]}, "containers": [{"name": "a"}]}},
		"want": {{"category": "os", "field": "spec.os.name", "expected": "string", "got": "array"}},
	},
	"os objects": {
		"object": {"kind": "Pod", "spec": {"os": "windows", "nodeSelector": "windows", "affinity": "x"}},
		"want": {
			{"category": "os", "field": "spec.os", "expected": "object", "got": "string"},
			{"category": "os", "field": "spec.nodeSelector", "expected": "object", "got": "string"},
			{"category": "os", "field": "spec.affinity", "expected": "object", "got": "string"},
		},
	},
	"affinity chain": {
		"object": {"kind": "Pod", "spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": {}}}}}},
		"want": {{"category": "os", "field": "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms", "expected": "array", "got": "object"}},
	},
	"affinity node affinity": {
		"object": {"kind": "Pod", "spec": {"affinity": {"nodeAffinity": 1}}},
		"want": {{"category": "os", "field": "spec.affinity.nodeAffinity", "expected": "object", "got": "number"}},
	},
	"affinity required": {
		"object": {"kind": "Pod", "spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": []}}}},
		"want": {{"category": "os", "field": "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution", "expected": "object", "got": "array"}},
	},
	"affinity terms": {
		"object": {"kind": "Pod", "spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
			"x",
			{"matchExpressions": "x"},
			{"matchExpressions": [
				"x",
				{"key": 1},
				{"key": "zone", "operator": 1, "values": "x"},
				{"key": "kubernetes.io/os", "values": "windows"},
				{"key": "kubernetes.io/os", "operator": "In", "values": [1]},
			]},
		]}}}}},
		"want": {
			{"category": "os", "field": "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]", "expected": "object", "got": "string"},
			{"category": "os", "field": "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[1].matchExpressions", "expected": "array", "got": "string"},
			{"category": "os", "field": "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[2].matchExpressions[0]", "expected": "object", "got": "string"},
			{"category": "os", "field": "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[2].matchExpressions[1].key", "expected": "string", "got": "number"},
			{"category": "os", "field": "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[2].matchExpressions[3].operator", "expected": "string", "got": "null"},
			{"category": "os", "field": "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[2].matchExpressions[3].values", "expected": "array", "got": "string"},
			{"category": "os", "field": "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[2].matchExpressions[4].values[0]", "expected": "string", "got": "number"},
		},
	},
	"volumes": {
		"object": {"kind": "Pod", "spec": {"volumes": "x"}},
		"want": {{"category": "volumes", "field": "spec.volumes", "expected": "array", "got": "string"}},
	},
	"volume entries": {
		"object": {"kind": "Pod", "spec": {"volumes": [
			"x",
			{"name": "a", "hostPath": "C:/"},
			{"name": "b", "hostPath": {}},
			{"hostPath": {"path": 1}},
			{"name": 1, "emptyDir": {}},
			{"name": "n", "hostPath": null},
		]}},
		"want": {
			{"category": "volumes", "field": "spec.volumes[0]", "expected": "object", "got": "string"},
			{"category": "volumes", "field": "spec.volumes[1].hostPath", "expected": "object", "got": "string"},
			{"category": "volumes", "field": "spec.volumes[2].hostPath.path", "expected": "string", "got": "null"},
			{"category": "volumes", "field": "spec.volumes[3].hostPath.path", "expected": "string", "got": "number"},
			{"category": "volumes", "field": "spec.volumes[3].name", "expected": "string", "got": "null"},
		},
	},
	"nulls are absent": {
		"object": {"kind": "Pod", "spec": {
			"securityContext": {"windowsOptions": null},
			"containers": [{"securityContext": null, "image": null, "volumeMounts": null}],
			"initContainers": null,
			"volumes": null,
			"os": null,
			"nodeSelector": null,
			"affinity": null,
		}},
		"want": set(),
	},
}

test_problems[name] if {
	some name, tc in malformed_cases
	shapes.problems(tc.object, pods.spec_paths[tc.object.kind]) == tc.want
}

well_typed_cases := {
	"empty spec": {"kind": "Pod", "spec": {}},
	"absent spec": {"kind": "Pod"},
	"every field read": {"kind": "Pod", "spec": {
		"securityContext": {"runAsNonRoot": true, "windowsOptions": {"hostProcess": true, "runAsUserName": "u"}},
		"os": {"name": "windows"},
		"nodeSelector": {"kubernetes.io/os": "windows", "beta.kubernetes.io/os": "windows", "node.kubernetes.io/windows-build": "10.0.20348"},
		"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
			{"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["windows"]}, {"key": "zone", "operator": 1}]},
			{"matchFields": []},
		]}}},
		"initContainers": [{"name": "i", "image": "x", "securityContext": {"windowsOptions": {"runAsUserName": "u"}}, "volumeMounts": [{"name": "h", "subPath": "a", "subPathExpr": "b"}]}],
		"tolerations": [{"key": "os", "value": "windows"}, {"operator": "Exists"}],
		"runtimeClassName": "windows",
		"containers": [{"name": "a", "image": "x"}],
		"ephemeralContainers": [],
		"volumes": [{"name": "h", "hostPath": {"path": "/x"}}, {"name": "e", "emptyDir": {}}],
	}},
	"affinity without required terms": {"kind": "Pod", "spec": {"affinity": {
		"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}},
		"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []},
	}}},
	"explicit nulls": {"kind": "Pod", "spec": {
		"securityContext": {"windowsOptions": null},
		"containers": [{"name": "a", "image": null, "securityContext": null, "volumeMounts": null}],
		"initContainers": null,
		"volumes": [{"name": "n", "hostPath": null}],
		"nodeSelector": {"kubernetes.io/os": null},
	}},
}

test_well_typed[name] if {
	some name, obj in well_typed_cases
	shapes.problems(obj, pods.spec_paths[obj.kind]) == set()
}
