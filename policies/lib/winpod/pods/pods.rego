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

import data.lib.winpod.fast
import data.lib.winpod.windows

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
#   match.kinds applies to (harness/gatekeeper.py writes the same list). Any
#   API group: an object is governed by its kind whatever its apiVersion
#   (extensions/v1beta1, apps/v1beta2, none at all), since raw manifests carry
#   such objects and refusing them elsewhere does not make them safe here.
kinds := [{"apiGroups": ["*"], "kinds": sort(object.keys(spec_paths))}]

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
#   object of a governed kind. review is the review itself (object_label names
#   the object from it), prefix the pod spec's field path, host_process the
#   pod-level hostProcess value, host_process_pod whether that or some
#   container is HostProcess, containers the object entries of the three
#   lists, volumes the hostPath volumes, malformed the wrong-typed fields, each
#   with the category of what reads it (pod, user, image, os or volumes).
#   windows_signal whether the spec itself marks a Windows pod and
#   declares_linux whether it declares Linux (lib.winpod.windows; is_pod adds
#   the parameters' signs), annotations the pod (template)'s annotations,
#   expanding_mounts the mounts whose subPath the kubelet would expand.
#   Undefined too for a DELETE or CONNECT review, which is allowed.
#   Helpers are few and loops inline: the decision API evaluates this once per
#   object and its cost is most of a decision's.
pod(review) := {
	"review": review,
	"prefix": concat(".", path),
	"spec": spec,
	"windows_signal": windows.has_signal(spec),
	"declares_linux": windows.declares_linux(spec),
	"annotations": object.get(obj, array.concat(array.slice(path, 0, count(path) - 1), ["metadata", "annotations"]), null),
	"host_process": pod_host_process,
	"host_process_pod": true in array.concat(
		[is_host_process_value(pod_host_process)],
		[c.host_process | some c in containers],
	),
	"containers": containers,
	"volumes": [volume |
		some i, item in _array(spec, "volumes")
		object.get(_object_or_empty(item), "hostPath", null) != null
		volume := {"index": i, "name": object.get(item, "name", null), "path": object.get(item, ["hostPath", "path"], null)}
	],
	"expanding_mounts": _expanding_mounts(containers),
	"malformed": fast.problems(obj, path),
} if {
	not object.get(review, "operation", null) in {"DELETE", "CONNECT"}
	obj := review.object
	is_object(obj)
	path := spec_paths[obj.kind]
	raw := object.get(obj, path, null)
	spec := _object_or_empty(raw)
	pod_host_process := object.get(spec, ["securityContext", "windowsOptions", "hostProcess"], null)
	containers := _containers(spec, pod_host_process)
}

# METADATA
# scope: document
# title: is_quiet
# description: >-
#   True for an object of a governed kind whose pod spec no rule can find
#   anything in under the default Windows signs (lib.winpod.fast.is_quiet).
#   The decision API asks it only when no constraint sets its own Windows
#   signs.
default is_quiet(_) := false

is_quiet(obj) if fast.is_quiet(obj, spec_paths)

# The mounts whose subPath the kubelet expands, one entry per field that
# does: any subPathExpr, or a subPath with PowerShell's $ or backtick.
_expanding_mounts(containers) := [{"container": c, "mount": mount, "field": field, "value": mount[key]} |
	some c in containers
	some mount in mounts(c)
	some key, field in {"sub_path_expr": "subPathExpr", "sub_path": "subPath"}
	_expands(key, mount[key])
]

_expands("sub_path_expr", value) if {
	is_string(value)
	value != ""
}

_expands("sub_path", value) if {
	is_string(value)
	_has_expansion_character(value)
}

_has_expansion_character(s) if contains(s, "$")

_has_expansion_character(s) if contains(s, "`")

# METADATA
# title: object_label
# description: How messages name the object of a pod view, Kind/namespace/name.
object_label(pod) := sprintf("%s/%s/%s", [pod.review.object.kind, namespace(pod.review), name(pod.review.object)])

# A container's effective values: its own when set (not null), else the pod's.
_containers(spec, pod_host_process) := [{
	"list": list,
	"index": i,
	"noun": noun,
	"container": item,
	"host_process": is_host_process_value(host_process),
	"host_process_value": host_process,
	"host_process_inherited": own_host_process == null,
	"user": fast.own_or(own_user, pod_user),
	"user_inherited": own_user == null,
} |
	pod_user := object.get(spec, ["securityContext", "windowsOptions", "runAsUserName"], null)
	some list, noun in _container_lists
	items := spec[list]
	is_array(items)
	some i, item in items
	is_object(item)
	own_host_process := object.get(item, ["securityContext", "windowsOptions", "hostProcess"], null)
	host_process := fast.own_or(own_host_process, pod_host_process)
	own_user := object.get(item, ["securityContext", "windowsOptions", "runAsUserName"], null)
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
# title: mounts
# description: >-
#   The object entries of a container's volumeMounts, with their index, name,
#   readOnly (true only for the boolean true), subPath and subPathExpr.
mounts(c) := [{
	"index": j,
	"name": object.get(m, "name", null),
	"read_only": object.get(m, "readOnly", null) == true,
	"sub_path": object.get(m, "subPath", null),
	"sub_path_expr": object.get(m, "subPathExpr", null),
} |
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

_array(x, key) := x[key] if is_array(x[key])

else := []

_object_or_empty(x) := x if is_object(x)

else := {}
