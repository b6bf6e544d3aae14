# METADATA
# title: Pod specs of governed objects
# description: >-
#   SPEC 1 "Objects" and "Shared semantics": where each governed kind keeps its
#   pod spec, its containers (all three lists) with their effective values, its
#   hostPath volumes, whether it is a Windows pod, and every field whose type is
#   wrong (fail closed: a rule reports those rather than silently skipping what
#   it cannot read). JSON null counts as absent. Field paths and labels are
#   built only for a violation, since nearly every object has few.
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
#   The governed kinds as Gatekeeper match.kinds, what a constraint without
#   match.kinds applies to (harness/gatekeeper.py writes the same list).
kinds := [
	{"apiGroups": [""], "kinds": ["Pod", "PodTemplate", "ReplicationController"]},
	{"apiGroups": ["apps"], "kinds": ["DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"]},
	{"apiGroups": ["batch"], "kinds": ["CronJob", "Job"]},
]

# METADATA
# title: os_label_keys
# description: The node labels that name a node's operating system.
os_label_keys := {"kubernetes.io/os", "beta.kubernetes.io/os"}

# The three container lists, with the noun messages use for their members.
_container_lists := {
	"initContainers": "initContainer",
	"containers": "container",
	"ephemeralContainers": "ephemeralContainer",
}

# METADATA
# scope: document
# title: namespace
# description: The object's metadata.namespace, else the review's (request's) namespace, else "default".
default namespace(_) := "default"

namespace(review) := review.object.metadata.namespace if {
	_is_name(review.object.metadata.namespace)
} else := review.namespace if {
	_is_name(review.namespace)
}

# METADATA
# scope: document
# title: name
# description: The object's name, else its generateName (pods of controllers have only that at admission).
default name(_) := "<unnamed>"

name(obj) := obj.metadata.name if {
	_is_name(obj.metadata.name)
} else := obj.metadata.generateName if {
	_is_name(obj.metadata.generateName)
}

_is_name(s) if {
	is_string(s)
	s != ""
}

# METADATA
# title: pod
# description: >-
#   What the rules read of the object under review; undefined when it is not an
#   object of a governed kind. label is Kind/namespace/name, prefix the pod
#   spec's field path, host_process the pod-level hostProcess value,
#   host_process_pod whether that or some container is HostProcess, containers
#   the object entries of the three lists, volumes the hostPath volumes,
#   malformed the wrong-typed fields, each with the category of what reads it
#   (pod, user, image, os or volumes). Helpers are few and loops inline: the
#   decision API evaluates this once per object and its cost is most of a
#   decision's.
pod(review) := {
	"label": sprintf("%s/%s/%s", [obj.kind, namespace(review), name(obj)]),
	"prefix": concat(".", path),
	"spec": spec,
	"windows": is_windows(spec),
	"host_process": pod_host_process,
	"host_process_pod": host_process_pod,
	"containers": containers,
	"volumes": [volume |
		items := spec.volumes
		is_array(items)
		some i, item in items
		is_object(item)
		object.get(item, "hostPath", null) != null
		volume := {"index": i, "name": object.get(item, "name", null), "path": object.get(item, ["hostPath", "path"], null)}
	],
	"malformed": _malformed(obj, path, spec, containers),
} if {
	obj := review.object
	is_object(obj)
	path := spec_paths[obj.kind]
	raw := object.get(obj, path, null)
	spec := object.get({true: raw}, is_object(raw), {})
	pod_host_process := object.get(spec, ["securityContext", "windowsOptions", "hostProcess"], null)
	containers := _containers(spec, pod_host_process)
	host_process_containers := count([1 | some c in containers; c.host_process])
	host_process_pod := (host_process_containers + count([1 | is_host_process_value(pod_host_process)])) > 0
}

# A container's effective values are its own when set (not null), else the
# pod's: object.get({null: pod}, own, own) is the pod's value exactly when own
# is null. (A list-valued own reads as a path there and yields own itself.)
_containers(spec, pod_host_process) := [{
	"list": list,
	"index": i,
	"noun": noun,
	"container": item,
	"host_process": object.get({null: false, false: false}, host_process, true),
	"host_process_value": host_process,
	"host_process_inherited": own_host_process == null,
	"user": object.get(pod_user, own_user, own_user),
	"user_inherited": own_user == null,
	"run_as_non_root": object.get(pod_non_root, own_non_root, own_non_root) == true,
} |
	pod_host_process_of := {null: pod_host_process}
	pod_user := {null: object.get(spec, ["securityContext", "windowsOptions", "runAsUserName"], null)}
	pod_non_root := {null: object.get(spec, ["securityContext", "runAsNonRoot"], null)}
	some list, noun in _container_lists
	items := spec[list]
	is_array(items)
	some i, item in items
	is_object(item)
	own_host_process := object.get(item, ["securityContext", "windowsOptions", "hostProcess"], null)
	host_process := object.get(pod_host_process_of, own_host_process, own_host_process)
	own_user := object.get(item, ["securityContext", "windowsOptions", "runAsUserName"], null)
	own_non_root := object.get(item, ["securityContext", "runAsNonRoot"], null)
]

