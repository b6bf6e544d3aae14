# METADATA
# title: Gatekeeper match for the decision API
# description: >-
#   The subset of Gatekeeper's constraint match that SPEC 3 allows (kinds,
#   namespaces, excludedNamespaces, labelSelector), with Gatekeeper's semantics
#   (pkg/mutation/match of Gatekeeper v3.23) so that OPA and gator apply a
#   constraint to the same objects. An absent kinds means the governed kinds
#   (the generator writes them into every Constraint). A field of the wrong
#   type, or a label selector requirement Gatekeeper would refuse, never
#   narrows a match: constraints only add violations, so a wider match is the
#   fail-closed reading.
# custom:
#   id: lib.winpod.match
package lib.winpod.match

import data.lib.winpod.pods

# METADATA
# title: facts
# description: >-
#   What every match reads of an object in namespace ns, worked out once per
#   object however many constraints are tried: the scope (its namespace and
#   kind, and whether it is of a governed kind, what an absent kinds selects)
#   and the object itself for label selectors, which few matches have.
facts(obj, ns) := {"scope": _scope(kind(obj), ns), "object": obj}

# Cached per kind and namespace: in a batch, worked out once for each.
_scope(k, ns) := {"namespace": ns, "kind": k, "governed": k in object.keys(pods.spec_paths)}

# METADATA
# scope: document
# title: in_scope
# description: >-
#   True when the constraint match selects objects of this scope (namespace
#   and kind), label selectors aside. Its arguments are the same for every
#   object of a namespace and kind, so OPA's cache of function results answers
#   it once per batch rather than once per object.
default in_scope(_, _) := false

# No match, or one of the wrong type: the governed kinds in any namespace.
in_scope(match, scope) if {
	not is_object(match)
	scope.governed
}

in_scope(match, scope) if {
	is_object(match)
	_included(object.get(match, "namespaces", null), scope.namespace)
	not _lists(object.get(match, "excludedNamespaces", null), scope.namespace)
	_kinds_match(object.get(match, "kinds", null), scope)
}

# METADATA
# title: selector
# description: The match's labelSelector, null when it has none (or is no object).
selector(match) := object.get(match, "labelSelector", null) if is_object(match)

else := null

# No namespaces (absent, empty or not a list) leave the namespace open.
_included(patterns, _) if not is_array(patterns)

_included([], _)

_included(patterns, ns) if _lists(patterns, ns)

# A list of namespaces names ns exactly or through a wildcard. Most lists have
# no wildcard at all, which one look at the list's JSON tells.
_lists(patterns, ns) if {
	is_array(patterns)
	ns in patterns
}

_lists(patterns, ns) if {
	is_array(patterns)
	contains(json.marshal(patterns), "*")
	some pattern in patterns
	wildcard_matches(pattern, ns)
}

# Absent kinds: the governed kinds. Gatekeeper: no kinds entries match every
# kind; an entry with no kinds leaves the kind open; "*" is a wildcard. An
# entry's apiGroups is ignored (SPEC 3): objects are governed by kind name,
# and the generated Constraints say apiGroups ["*"].
_kinds_match(null, facts) if facts.governed

_kinds_match(entries, _) if {
	entries != null
	not _non_empty_array(entries)
}

_kinds_match(entries, facts) if {
	is_array(entries)
	some entry in entries
	_entry_lists(entry, facts.kind)
}

# An entry that is not an object is one Gatekeeper refuses: it never narrows.
_entry_lists(entry, _) if not is_object(entry)

_entry_lists(entry, k) if {
	is_object(entry)
	_listed(object.get(entry, "kinds", null), k)
}

_listed(list, _) if not _non_empty_array(list)

_listed(list, value) if {
	is_array(list)
	value in list
}

_listed(list, _) if {
	is_array(list)
	"*" in list
}

_non_empty_array(x) if {
	is_array(x)
	count(x) > 0
}

# METADATA
# title: kind
# description: The object's kind, "" when it has none (or one that is no string).
kind(obj) := obj.kind if is_string(obj.kind)

else := ""

# METADATA
# scope: document
# title: wildcard_matches
# description: >-
#   Gatekeeper's namespace wildcard, *x* (contains), *x (suffix), x* (prefix)
#   or an exact name; a non-string pattern matches nothing.
default wildcard_matches(_, _) := false

wildcard_matches(pattern, value) if {
	pattern == value
} else := contains(value, trim_suffix(trim_prefix(pattern, "*"), "*")) if {
	is_string(pattern)
	startswith(pattern, "*")
	endswith(pattern, "*")
} else := endswith(value, trim_prefix(pattern, "*")) if {
	is_string(pattern)
	startswith(pattern, "*")
} else := startswith(value, trim_suffix(pattern, "*")) if {
	is_string(pattern)
	endswith(pattern, "*")
}

# METADATA
# title: labels
# description: >-
#   The object's labels as Gatekeeper reads them; none when metadata.labels is
#   not an object of strings.
labels(obj) := obj.metadata.labels if {
	is_object(obj.metadata.labels)
	every v in obj.metadata.labels {
		is_string(v)
	}
} else := {}

# METADATA
# scope: document
# title: selector_matches
# description: >-
#   True when the object's labels satisfy a match's labelSelector; a selector
#   that is null or no object selects everything.
selector_matches(label_selector, _) if not is_object(label_selector)

selector_matches(label_selector, obj) if {
	is_object(label_selector)
	obj_labels := labels(obj)
	every key, value in _object(label_selector, "matchLabels") {
		_label_requirement_holds(key, value, obj_labels)
	}
	every requirement in _array(label_selector, "matchExpressions") {
		_requirement_holds(requirement, obj_labels)
	}
}

# A matchLabels entry whose value is not a string is one Gatekeeper refuses.
_label_requirement_holds(_, value, _) if not is_string(value)

_label_requirement_holds(key, value, obj_labels) if obj_labels[key] == value

_requirement_holds(requirement, obj_labels) if {
	requirement.operator == "In"
	_valid_values(requirement)
	obj_labels[requirement.key] in requirement.values
}

_requirement_holds(requirement, obj_labels) if {
	requirement.operator == "NotIn"
	_valid_values(requirement)
	not _value(obj_labels, requirement.key) in requirement.values
}

_requirement_holds(requirement, obj_labels) if {
	requirement.operator == "Exists"
	_no_values(requirement)
	_has_key(obj_labels, requirement.key)
}

_requirement_holds(requirement, obj_labels) if {
	requirement.operator == "DoesNotExist"
	_no_values(requirement)
	not _has_key(obj_labels, requirement.key)
}

_requirement_holds(requirement, _) if not _is_valid_requirement(requirement)

_is_valid_requirement(requirement) if {
	requirement.operator in {"In", "NotIn"}
	_valid_values(requirement)
}

_is_valid_requirement(requirement) if {
	requirement.operator in {"Exists", "DoesNotExist"}
	_no_values(requirement)
}

_valid_values(requirement) if {
	is_string(requirement.key)
	_non_empty_array(requirement.values)
	every v in requirement.values {
		is_string(v)
	}
}

_no_values(requirement) if {
	is_string(requirement.key)
	count(_array(requirement, "values")) == 0
	not _has_wrong_values(requirement)
}

_has_wrong_values(requirement) if {
	v := requirement.values
	v != null
	not is_array(v)
}

_has_key(obj, key) if key in object.keys(obj)

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
