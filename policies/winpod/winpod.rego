# METADATA
# title: winpod-guard decision API
# description: >-
#   SPEC 4. decision answers one object, batch many, admission an
#   AdmissionReview (for a validating webhook through kube-mgmt). Each config
#   constraint whose match selects the object contributes its rule's
#   violations; allowed is false iff one of them has enforcementAction deny.
#   The input may be a manifest, an AdmissionReview or a Gatekeeper review.
#   Anything that is not an object (42, a DELETE request without object) is no
#   Kubernetes object of a governed kind and is allowed; a governed kind with
#   wrong-typed fields is denied through the rules' malformed violations.
# custom:
#   id: winpod
package winpod

import data.lib.winpod.match
import data.lib.winpod.params
import data.lib.winpod.pods
import data.winpod.defaults

# METADATA
# title: effective_config
# description: >-
#   The constraints of data.winpod.config when they are usable, else those of
#   the built-in default. Constraints that are present but not usable (not a
#   list of objects each with a string name and a known rule) fall back to the
#   built-in default, the strictest policy, rather than enforcing nothing.
#   A known rule is a package data.winpod.rules.<name> (lib.winpod.rule).
effective_config := {"constraints": constraints} if {
	# Every read of a value in OPA's store converts it anew (unless OPA runs
	# with --optimize-store-for-read-speed), and eight constraints cost more
	# to convert than a decision to make: they are read once, and nothing
	# else of the config is.
	config := data.winpod.config
	constraints := config.constraints
	_is_usable(constraints)
} else := {"constraints": defaults.config.constraints}

# A rule is known by its package's name (lib.winpod.rule): one lookup each,
# without finding every rule.
_is_usable(constraints) if {
	is_array(constraints)
	every constraint in constraints {
		is_string(constraint.name)
		data.winpod.rules[constraint.rule].name == constraint.rule
	}
}

# METADATA
# scope: document
# title: decision
# entrypoint: true
# description: The decision for input, always defined (no input is no object).
default decision := {"allowed": true, "violations": []}

decision := decide(input)

# METADATA
# title: batch
# entrypoint: true
# description: One decision per element of input.items, in order.
batch := {"decisions": decide_all(_items)}

default _items := []

_items := input.items if is_array(input.items)

# METADATA
# title: decide
# description: '{"allowed": bool, "violations": [...]} for a manifest, AdmissionReview or Gatekeeper review.'
decide(x) := decide_all([x])[0]

# METADATA
# title: decide_all
# description: >-
#   The decision for each of items, in order. The rules' documents
#   (lib.winpod.rule) are read under two inputs, every rule's relevant
#   under one and every rule's findings under the other, each holding all
#   the items: OPA starts its caches empty under each input, and under one
#   its cache of function results serves every object and every rule, as it
#   does for the rest.
decide_all(items) := [object.get(decisions, i, _no_violations) | some i, _ in items] if {
	views := _views(items)
	selected := _selected(views, _relevant(views))
	findings := _findings(views, selected, effective_config.constraints)
	decisions := {i: _decision(i, selected, findings) | some i, _ in selected}
}

# The decision of an item with no constraint to apply: most of them.
_no_violations := {"allowed": true, "violations": []}

# The pod view of each item that takes one, by index. Most objects are quiet
# (lib.winpod.pods.is_quiet): no rule can find anything in them under the
# default Windows signs, which costs far less to tell than their pod view. A
# config that sets its own signs takes the pod view for every object.
_views(items) := {i: pod |
	some i, item in items
	review := _review(item)
	not _is_quiet(review)
	pod := pods.pod(review)
}

# The object first: most that are not quiet say so at once (their OS name),
# and then the config is not read for signs.
_is_quiet(review) if {
	pods.is_quiet(review.object)
	not _sets_windows_signs
}

_sets_windows_signs if {
	some constraint in effective_config.constraints
	parameters := object.get(constraint, "parameters", null)
	is_object(parameters)
	some value in object.filter(parameters, {"windowsImages", "windowsRuntimeClasses", "assumeWindows"})
	value != null
}

# For each rule of a constraint, the indexes of the views it may find
# something in. For items that are all quiet there is nothing to read.
_relevant(views) := {} if {
	count(views) == 0
} else := relevant if {
	view_cases := {i: {"pod": pod} | some i, pod in views}
	cases := {constraint.rule: view_cases | some constraint in effective_config.constraints}
	relevant := {name: data.winpod.rules[name].relevant | some name, _ in cases} with input as {"cases": cases}
}

# For each view with a rule to apply, the indexes of the constraints (of
# effective_config) whose rule may find something in it and whose match
# selects it. For most objects no rule may: their constraints are not even
# matched, and the config is never read.
_selected(views, relevant) := {i: indexes |
	some i, pod in views
	rules := {name | some name, keys in relevant; i in keys}
	count(rules) > 0
	facts := match.facts(pod.review.object, pod.review.namespace)
	indexes := [j |
		some j in _in_scope(facts.scope, rules)
		match.selector_matches(match.selector(object.get(effective_config.constraints[j], "match", null)), facts.object)
	]
	count(indexes) > 0
}

# The constraints of these rules whose match selects objects of a scope
# (namespace and kind), label selectors aside, by index. The same for every
# object of a namespace and kind with the same rules to apply: in a batch,
# OPA's cache of function results works it out once for each.
_in_scope(scope, rules) := [j |
	some j, constraint in effective_config.constraints
	constraint.rule in rules
	match.in_scope(object.get(constraint, "match", null), scope)
]

