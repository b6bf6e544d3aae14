# METADATA
# title: Pod specs of governed objects
# description: >-
#   SPEC 1 "Objects" and "Shared semantics": where each governed kind keeps its
#   pod spec, its containers (all three lists) with their effective values and
#   field paths, its hostPath volumes, whether it is a Windows pod, and every
#   field whose type is wrong (fail closed: a rule reports those rather than
#   silently skipping what it cannot read). JSON null counts as absent.
# custom:
#   id: lib.winpod.pods
package lib.winpod.pods

# METADATA
# title: spec_paths
# description: The path of the pod spec in each governed kind.
spec_paths := {
	"Pod": ["spec"],
	"PodTemplate": ["template", "spec"],
	"Deployment": ["spec", "template", "spec"],
	"ReplicaSet": ["spec", "template", "spec"],
	"StatefulSet": ["spec", "template", "spec"],
	"DaemonSet": ["spec", "template", "spec"],
	"Job": ["spec", "template", "spec"],
	"ReplicationController": ["spec", "template", "spec"],
	"CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
}

# METADATA
# title: kinds
# description: >-
#   The governed kinds as Gatekeeper match.kinds: what a constraint without
#   match.kinds applies to (the Gatekeeper generator writes the same list).
kinds := [
	{"apiGroups": [""], "kinds": ["Pod", "PodTemplate", "ReplicationController"]},
	{"apiGroups": ["apps"], "kinds": ["DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"]},
	{"apiGroups": ["batch"], "kinds": ["CronJob", "Job"]},
]

# METADATA
# title: os_label_keys
# description: The node labels that name a node's operating system.
os_label_keys := ["kubernetes.io/os", "beta.kubernetes.io/os"]

# The three container lists, with the noun messages use for their members.
_container_lists := {
	"initContainers": "initContainer",
	"containers": "container",
	"ephemeralContainers": "ephemeralContainer",
}

# METADATA
# title: namespace
# description: The object's metadata.namespace, else the review's (request's) namespace, else "default".
namespace(review) := ns if {
	ns := review.object.metadata.namespace
	_is_name(ns)
} else := ns if {
	ns := review.namespace
	_is_name(ns)
} else := "default"

# METADATA
# title: name
# description: The object's name, else its generateName (pods of controllers have only that at admission).
name(obj) := n if {
	n := obj.metadata.name
	_is_name(n)
} else := n if {
	n := obj.metadata.generateName
	_is_name(n)
} else := "<unnamed>"

_is_name(s) if {
	is_string(s)
	s != ""
}

# METADATA
# title: pod
# description: >-
#   What the rules read of the object under review, or undefined when it is not
#   an object of a governed kind:
#   label (Kind/namespace/name for messages), prefix (the pod spec's field path),
#   windows, host_network, host_process (pod level: set, value, field),
#   containers, volumes (hostPath volumes only), malformed (wrong-typed fields,
#   each with the category of what reads it: pod, user, image, os or volumes).
pod(review) := {
	"label": sprintf("%s/%s/%s", [obj.kind, namespace(review), name(obj)]),
	"prefix": prefix,
	"windows": is_windows(spec),
	"host_network": _value(spec, "hostNetwork"),
	"host_network_field": concat(".", [prefix, "hostNetwork"]),
	"host_process": {
		"set": is_host_process_value(pod_hp),
		"value": pod_hp,
		"field": concat(".", [prefix, "securityContext.windowsOptions.hostProcess"]),
	},
	"containers": containers,
	"volumes": _host_path_volumes(prefix, spec),
	"malformed": _malformed(obj, path, spec),
} if {
	obj := review.object
	is_object(obj)
	path := spec_paths[obj.kind]
	prefix := concat(".", path)
	spec := _as_object(object.get(obj, path, null))
	psc := _object(spec, "securityContext")
	pod_hp := _value(_object(psc, "windowsOptions"), "hostProcess")
	containers := _containers(prefix, spec, psc)
}

# METADATA
# title: is_host_process_value
# description: True for a hostProcess value that makes a HostProcess container, anything but false and null.
default is_host_process_value(_) := false

is_host_process_value(v) if {
	v != null
	v != false
}

# METADATA
# title: is_windows
# description: >-
#   True for a Windows pod spec: os.name windows, an OS node selector or
#   required node-affinity term for windows, or windowsOptions set anywhere.
default is_windows(_) := false

is_windows(spec) if _is_windows_name(spec.os.name)

is_windows(spec) if {
	some key in os_label_keys
	_is_windows_name(spec.nodeSelector[key])
}

is_windows(spec) if {
	some expression in _os_affinity_expressions(spec)
	expression.operator == "In"
	some v in _array(expression, "values")
	_is_windows_name(v)
}

is_windows(spec) if spec.securityContext.windowsOptions != null

