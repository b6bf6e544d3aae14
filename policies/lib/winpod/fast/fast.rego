# METADATA
# title: Shortcuts
# description: >-
#   Every shortcut the decision takes for speed, and nothing else. Each one
#   answers early only what the slow path would answer: is_quiet that no rule
#   can find anything in an object, problems that a well-typed spec has no
#   wrong-typed field, own_or the effective value an if/else would give.
#   tests/test_properties.py holds them to the slow path on generated pods
#   (quiet and not, Linux and Windows, every kind, wrong types too): with the
#   shortcuts replaced by the slow path, every decision is the same.
# custom:
#   id: lib.winpod.fast
package lib.winpod.fast

import data.lib.winpod.shapes
import data.lib.winpod.windows

# METADATA
# scope: document
# title: is_quiet
# description: >-
#   True for an object of a governed kind (spec_paths: kind to pod spec path)
#   whose pod spec no rule can find anything in under the default Windows
#   signs: well typed, no required node affinity (NotIn linux marks a Windows
#   pod without saying so), and nowhere a word that a Windows sign or a
#   hostPath needs (windowsOptions, a windows OS, node label, toleration or
#   RuntimeClass, the default windowsImages' names, hostPath). Its JSON says
#   so in one look, case folded; most Windows pods are told by their OS name
#   or node selector before that. Any doubt takes the full pod view.
default is_quiet(_, _) := false

is_quiet(obj, spec_paths) if {
	path := spec_paths[obj.kind]
	spec := object.get(obj, path, null)
	is_object(spec)
	not _says_windows(spec)
	object.get(spec, ["affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"], null) == null
	not _is_loud(lower(json.marshal(spec)))
	well_typed(spec)
}

_is_loud(text) if {
	some word in ["windows", "hostpath", "nanoserver", "servercore", "ltsc20", "dotnet/framework"]
	contains(text, word)
}

# Where most Windows pods say so, read before the spec is turned into JSON.
_says_windows(spec) if windows.is_name(spec.os.name)

_says_windows(spec) if windows.is_name(spec.nodeSelector["kubernetes.io/os"])

# METADATA
# title: problems
# description: lib.winpod.shapes.problems, told at once for a well-typed spec.
problems(obj, path) := set() if {
	spec := object.get(obj, path, null)
	is_object(spec)
	well_typed(spec)
} else := shapes.problems(obj, path)

# METADATA
# scope: document
# title: well_typed
# description: >-
#   True when the pod spec has no field of the wrong type, by a quick look
#   that reads only the keys present: the rows of shapes.pod_fields under
#   each, and the rows of shapes.container_fields and shapes.mount_fields for
#   each container and mount; volumes and tolerations through the check
#   shapes itself runs on each (with no field path to build, since nothing
#   is wrong). Required node-affinity terms take the slow path. False may
#   still mean well typed.
default well_typed(_) := false

well_typed(spec) if {
	is_object(spec)
	not _has_wrong_type(spec)
}

# One search for anything wrong, through the rows of the keys a spec has:
# no rule body or loop per field or item, for the common case where nothing
# is found.
_has_wrong_type(spec) if {
	some key, _ in spec
	some row in shapes.pod_fields[key]
	not type_name(object.get(spec, row[0], null)) in row[1]
}

_has_wrong_type(spec) if {
	some list in ["initContainers", "containers", "ephemeralContainers"]
	some item in object.get(spec, list, [])
	_has_wrong_container(item)
}

_has_wrong_type(spec) if {
	some item in object.get(spec, "volumes", [])
	count(shapes.volume_item_problems("", item)) > 0
}

_has_wrong_type(spec) if {
	some item in object.get(spec, "tolerations", [])
	count(shapes.toleration_item_problems("", item)) > 0
}

# Required node-affinity terms take the slow path.
_has_wrong_type(spec) if object.get(spec, _required_terms, null) != null

_required_terms := ["affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"]

_has_wrong_container(item) if not is_object(item)

_has_wrong_container(item) if {
	some key, _ in item
	some row in shapes.container_fields[key]
	not type_name(object.get(item, row[0], null)) in row[1]
}

_has_wrong_container(item) if {
	some m in object.get(item, "volumeMounts", [])
	_has_wrong_mount(m)
}

_has_wrong_mount(m) if not is_object(m)

_has_wrong_mount(m) if {
	some row in shapes.mount_fields
	not type_name(object.get(m, row[0], null)) in row[1]
}

# METADATA
# title: own_or
# description: >-
#   A container's own value when set (not null), else the pod's: the
#   effective value. object.get on a one-key object picks it without the
#   rule bodies an if/else would evaluate.
own_or(own, inherited) := object.get({true: own}, own != null, inherited)