# For each rule, its findings for every [view, constraint] pair selected.
_findings(views, selected, constraints) := {} if {
	count(selected) == 0
} else := findings if {
	cases := {name: rule_cases |
		some name in {constraints[j].rule | some js in selected; some j in js}
		rule_cases := {[i, j]: {"pod": views[i], "parameters": params.object_of(object.get(constraint, "parameters", null))} |
			some i, js in selected
			some j in js
			constraint := constraints[j]
			constraint.rule == name
		}
	}
	findings := {name: data.winpod.rules[name].findings | some name, _ in cases} with input as {"cases": cases}
}

_decision(i, selected, findings) := {"allowed": _allowed(violations), "violations": violations} if {
	violations := sort([v |
		some j in selected[i]
		constraint := effective_config.constraints[j]
		some raw in findings[constraint.rule][[i, j]]
		v := {
			"rule": constraint.rule,
			"code": raw.details.code,
			"constraint": constraint.name,
			"enforcementAction": _enforcement_action(constraint),
			"field": raw.details.field,
			"msg": raw.msg,
		}
	])
}

default _allowed(_) := false

_allowed(violations) if {
	every v in violations {
		v.enforcementAction != "deny"
	}
}

# The review the rules see: the object, the namespace SPEC 3 resolves, and
# the operation (a DELETE or CONNECT is allowed: lib.winpod.pods.pod).
_review(x) := {
	"object": obj,
	"namespace": pods.namespace({"object": obj, "namespace": request_namespace}),
	"operation": operation,
} if {
	[obj, request_namespace, operation] := _request_parts(x)
	is_object(obj)
}

# An object without kind that has a review or request is a Gatekeeper review
# or an AdmissionReview without its type fields.
_request_parts(x) := [x, null, null] if {
	# A manifest, the common case, told first.
	is_string(x.kind)
	x.kind != "AdmissionReview"
} else := _parts(x.request) if {
	x.kind == "AdmissionReview"
} else := _parts(x.review) if {
	not _has_kind(x)
	is_object(x.review)
} else := _parts(x.request) if {
	not _has_kind(x)
	is_object(x.request)
} else := [x, null, null]

_parts(request) := [_value(request, "object"), _value(request, "namespace"), _value(request, "operation")]

_has_kind(x) if _value(x, "kind") != null

# Unknown actions deny: the config loader refuses them, and a typo must not
# turn enforcement off.
_enforcement_action(constraint) := constraint.enforcementAction if {
	constraint.enforcementAction in {"deny", "warn", "dryrun"}
} else := "deny"

# METADATA
# title: admission
# entrypoint: true
# description: >-
#   The AdmissionReview response for an AdmissionReview input: uid echoed,
#   allowed, a 403 status listing the deny violations, warnings for warn ones,
#   control characters shown as \xNN and each warning under 256 characters
#   (a longer one cut, and given whole in the status message).
admission := {
	"apiVersion": _admission_api_version,
	"kind": "AdmissionReview",
	"response": object.union_n([
		{"uid": _uid, "allowed": decision.allowed},
		_status,
		_warnings,
	]),
}

# The API server expects the version it sent back.
default _admission_api_version := "admission.k8s.io/v1"

_admission_api_version := input.apiVersion if input.apiVersion in {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"}

default _uid := ""

_uid := input.request.uid if is_string(input.request.uid)

default _status := {}

_status := {"status": {"code": 403, "reason": "Forbidden", "message": message}} if {
	not decision.allowed
	message := concat("\n", array.concat(_lines("deny"), _cut_warnings))
}

# The API server reads no status of an allowed response; OPA's decision log
# and any other client still get the whole of a warning that was cut.
_status := {"status": {"code": 200, "message": concat("\n", _cut_warnings)}} if {
	decision.allowed
	count(_cut_warnings) > 0
}

default _warnings := {}

_warnings := {"warnings": [_short(line) | some line in lines]} if {
	lines := _lines("warn")
	count(lines) > 0
}

# Warnings as the API server keeps them (k8s.io/apiserver's warning
# recorder, pkg/endpoints/filters/warning.go): it drops one that holds a
# control character (apimachinery's util/net.NewWarningHeader) and may cut
# one past 256 characters. Lines are escaped (_visible), and a longer one is
# cut here, with a mark, and given whole in the status message.
_warning_limit := 256

_short(line) := line if {
	count(line) <= _warning_limit
} else := concat("", [substring(line, 0, _warning_limit - 3), "..."])

_cut_warnings := [line |
	some line in _lines("warn")
	count(line) > _warning_limit
]

# Gatekeeper's format: one "[constraint] message" per violation, its
# control characters shown as \xNN (a terminal prints the status message).
_lines(action) := [_visible(sprintf("[%s] %s", [v.constraint, v.msg])) |
	some v in decision.violations
	v.enforcementAction == action
]

_visible(s) := strings.replace_n(_control_escapes, s)

# C0, DEL and C1: what Go's unicode.IsControl holds a control character.
_control_escapes[sprintf("%c", [i])] := sprintf(`\x%02x`, [i]) if {
	some i in array.concat(numbers.range(0, 31), numbers.range(127, 159))
}

_value(x, key) := v if v := x[key]

else := null