is_windows(spec) if {
	some list, _ in _container_lists
	some item in _array(spec, list)
	item.securityContext.windowsOptions != null
}

_is_windows_name(s) if {
	is_string(s)
	lower(s) == "windows"
}

_os_affinity_expressions(spec) := [expression |
	some term in _affinity_terms(spec)
	some expression in _array(term, "matchExpressions")
	expression.key in os_label_keys
]

_affinity_terms(spec) := _array(_object(_object(_object(spec, "affinity"), "nodeAffinity"), "requiredDuringSchedulingIgnoredDuringExecution"), "nodeSelectorTerms")

_containers(prefix, spec, psc) := [container |
	some list, noun in _container_lists
	some i, item in _array(spec, list)
	container := _container(sprintf("%s.%s[%d]", [prefix, list, i]), noun, item, prefix, psc)
]

# A container's effective values: its own when set, else the pod's.
_container(field, noun, item, prefix, psc) := {
	"field": field,
	"label": _label(noun, c, field),
	"image": _value(c, "image"),
	"image_field": concat("", [field, ".image"]),
	"host_process": is_host_process_value(host_process.value),
	"host_process_value": host_process.value,
	"host_process_field": host_process.field,
	"host_process_inherited": host_process.inherited,
	"user": user.value,
	"user_field": user.field,
	"run_as_non_root": non_root.value == true,
	"mounts": [mount |
		some j, m in _array(c, "volumeMounts")
		is_object(m)
		mount := {
			"name": _value(m, "name"),
			"read_only": _value(m, "readOnly") == true,
			"field": sprintf("%s.volumeMounts[%d]", [field, j]),
		}
	],
} if {
	c := _as_object(item)
	csc := _object(c, "securityContext")
	options := concat("", [field, ".securityContext.windowsOptions"])
	pod_options := concat("", [prefix, ".securityContext.windowsOptions"])
	host_process := _effective(_object(csc, "windowsOptions"), options, _object(psc, "windowsOptions"), pod_options, "hostProcess")
	user := _effective(_object(csc, "windowsOptions"), options, _object(psc, "windowsOptions"), pod_options, "runAsUserName")
	non_root := _effective(csc, concat("", [field, ".securityContext"]), psc, concat("", [prefix, ".securityContext"]), "runAsNonRoot")
}

_label(noun, c, field) := sprintf("%s %q", [noun, c.name]) if is_string(c.name)

else := concat(" ", [noun, field])

# {value, field, inherited} of key: the container's when set, else the pod's;
# the container's field when neither is set.
_effective(own, own_field, pod, pod_field, key) := {"value": own[key], "field": concat(".", [own_field, key]), "inherited": false} if {
	own[key] != null
} else := {"value": pod[key], "field": concat(".", [pod_field, key]), "inherited": true} if {
	pod[key] != null
} else := {"value": null, "field": concat(".", [own_field, key]), "inherited": false}

_host_path_volumes(prefix, spec) := [volume |
	some i, item in _array(spec, "volumes")
	host_path := item.hostPath
	host_path != null
	volume := {
		"field": sprintf("%s.volumes[%d]", [prefix, i]),
		"name": _value(item, "name"),
		"path": _value(host_path, "path"),
	}
]

# Fail-closed type checks. A check is [category, field, suffix, value,
# expected type, whether null is wrong too]; the field is built only for a
# problem, since nearly every check passes.
_malformed(obj, path, spec) := {problem |
	some checks in [
		_spec_checks(obj, path),
		_pod_checks(concat(".", path), spec),
		_affinity_checks(concat(".", path), spec),
		_container_checks(concat(".", path), spec),
		_volume_checks(concat(".", path), spec),
	]
	some [category, field, suffix, value, expected, required] in checks
	_is_wrong(value, expected, required)
	problem := {
		"category": category,
		"field": concat("", [field, suffix]),
		"expected": expected,
		"got": type_name(value),
	}
}

_is_wrong(null, _, true)

_is_wrong(value, expected, _) if {
	value != null
	type_name(value) != expected
}

_spec_checks(obj, path) := [["pod", concat(".", steps), "", object.get(obj, steps, null), "object", false] |
	some i, _ in path
	steps := array.slice(path, 0, i + 1)
]