# METADATA
# scope: document
# title: is_host_process_value
# description: True for a hostProcess value that makes a HostProcess container, anything but false and null.
default is_host_process_value(_) := false

is_host_process_value(v) if {
	v != null
	v != false
}

# METADATA
# scope: document
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
	some term in _array({"terms": object.get(spec, _node_selector_terms, [])}, "terms")
	some expression in _array(term, "matchExpressions")
	expression.key in os_label_keys
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

# METADATA
# title: mounts
# description: >-
#   The object entries of a container's volumeMounts, with their index, name
#   and readOnly (true only for the boolean true).
mounts(c) := [{"index": j, "name": object.get(m, "name", null), "read_only": object.get(m, "readOnly", null) == true} |
	some j, m in _array(c.container, "volumeMounts")
	is_object(m)
]

# METADATA
# title: label
# description: How messages name a container, `container "app"`, or by its field when it has no name.
label(pod, c) := sprintf("%s %q", [c.noun, c.container.name]) if {
	is_string(c.container.name)
} else := concat(" ", [c.noun, field(pod, c)])

# METADATA
# title: field
# description: The field path of a container, spec.template.spec.initContainers[1].
field(pod, c) := sprintf("%s.%s[%d]", [pod.prefix, c.list, c.index])

# METADATA
# title: host_process_field
# description: Where a container's effective hostProcess is set, or would be.
host_process_field(pod, c) := _options_field(pod, c, c.host_process_inherited, "hostProcess")

# METADATA
# title: user_field
# description: Where a container's effective runAsUserName is set, or would be.
user_field(pod, c) := _options_field(pod, c, c.user_inherited, "runAsUserName")

_options_field(pod, c, inherited, key) := concat("", [pod.prefix, ".securityContext.windowsOptions.", key]) if {
	inherited == true
	object.get(pod.spec, ["securityContext", "windowsOptions", key], null) != null
} else := concat("", [field(pod, c), ".securityContext.windowsOptions.", key])

# METADATA
# title: image_field
# description: The field path of a container's image.
image_field(pod, c) := concat("", [field(pod, c), ".image"])

# METADATA
# title: mount_field
# description: The field path of a container's volumeMount.
mount_field(pod, c, mount) := sprintf("%s.volumeMounts[%d]", [field(pod, c), mount.index])

# METADATA
# title: volume_field
# description: The field path of a volume.
volume_field(pod, volume) := sprintf("%s.volumes[%d]", [pod.prefix, volume.index])

# Fail-closed type checks for the slow path (see _malformed), one row per
# field read: [path, the types it may have (null is absence), category].
_pod_fields := [
	[["securityContext"], {"object", "null"}, "pod"],
	[["securityContext", "windowsOptions"], {"object", "null"}, "pod"],
	[["securityContext", "windowsOptions", "runAsUserName"], {"string", "null"}, "user"],
	[["initContainers"], {"array", "null"}, "pod"],
	[["containers"], {"array", "null"}, "pod"],
	[["ephemeralContainers"], {"array", "null"}, "pod"],
	[["os"], {"object", "null"}, "os"],
	[["os", "name"], {"string", "null"}, "os"],
	[["nodeSelector"], {"object", "null"}, "os"],
	[["nodeSelector", "kubernetes.io/os"], {"string", "null"}, "os"],
	[["nodeSelector", "beta.kubernetes.io/os"], {"string", "null"}, "os"],
	[["affinity"], {"object", "null"}, "os"],
	[["affinity", "nodeAffinity"], {"object", "null"}, "os"],
	[["affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"], {"object", "null"}, "os"],
	[_node_selector_terms, {"array", "null"}, "os"],
	[["volumes"], {"array", "null"}, "volumes"],
]

