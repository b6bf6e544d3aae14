package lib.winpod.match_test

import data.lib.winpod.match

deployment := {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"app": "web", "tier": "front"}}}

pod := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}

# Expected values follow Gatekeeper v3.23 pkg/mutation/match and SPEC 3.
applies_cases := {
	"no match selects a governed kind": {"match": null, "object": deployment, "ns": "a", "want": true},
	"empty match selects a governed kind": {"match": {}, "object": deployment, "ns": "a", "want": true},
	"no match does not select other kinds": {"match": null, "object": {"apiVersion": "v1", "kind": "ConfigMap"}, "ns": "a", "want": false},
	"empty match does not select other kinds": {"match": {}, "object": {"apiVersion": "v1", "kind": "ConfigMap"}, "ns": "a", "want": false},
	"default kinds: a governed kind in any group": {"match": {}, "object": {"apiVersion": "extensions/v1beta1", "kind": "Deployment"}, "ns": "a", "want": true},
	"default kinds: a governed kind without apiVersion": {"match": {}, "object": {"kind": "CronJob"}, "ns": "a", "want": true},
	"default kinds: core Pod": {"match": {}, "object": pod, "ns": "a", "want": true},
	"default kinds: batch CronJob": {"match": {}, "object": {"apiVersion": "batch/v1", "kind": "CronJob"}, "ns": "a", "want": true},
	"match not an object never narrows": {"match": "x", "object": deployment, "ns": "a", "want": true},
	"namespace listed": {"match": {"namespaces": ["b", "a"]}, "object": deployment, "ns": "a", "want": true},
	"namespace not listed": {"match": {"namespaces": ["b"]}, "object": deployment, "ns": "a", "want": false},
	"namespace prefix glob": {"match": {"namespaces": ["kube-*"]}, "object": deployment, "ns": "kube-system", "want": true},
	"namespace prefix glob is a prefix": {"match": {"namespaces": ["kube-*"]}, "object": deployment, "ns": "xkube-system", "want": false},
	"namespace suffix glob": {"match": {"namespaces": ["*-system"]}, "object": deployment, "ns": "kube-system", "want": true},
	"namespace contains glob": {"match": {"namespaces": ["*be-sy*"]}, "object": deployment, "ns": "kube-system", "want": true},
	"namespace star": {"match": {"namespaces": ["*"]}, "object": deployment, "ns": "anything", "want": true},
	"namespace star in the middle is literal": {"match": {"namespaces": ["a*c"]}, "object": deployment, "ns": "abc", "want": false},
	"empty namespaces list leaves it open": {"match": {"namespaces": []}, "object": deployment, "ns": "a", "want": true},
	"namespaces of the wrong type never narrow": {"match": {"namespaces": "b"}, "object": deployment, "ns": "a", "want": true},
	"excluded": {"match": {"excludedNamespaces": ["a"]}, "object": deployment, "ns": "a", "want": false},
	"excluded by prefix": {"match": {"excludedNamespaces": ["legacy-*"]}, "object": deployment, "ns": "legacy-app", "want": false},
	"not excluded": {"match": {"excludedNamespaces": ["legacy-*"]}, "object": deployment, "ns": "app", "want": true},
	"exclusion wins over inclusion": {"match": {"namespaces": ["a"], "excludedNamespaces": ["a"]}, "object": deployment, "ns": "a", "want": false},
	"exclusion of the wrong type never narrows": {"match": {"excludedNamespaces": "a"}, "object": deployment, "ns": "a", "want": true},
	"non-string patterns match nothing": {"match": {"namespaces": [1], "excludedNamespaces": [1]}, "object": deployment, "ns": "1", "want": false},
	"kinds": {"match": {"kinds": [{"apiGroups": ["apps"], "kinds": ["Deployment"]}]}, "object": deployment, "ns": "a", "want": true},
	"kinds: apiGroups is ignored": {"match": {"kinds": [{"apiGroups": ["batch"], "kinds": ["Deployment"]}]}, "object": deployment, "ns": "a", "want": true},
	"kinds other kind": {"match": {"kinds": [{"apiGroups": ["apps"], "kinds": ["DaemonSet"]}]}, "object": deployment, "ns": "a", "want": false},
	"kinds second entry": {"match": {"kinds": [{"apiGroups": ["batch"], "kinds": ["Job"]}, {"apiGroups": ["apps"], "kinds": ["Deployment"]}]}, "object": deployment, "ns": "a", "want": true},
	"kinds core group": {"match": {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}, "object": pod, "ns": "a", "want": true},
	"kinds: a Pod written core/v1": {"match": {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}, "object": {"apiVersion": "core/v1", "kind": "Pod"}, "ns": "a", "want": true},
	"kinds wildcard group": {"match": {"kinds": [{"apiGroups": ["*"], "kinds": ["Deployment"]}]}, "object": deployment, "ns": "a", "want": true},
	"kinds wildcard kind": {"match": {"kinds": [{"apiGroups": ["apps"], "kinds": ["*"]}]}, "object": deployment, "ns": "a", "want": true},
	"kinds entry without kinds": {"match": {"kinds": [{"apiGroups": ["apps"]}]}, "object": deployment, "ns": "a", "want": true},
	"kinds entry without groups": {"match": {"kinds": [{"kinds": ["Deployment"]}]}, "object": deployment, "ns": "a", "want": true},
	"kinds select other kinds": {"match": {"kinds": [{"apiGroups": [""], "kinds": ["ConfigMap"]}]}, "object": {"apiVersion": "v1", "kind": "ConfigMap"}, "ns": "a", "want": true},
	"empty kinds list: every kind (Gatekeeper)": {"match": {"kinds": []}, "object": {"apiVersion": "v1", "kind": "ConfigMap"}, "ns": "a", "want": true},
	"kinds of the wrong type never narrow": {"match": {"kinds": "Deployment"}, "object": {"apiVersion": "v1", "kind": "ConfigMap"}, "ns": "a", "want": true},
	"kinds entry of the wrong type never narrows": {"match": {"kinds": ["x"]}, "object": deployment, "ns": "a", "want": true},
	"matchLabels": {"match": {"labelSelector": {"matchLabels": {"app": "web"}}}, "object": deployment, "ns": "a", "want": true},
	"matchLabels all": {"match": {"labelSelector": {"matchLabels": {"app": "web", "tier": "back"}}}, "object": deployment, "ns": "a", "want": false},
	"matchLabels missing label": {"match": {"labelSelector": {"matchLabels": {"x": "y"}}}, "object": deployment, "ns": "a", "want": false},
	"empty selector": {"match": {"labelSelector": {}}, "object": deployment, "ns": "a", "want": true},
	"In": {"match": {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["api", "web"]}]}}, "object": deployment, "ns": "a", "want": true},
	"In other value": {"match": {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["api"]}]}}, "object": deployment, "ns": "a", "want": false},
	"In absent label": {"match": {"labelSelector": {"matchExpressions": [{"key": "x", "operator": "In", "values": ["api"]}]}}, "object": deployment, "ns": "a", "want": false},
	"NotIn": {"match": {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["api"]}]}}, "object": deployment, "ns": "a", "want": true},
	"NotIn listed value": {"match": {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}}, "object": deployment, "ns": "a", "want": false},
	"NotIn absent label": {"match": {"labelSelector": {"matchExpressions": [{"key": "x", "operator": "NotIn", "values": ["web"]}]}}, "object": deployment, "ns": "a", "want": true},
	"Exists": {"match": {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}}, "object": deployment, "ns": "a", "want": true},
	"Exists absent": {"match": {"labelSelector": {"matchExpressions": [{"key": "x", "operator": "Exists"}]}}, "object": deployment, "ns": "a", "want": false},
	"DoesNotExist": {"match": {"labelSelector": {"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}}, "object": deployment, "ns": "a", "want": true},
	"DoesNotExist present": {"match": {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "DoesNotExist", "values": []}]}}, "object": deployment, "ns": "a", "want": false},
	"expressions and labels are ANDed": {"match": {"labelSelector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["back"]}]}}, "object": deployment, "ns": "a", "want": false},
	"unlabelled object": {"match": {"labelSelector": {"matchLabels": {"app": "web"}}}, "object": pod, "ns": "a", "want": false},
	"labels with a non-string value read as none": {"match": {"labelSelector": {"matchLabels": {"app": "web"}}}, "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"app": "web", "n": 1}}}, "ns": "a", "want": false},
	"invalid requirement never narrows: In without values": {"match": {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": []}]}}, "object": deployment, "ns": "a", "want": true},
	"invalid requirement never narrows: Exists with values": {"match": {"labelSelector": {"matchExpressions": [{"key": "x", "operator": "Exists", "values": ["a"]}]}}, "object": deployment, "ns": "a", "want": true},
	"invalid requirement never narrows: unknown operator": {"match": {"labelSelector": {"matchExpressions": [{"key": "x", "operator": "Gt", "values": ["1"]}]}}, "object": deployment, "ns": "a", "want": true},
	"invalid requirement never narrows: values not a list": {"match": {"labelSelector": {"matchExpressions": [{"key": "x", "operator": "DoesNotExist", "values": "a"}]}}, "object": deployment, "ns": "a", "want": true},
	"invalid requirement never narrows: non-string value": {"match": {"labelSelector": {"matchExpressions": [{"key": "x", "operator": "In", "values": [1]}]}}, "object": deployment, "ns": "a", "want": true},
	"invalid matchLabels value never narrows": {"match": {"labelSelector": {"matchLabels": {"x": 1}}}, "object": deployment, "ns": "a", "want": true},
	"selector of the wrong type never narrows": {"match": {"labelSelector": "app=web"}, "object": pod, "ns": "a", "want": true},
}

test_applies[name] if {
	some name, tc in applies_cases
	applies(tc.match, tc.object, tc.ns) == tc.want
}

kind_cases := {
	"core": {"object": {"apiVersion": "v1", "kind": "Pod"}, "want": "Pod"},
	"group": {"object": {"apiVersion": "apps/v1", "kind": "Deployment"}, "want": "Deployment"},
	"old group": {"object": {"apiVersion": "extensions/v1beta1", "kind": "DaemonSet"}, "want": "DaemonSet"},
	"no apiVersion": {"object": {"kind": "Pod"}, "want": "Pod"},
	"apiVersion not a string": {"object": {"apiVersion": 1, "kind": "Pod"}, "want": "Pod"},
	"apiVersion with two slashes": {"object": {"apiVersion": "a/b/v1", "kind": "Pod"}, "want": "Pod"},
	"kind not a string": {"object": {"apiVersion": "v1", "kind": ["Pod"]}, "want": ""},
}

test_kind[name] if {
	some name, tc in kind_cases
	match.kind(tc.object) == tc.want
}

wildcard_cases := {
	"exact": {"pattern": "a", "value": "a", "want": true},
	"exact differs": {"pattern": "a", "value": "ab", "want": false},
	"prefix": {"pattern": "a*", "value": "ab", "want": true},
	"suffix": {"pattern": "*b", "value": "ab", "want": true},
	"contains": {"pattern": "*b*", "value": "abc", "want": true},
	"star": {"pattern": "*", "value": "", "want": true},
	"middle star is literal": {"pattern": "a*c", "value": "abc", "want": false},
	"middle star matches itself": {"pattern": "a*c", "value": "a*c", "want": true},
	"not a string": {"pattern": 1, "value": "1", "want": false},
}

test_wildcard_matches[name] if {
	some name, tc in wildcard_cases
	match.wildcard_matches(tc.pattern, tc.value) == tc.want
}

# The two parts the decision API tries separately, together: scope
# (in_scope) and labels (selector_matches).
default applies(_, _, _) := false

applies(m, obj, ns) if {
	match.in_scope(m, match.facts(obj, ns).scope)
	match.selector_matches(match.selector(m), obj)
}
