# METADATA
# title: Wrong-typed fields of a pod spec
# description: >-
#   Fail closed (SPEC 4): a field the rules read that has the wrong type
#   (containers "x", a securityContext that is a list, a runAsUserName that is
#   a number) must never make a violation disappear, so each one is reported,
#   with its field path, for the rules to turn into <rule>.malformed.
# custom:
#   id: lib.winpod.shapes
package lib.winpod.shapes

import data.lib.winpod.windows

# METADATA
# title: categories
# description: >-
#   Every category of problems: which rules read a field. A rule fails closed
#   on the categories it reads (lib.winpod.rule.malformed).
categories := {"pod", "user", "image", "os", "volumes"}

# METADATA
# title: pod_fields
# description: >-
#   The type of every pod spec field a rule reads, one row per field: [path,
#   the types it may have (null is absence), category], under the spec key
#   the path starts with. Written once: the checks here and lib.winpod.fast's
#   quick look both read it, the quick look only under the keys a spec has.
pod_fields := {
	"securityContext": [
		[["securityContext"], {"object", "null"}, "pod"],
		[["securityContext", "windowsOptions"], {"object", "null"}, "pod"],
		[["securityContext", "windowsOptions", "runAsUserName"], {"string", "null"}, "user"],
	],
	"initContainers": [[["initContainers"], {"array", "null"}, "pod"]],
	"containers": [[["containers"], {"array", "null"}, "pod"]],
	"ephemeralContainers": [[["ephemeralContainers"], {"array", "null"}, "pod"]],
	"os": [
		[["os"], {"object", "null"}, "os"],
		[["os", "name"], {"string", "null"}, "os"],
	],
	"nodeSelector": [
		[["nodeSelector"], {"object", "null"}, "os"],
		[["nodeSelector", "kubernetes.io/os"], {"string", "null"}, "os"],
		[["nodeSelector", "beta.kubernetes.io/os"], {"string", "null"}, "os"],
		[["nodeSelector", "node.kubernetes.io/windows-build"], {"string", "null"}, "os"],
	],
	"tolerations": [[["tolerations"], {"array", "null"}, "os"]],
	"runtimeClassName": [[["runtimeClassName"], {"string", "null"}, "os"]],
	"affinity": [
		[["affinity"], {"object", "null"}, "os"],
		[["affinity", "nodeAffinity"], {"object", "null"}, "os"],
		[["affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"], {"object", "null"}, "os"],
		[
			["affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"],
			{"array", "null"},
			"os",
		],
	],
	"volumes": [[["volumes"], {"array", "null"}, "volumes"]],
}

# METADATA
# title: container_fields
# description: The same for the fields of a container (pod_fields).
container_fields := {
	"securityContext": [
		[["securityContext"], {"object", "null"}, "pod"],
		[["securityContext", "windowsOptions"], {"object", "null"}, "pod"],
		[["securityContext", "windowsOptions", "runAsUserName"], {"string", "null"}, "user"],
	],
	"image": [[["image"], {"string", "null"}, "image"]],
	"volumeMounts": [[["volumeMounts"], {"array", "null"}, "volumes"]],
}

# METADATA
# title: mount_fields
# description: >-
#   The same for the fields of a volumeMount, in one list: a mount needs its
#   name, so every row is read.
mount_fields := [
	[["name"], {"string"}, "volumes"],
	[["subPath"], {"string", "null"}, "volumes"],
	[["subPathExpr"], {"string", "null"}, "volumes"],
]

# The table holds only values, so that OPA takes it as it is written rather
# than building it again for every query.
_node_selector_terms := pod_fields.affinity[3][0]

# How a path reads in a field: .a.b, or ["kubernetes.io/os"] for a key with a slash.
_suffix(path) := concat("", [_segment(key) | some key in path])

_segment(key) := sprintf(`["%s"]`, [key]) if contains(key, "/")

else := concat("", [".", key])

# METADATA
# title: problems
# description: >-
#   The fields of obj's pod spec (at path) whose type is wrong, as
#   {category, field, expected, got}. The category says which rules read the
#   field: pod (all), user and image (all), os (users and hostpath: it decides
#   whether the pod is a Windows pod), volumes (hostpath). JSON null counts as
#   absent, except where a list holds it or a hostPath volume lacks its path.
#   lib.winpod.fast.problems answers the same, quickly for the common case.
problems(obj, path) := union({
	_spec_problems(obj, path),
	_field_problems(concat(".", path), _object_at(obj, path)),
	_container_problems(concat(".", path), _object_at(obj, path)),
	_affinity_problems(concat(".", path), _object_at(obj, path)),
	_volume_problems(concat(".", path), _object_at(obj, path)),
	_toleration_problems(concat(".", path), _object_at(obj, path)),
})

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
	some rows in pod_fields
	some row in rows
	value := object.get(spec, row[0], null)
	not type_name(value) in row[1]
}