_container_fields := [
	[["securityContext"], {"object", "null"}, "pod"],
	[["securityContext", "windowsOptions"], {"object", "null"}, "pod"],
	[["securityContext", "windowsOptions", "runAsUserName"], {"string", "null"}, "user"],
	[["image"], {"string", "null"}, "image"],
	[["volumeMounts"], {"array", "null"}, "volumes"],
]

_node_selector_terms := [
	"affinity",
	"nodeAffinity",
	"requiredDuringSchedulingIgnoredDuringExecution",
	"nodeSelectorTerms",
]

# How a path reads in a field: .a.b, or ["kubernetes.io/os"] for a key with a slash.
_suffix(path) := concat("", [_segment(key) | some key in path])

_segment(key) := sprintf(`["%s"]`, [key]) if contains(key, "/")

else := concat("", [".", key])

# The common case, every field of the right type (or absent), is told by
# comparing type signatures; only a mismatch runs the checks that name fields.
# An explicit null takes the slow path, which reads it as absent.
_malformed(obj, path, spec, containers) := set() if {
	is_object(object.get(obj, path, null))
	_is_well_typed(spec)
	count([1 | some list, _ in _container_lists; some item in object.get(spec, list, [])]) == count(containers)
	every c in containers {
		_is_well_typed_container(c.container)
	}
	every volume in object.get(spec, "volumes", []) {
		_is_plain_volume(volume)
	}
} else := union({
	_spec_problems(obj, path),
	_field_problems(concat(".", path), spec),
	_container_problems(concat(".", path), spec),
	_affinity_problems(concat(".", path), spec),
	_volume_problems(concat(".", path), spec),
})

# Only the fields a pod spec or container has are looked at: most have few.
_is_well_typed(spec) if {
	every key, value in object.filter(spec, _pod_keys) {
		type_name(value) in _pod_types[key]
		_is_well_typed_within(key, value)
	}
}

_is_well_typed_container(item) if {
	every key, value in object.filter(item, {"securityContext", "image", "volumeMounts"}) {
		type_name(value) in _container_types[key]
		_is_well_typed_within(key, value)
	}
}

_pod_types := {
	"securityContext": {"object", "null"},
	"initContainers": {"array", "null"},
	"containers": {"array", "null"},
	"ephemeralContainers": {"array", "null"},
	"os": {"object", "null"},
	"nodeSelector": {"object", "null"},
	"affinity": {"object", "null"},
	"volumes": {"array", "null"},
}

_pod_keys := {"securityContext", "initContainers", "containers", "ephemeralContainers", "os", "nodeSelector", "affinity", "volumes"}

_container_types := {
	"securityContext": {"object", "null"},
	"image": {"string", "null"},
	"volumeMounts": {"array", "null"},
}

# The fields read below a top-level one.
default _is_well_typed_within(_, _) := true

_is_well_typed_within("volumeMounts", value) := false if {
	is_array(value)
	count([1 | some m in value; is_string(m.name)]) != count(value)
}

_is_well_typed_within("securityContext", value) := false if {
	value != null
	not _is_well_typed_options(object.get(value, "windowsOptions", null))
}

_is_well_typed_within("os", value) := false if {
	value != null
	not type_name(object.get(value, "name", null)) in {"string", "null"}
}

_is_well_typed_within("nodeSelector", value) := false if {
	value != null
	some key in os_label_keys
	not type_name(object.get(value, key, null)) in {"string", "null"}
}

# A pod with required node-affinity terms takes the slow path.
_is_well_typed_within("affinity", value) := false if {
	value != null
	not type_name(object.get(value, "nodeAffinity", null)) in {"object", "null"}
}

_is_well_typed_within("affinity", value) := false if {
	value != null
	is_object(value.nodeAffinity)
	not type_name(object.get(value.nodeAffinity, "requiredDuringSchedulingIgnoredDuringExecution", null)) in {"object", "null"}
}

_is_well_typed_within("affinity", value) := false if {
	value != null
	object.get(value, ["nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"], null) != null
}

_is_well_typed_options(null)

_is_well_typed_options(options) if {
	is_object(options)
	type_name(object.get(options, "runAsUserName", null)) in {"string", "null"}
}

_is_plain_volume(volume) if {
	is_object(volume)
	object.get(volume, "hostPath", null) == null
}

_is_plain_volume(volume) if {
	is_string(volume.hostPath.path)
	is_string(volume.name)
}

_problem(category, field, expected, value) := {
	"category": category,
	"field": field,
	"expected": expected,
	"got": type_name(value),
}