_pod_checks(prefix, spec) := [
	["pod", prefix, ".securityContext", _value(spec, "securityContext"), "object", false],
	["pod", prefix, ".securityContext.windowsOptions", _value(_object(spec, "securityContext"), "windowsOptions"), "object", false],
	["user", prefix, ".securityContext.windowsOptions.runAsUserName", _value(_object(_object(spec, "securityContext"), "windowsOptions"), "runAsUserName"), "string", false],
	["pod", prefix, ".initContainers", _value(spec, "initContainers"), "array", false],
	["pod", prefix, ".containers", _value(spec, "containers"), "array", false],
	["pod", prefix, ".ephemeralContainers", _value(spec, "ephemeralContainers"), "array", false],
	["os", prefix, ".os", _value(spec, "os"), "object", false],
	["os", prefix, ".os.name", _value(_object(spec, "os"), "name"), "string", false],
	["os", prefix, ".nodeSelector", _value(spec, "nodeSelector"), "object", false],
	["os", prefix, `.nodeSelector["kubernetes.io/os"]`, _value(_object(spec, "nodeSelector"), "kubernetes.io/os"), "string", false],
	["os", prefix, `.nodeSelector["beta.kubernetes.io/os"]`, _value(_object(spec, "nodeSelector"), "beta.kubernetes.io/os"), "string", false],
	["volumes", prefix, ".volumes", _value(spec, "volumes"), "array", false],
]

_affinity_checks(prefix, spec) := array.concat(
	[
		["os", prefix, ".affinity", _value(spec, "affinity"), "object", false],
		["os", prefix, ".affinity.nodeAffinity", _value(_object(spec, "affinity"), "nodeAffinity"), "object", false],
		["os", prefix, ".affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution", _value(_object(_object(spec, "affinity"), "nodeAffinity"), "requiredDuringSchedulingIgnoredDuringExecution"), "object", false],
		["os", prefix, ".affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms", _value(_object(_object(_object(spec, "affinity"), "nodeAffinity"), "requiredDuringSchedulingIgnoredDuringExecution"), "nodeSelectorTerms"), "array", false],
	],
	[check |
		some i, term in _affinity_terms(spec)
		base := sprintf("%s.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[%d]", [prefix, i])
		some check in array.concat(
			[
				["os", base, "", term, "object", true],
				["os", base, ".matchExpressions", _value(term, "matchExpressions"), "array", false],
			],
			_expression_checks(base, term),
		)
	],
)

_expression_checks(base, term) := [check |
	some j, expression in _array(term, "matchExpressions")
	field := sprintf("%s.matchExpressions[%d]", [base, j])
	some check in array.concat(
		[
			["os", field, "", expression, "object", true],
			["os", field, ".key", _value(expression, "key"), "string", true],
		],
		_os_expression_checks(field, expression),
	)
]

# Only an OS expression decides whether the pod is a Windows pod.
_os_expression_checks(field, expression) := array.concat(
	[
		["os", field, ".operator", _value(expression, "operator"), "string", true],
		["os", field, ".values", _value(expression, "values"), "array", false],
	],
	[["os", field, sprintf(".values[%d]", [k]), v, "string", true] | some k, v in _array(expression, "values")],
) if {
	expression.key in os_label_keys
} else := []

_container_checks(prefix, spec) := [check |
	some list, _ in _container_lists
	some i, item in _array(spec, list)
	field := sprintf("%s.%s[%d]", [prefix, list, i])
	c := _as_object(item)
	some check in array.concat(
		[
			["pod", field, "", item, "object", true],
			["pod", field, ".securityContext", _value(c, "securityContext"), "object", false],
			["pod", field, ".securityContext.windowsOptions", _value(_object(c, "securityContext"), "windowsOptions"), "object", false],
			["user", field, ".securityContext.windowsOptions.runAsUserName", _value(_object(_object(c, "securityContext"), "windowsOptions"), "runAsUserName"), "string", false],
			["image", field, ".image", _value(c, "image"), "string", false],
			["volumes", field, ".volumeMounts", _value(c, "volumeMounts"), "array", false],
		],
		[mount_check |
			some j, mount in _array(c, "volumeMounts")
			mount_field := sprintf("%s.volumeMounts[%d]", [field, j])
			some mount_check in [
				["volumes", mount_field, "", mount, "object", true],
				["volumes", mount_field, ".name", _value(mount, "name"), "string", true],
			]
		],
	)
]

_volume_checks(prefix, spec) := [check |
	some i, item in _array(spec, "volumes")
	field := sprintf("%s.volumes[%d]", [prefix, i])
	some check in array.concat([["volumes", field, "", item, "object", true]], _host_path_checks(field, item))
]

_host_path_checks(field, item) := [
	["volumes", field, ".hostPath", item.hostPath, "object", false],
	["volumes", field, ".hostPath.path", _value(item.hostPath, "path"), "string", true],
	["volumes", field, ".name", _value(item, "name"), "string", true],
] if {
	item.hostPath != null
} else := []

_value(x, key) := v if v := x[key]

else := null

_object(x, key) := v if {
	v := x[key]
	is_object(v)
} else := {}

_array(x, key) := v if {
	v := x[key]
	is_array(v)
} else := []

_as_object(x) := x if is_object(x)

else := {}