_container_problems(prefix, spec) := {problem |
	some list in _container_lists
	some i, item in _array(spec, list)
	some problem in _container_item_problems(prefix, list, i, item)
}

# The problems of the i-th item of a container list (its field prefix.list[i]).
_container_item_problems(prefix, list, i, item) := {_problem(
	"pod", sprintf("%s.%s[%d]", [prefix, list, i]), "object",
	item,
)} if {
	not is_object(item)
} else := {_problem(row[2], field, _expected(row[1]), value) |
	some rows in container_fields
	some row in rows
	value := object.get(item, row[0], null)
	not type_name(value) in row[1]
	field := concat("", [sprintf("%s.%s[%d]", [prefix, list, i]), _suffix(row[0])])
} | {problem |
	some j, m in _array(item, "volumeMounts")
	some problem in _mount_problems(sprintf("%s.%s[%d].volumeMounts[%d]", [prefix, list, i, j]), m)
}

_mount_problems(field, m) := {_problem("volumes", field, "object", m)} if {
	not is_object(m)
} else := {_problem(row[2], concat("", [field, _suffix(row[0])]), _expected(row[1]), value) |
	some row in mount_fields
	value := object.get(m, row[0], null)
	not type_name(value) in row[1]
}

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

# Only an expression on an OS or Windows-build label decides whether the pod
# is a Windows pod, so only its operator and values must be readable.
_expression_problems(field, expression) := {_problem("os", field, "object", expression)} if {
	not is_object(expression)
} else := {_problem("os", concat("", [field, ".key"]), "string", object.get(expression, "key", null))} if {
	not is_string(object.get(expression, "key", null))
} else := set() if {
	not expression.key in _signal_label_keys
} else := {_problem("os", concat("", [field, ".operator"]), "string", object.get(expression, "operator", null)) |
	not is_string(object.get(expression, "operator", null))
} | _values_problems(field, object.get(expression, "values", null))

_values_problems(field, values) := {_problem("os", concat("", [field, ".values"]), "array", values)} if {
	not type_name(values) in {"array", "null"}
} else := {_problem("os", sprintf("%s.values[%d]", [field, k]), "string", v) |
	some k, v in _array({"values": values}, "values")
	not is_string(v)
}

_toleration_problems(prefix, spec) := {problem |
	some i, toleration in _array(spec, "tolerations")
	some problem in toleration_item_problems(sprintf("%s.tolerations[%d]", [prefix, i]), toleration)
}

# METADATA
# title: toleration_item_problems
# description: The problems of one toleration, at field.
toleration_item_problems(field, toleration) := {_problem("os", field, "object", toleration)} if {
	not is_object(toleration)
} else := {_problem("os", concat("", [field, ".value"]), "string", value) |
	value := object.get(toleration, "value", null)
	not type_name(value) in {"string", "null"}
}

_volume_problems(prefix, spec) := set() if {
	object.get(spec, "volumes", null) == null
} else := {problem |
	some i, item in _array(spec, "volumes")
	some problem in volume_item_problems(sprintf("%s.volumes[%d]", [prefix, i]), item)
}

# METADATA
# title: volume_item_problems
# description: The problems of one volume, at field.
volume_item_problems(field, item) := {_problem("volumes", field, "object", item)} if {
	not is_object(item)
} else := set() if {
	object.get(item, "hostPath", null) == null
} else := {_problem("volumes", concat("", [field, ".hostPath"]), "object", item.hostPath)} if {
	not is_object(item.hostPath)
} else := set() if {
	is_string(item.hostPath.path)
	is_string(item.name)
} else := {_problem("volumes", concat("", [field, suffix]), "string", value) |
	some [suffix, value] in [
		[".hostPath.path", object.get(item, ["hostPath", "path"], null)],
		[".name", object.get(item, "name", null)],
	]
	not is_string(value)
}

# The node labels whose affinity expressions mark a Windows pod.
_signal_label_keys := windows.os_label_keys | {windows.build_label_key}

_container_lists := ["initContainers", "containers", "ephemeralContainers"]

_array(x, key) := x[key] if is_array(x[key])

else := []

_object_at(obj, path) := value if {
	value := object.get(obj, path, null)
	is_object(value)
} else := {}