# The type a field must have: the one of its allowed types that is not null.
_expected(types) := [t | some t in types; t != "null"][0]

_spec_problems(obj, path) := set() if {
	is_object(object.get(obj, path, null))
} else := {_problem("pod", concat(".", steps), "object", value) |
	some i, _ in path
	steps := array.slice(path, 0, i + 1)
	value := object.get(obj, steps, null)
	not is_object(value)
	value != null
}

_field_problems(prefix, spec) := {_problem(row[2], concat("", [prefix, _suffix(row[0])]), _expected(row[1]), value) |
	some row in _pod_fields
	value := object.get(spec, row[0], null)
	not type_name(value) in row[1]
}

_container_problems(prefix, spec) := {problem |
	some list, _ in _container_lists
	some i, item in _array(spec, list)
	some problem in _item_problems(prefix, list, i, item)
}

_item_problems(prefix, list, i, item) := {_problem("pod", sprintf("%s.%s[%d]", [prefix, list, i]), "object", item)} if {
	not is_object(item)
} else := {_problem(row[2], field, _expected(row[1]), value) |
	some row in _container_fields
	value := object.get(item, row[0], null)
	not type_name(value) in row[1]
	field := concat("", [sprintf("%s.%s[%d]", [prefix, list, i]), _suffix(row[0])])
} | {_mount_problem(sprintf("%s.%s[%d].volumeMounts[%d]", [prefix, list, i, j]), m) |
	some j, m in _array(item, "volumeMounts")
	not _is_named_object(m)
}

_is_named_object(m) if is_string(m.name)

_mount_problem(field, m) := _problem("volumes", concat("", [field, ".name"]), "string", name) if {
	is_object(m)
	name := object.get(m, "name", null)
} else := _problem("volumes", field, "object", m)

_affinity_problems(prefix, spec) := set() if {
	object.get(spec, "affinity", null) == null
} else := {problem |
	some i, term in _array({"terms": object.get(spec, _node_selector_terms, [])}, "terms")
	field := sprintf("%s%s[%d]", [prefix, _suffix(_node_selector_terms), i])
	some problem in _term_problems(field, term)
}

_term_problems(field, term) := {_problem("os", field, "object", term)} if {
	not is_object(term)
} else := {_problem("os", concat("", [field, ".matchExpressions"]), "array", term.matchExpressions)} if {
	not type_name(object.get(term, "matchExpressions", null)) in {"array", "null"}
} else := {problem |
	some j, expression in _array(term, "matchExpressions")
	some problem in _expression_problems(sprintf("%s.matchExpressions[%d]", [field, j]), expression)
}

# Only an OS expression decides whether the pod is a Windows pod, so only its
# operator and values must be readable.
_expression_problems(field, expression) := {_problem("os", field, "object", expression)} if {
	not is_object(expression)
} else := {_problem("os", concat("", [field, ".key"]), "string", object.get(expression, "key", null))} if {
	not is_string(object.get(expression, "key", null))
} else := set() if {
	not expression.key in os_label_keys
} else := {_problem("os", concat("", [field, ".operator"]), "string", object.get(expression, "operator", null)) |
	not is_string(object.get(expression, "operator", null))
} | _values_problems(field, object.get(expression, "values", null))

_values_problems(field, values) := {_problem("os", concat("", [field, ".values"]), "array", values)} if {
	not type_name(values) in {"array", "null"}
} else := {_problem("os", sprintf("%s.values[%d]", [field, k]), "string", v) |
	some k, v in _array({"values": values}, "values")
	not is_string(v)
}

_volume_problems(prefix, spec) := set() if {
	object.get(spec, "volumes", null) == null
} else := {problem |
	some i, item in _array(spec, "volumes")
	some problem in _volume_item_problems(sprintf("%s.volumes[%d]", [prefix, i]), item)
}

_volume_item_problems(field, item) := {_problem("volumes", field, "object", item)} if {
	not is_object(item)
} else := set() if {
	object.get(item, "hostPath", null) == null
} else := {_problem("volumes", concat("", [field, ".hostPath"]), "object", item.hostPath)} if {
	not is_object(item.hostPath)
} else := {_problem("volumes", concat("", [field, suffix]), "string", value) |
	some [suffix, value] in [
		[".hostPath.path", object.get(item, ["hostPath", "path"], null)],
		[".name", object.get(item, "name", null)],
	]
	not is_string(value)
}

_array(x, key) := x[key] if is_array(x[key])

else := []
