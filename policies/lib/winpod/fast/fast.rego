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
#   each, and each item of a list through the check shapes itself runs on
#   it (with no field path to build, since nothing is wrong). Required
#   node-affinity terms take the slow path. False may still mean well typed.
default well_typed(_) := false

well_typed(spec) if {
	every key, value in object.filter(spec, _keys) {
		_rows_hold(spec, key)
		_items_hold(key, value)
	}
}

# Complete rules, worked out once per query: as partial rules OPA would
# evaluate them again at every lookup of a key.
# regal ignore:prefer-set-or-object-rule
_keys := {row[0][0] | some row in shapes.pod_fields}

# regal ignore:prefer-set-or-object-rule
_rows := {key: [row | some row in shapes.pod_fields; row[0][0] == key] | some key in _keys}

_rows_hold(spec, key) if {
	every row in _rows[key] {
		type_name(object.get(spec, row[0], null)) in row[1]
	}
}

_items_hold(_, null)

_items_hold(key, value) if {
	value != null
	not key in {"initContainers", "containers", "ephemeralContainers", "volumes", "tolerations", "affinity"}
}

_items_hold(key, value) if {
	key in {"initContainers", "containers", "ephemeralContainers"}
	every i, item in value {
		count(shapes.container_item_problems("", key, i, item)) == 0
	}
}

_items_hold("volumes", value) if {
	every item in value {
		count(shapes.volume_item_problems("", item)) == 0
	}
}

_items_hold("tolerations", value) if {
	every item in value {
		count(shapes.toleration_item_problems("", item)) == 0
	}
}

_items_hold("affinity", value) if {
	terms := ["nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"]
	object.get(value, terms, null) == null
}

# METADATA
# title: own_or
# description: >-
#   A container's own value when set (not null), else the pod's: the
#   effective value. object.get on a one-key object picks it without the
#   rule bodies an if/else would evaluate.
own_or(own, inherited) := object.get({true: own}, own != null, inherited)
