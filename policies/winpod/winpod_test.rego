package winpod_test

import data.lib.winpod.pods
import data.winpod
import data.winpod.defaults

pod(name, spec) := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}

pause := "registry.k8s.io/pause"

hp := {"windowsOptions": {"hostProcess": true}}

# Equivalents of the Pod Security Admission corpus (../shared/external/psa),
# baseline and restricted: under the built-in config every fail/ file is
# denied, every pass/ file allowed.
restricted_container := {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}

restricted_pod := {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}

psa_volumes_one := [{"emptyDir": {}, "name": "volume-emptydir"}, {"hostPath": {"path": "/a"}, "name": "volume-hostpath"}]

psa_volumes_two := [{"hostPath": {"path": "/a"}, "name": "volume-hostpath-a"}, {"hostPath": {"path": "/b"}, "name": "volume-hostpath-b"}]

psa_containers(security_context) := {
	"containers": [object.union({"image": pause, "name": "container1"}, security_context)],
	"initContainers": [object.union({"image": pause, "name": "initcontainer1"}, security_context)],
}

psa_denied := {
	"baseline/hostpathvolumes0": {
		"object": pod("hostpathvolumes0", object.union(psa_containers({}), {"volumes": psa_volumes_one})),
		"violations": psa_volume_one_violations("hostpathvolumes0"),
	},
	"baseline/hostpathvolumes1": {
		"object": pod("hostpathvolumes1", object.union(psa_containers({}), {"volumes": psa_volumes_two})),
		"violations": psa_volume_two_violations("hostpathvolumes1"),
	},
	"baseline/windowshostprocess0": {
		"object": pod("windowshostprocess0", object.union(
			psa_containers({"securityContext": {"windowsOptions": {}}}),
			{"hostNetwork": true, "securityContext": hp},
		)),
		"violations": psa_pod_level_host_process("windowshostprocess0"),
	},
	"baseline/windowshostprocess1": {
		"object": pod("windowshostprocess1", object.union(
			psa_containers({"securityContext": hp}),
			{"hostNetwork": true, "securityContext": {"windowsOptions": {}}},
		)),
		"violations": psa_container_host_process("windowshostprocess1"),
	},
	"restricted/hostpathvolumes0": {
		"object": pod("hostpathvolumes0", object.union(
			psa_containers({"securityContext": restricted_container}),
			{"securityContext": restricted_pod, "volumes": psa_volumes_one},
		)),
		"violations": psa_volume_one_violations("hostpathvolumes0"),
	},
	"restricted/hostpathvolumes1": {
		"object": pod("hostpathvolumes1", object.union(
			psa_containers({"securityContext": restricted_container}),
			{"securityContext": restricted_pod, "volumes": psa_volumes_two},
		)),
		"violations": psa_volume_two_violations("hostpathvolumes1"),
	},
	"restricted/windowshostprocess0": {
		"object": pod("windowshostprocess0", object.union(
			psa_containers({"securityContext": object.union(restricted_container, {"windowsOptions": {}})}),
			{"hostNetwork": true, "securityContext": object.union(restricted_pod, hp)},
		)),
		"violations": psa_pod_level_host_process("windowshostprocess0"),
	},
	"restricted/windowshostprocess1": {
		"object": pod("windowshostprocess1", object.union(
			psa_containers({"securityContext": object.union(restricted_container, hp)}),
			{"hostNetwork": true, "securityContext": object.union(restricted_pod, {"windowsOptions": {}})},
		)),
		"violations": psa_container_host_process("windowshostprocess1"),
	},
}

psa_volume_one_violations(name) := {{
	"rule": "hostpath", "code": "hostpath.not-allowed", "constraint": "default-hostpath", "enforcementAction": "deny",
	"field": "spec.volumes[1].hostPath.path",
	"msg": sprintf(`Pod/default/%s: hostPath volume "volume-hostpath" path "/a" is not in allowedHostPaths`, [name]),
}}

psa_volume_two_violations(name) := {
	{
		"rule": "hostpath", "code": "hostpath.not-allowed", "constraint": "default-hostpath", "enforcementAction": "deny",
		"field": "spec.volumes[0].hostPath.path",
		"msg": sprintf(`Pod/default/%s: hostPath volume "volume-hostpath-a" path "/a" is not in allowedHostPaths`, [name]),
	},
	{
		"rule": "hostpath", "code": "hostpath.not-allowed", "constraint": "default-hostpath", "enforcementAction": "deny",
		"field": "spec.volumes[1].hostPath.path",
		"msg": sprintf(`Pod/default/%s: hostPath volume "volume-hostpath-b" path "/b" is not in allowedHostPaths`, [name]),
	},
}

psa_pod_level_host_process(name) := {
	{
		"rule": "hostprocess", "code": "hostprocess.not-allowed", "constraint": "default-hostprocess", "enforcementAction": "deny",
		"field": "spec.securityContext.windowsOptions.hostProcess",
		"msg": sprintf("Pod/default/%s: pod-level hostProcess is true, but HostProcess containers are not allowed", [name]),
	},
	{
		"rule": "hostprocess", "code": "hostprocess.not-allowed", "constraint": "default-hostprocess", "enforcementAction": "deny",
		"field": "spec.securityContext.windowsOptions.hostProcess",
		"msg": sprintf(`Pod/default/%s: container "container1" is a HostProcess container (hostProcess true from the pod), but HostProcess containers are not allowed`, [name]),
	},
	{
		"rule": "hostprocess", "code": "hostprocess.not-allowed", "constraint": "default-hostprocess", "enforcementAction": "deny",
		"field": "spec.securityContext.windowsOptions.hostProcess",
		"msg": sprintf(`Pod/default/%s: initContainer "initcontainer1" is a HostProcess container (hostProcess true from the pod), but HostProcess containers are not allowed`, [name]),
	},
}

psa_container_host_process(name) := {
	{
		"rule": "hostprocess", "code": "hostprocess.not-allowed", "constraint": "default-hostprocess", "enforcementAction": "deny",
		"field": "spec.containers[0].securityContext.windowsOptions.hostProcess",
		"msg": sprintf(`Pod/default/%s: container "container1" is a HostProcess container (hostProcess true), but HostProcess containers are not allowed`, [name]),
	},
	{
		"rule": "hostprocess", "code": "hostprocess.not-allowed", "constraint": "default-hostprocess", "enforcementAction": "deny",
		"field": "spec.initContainers[0].securityContext.windowsOptions.hostProcess",
		"msg": sprintf(`Pod/default/%s: initContainer "initcontainer1" is a HostProcess container (hostProcess true), but HostProcess containers are not allowed`, [name]),
	},
}

psa_allowed := {
	"baseline/base": pod("base", psa_containers({})),
	"restricted/base": pod("base", object.union(psa_containers({"securityContext": restricted_container}), {"securityContext": restricted_pod})),
	"restricted/base_linux": pod("base_linux", object.union(
		psa_containers({"securityContext": restricted_container}),
		{"os": {"name": "linux"}, "securityContext": restricted_pod},
	)),
	"restricted/base_windows": pod("base_windows", object.union(psa_containers({}), {"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": true}})),
}

test_psa_denied[name] if {
	some name, tc in psa_denied
	decision := winpod.decision with input as tc.object
	decision.allowed == false
	{v | some v in decision.violations} == tc.violations
	count(decision.violations) == count(tc.violations)
}

test_psa_allowed[name] if {
	some name, manifest in psa_allowed
	winpod.decision == {"allowed": true, "violations": []} with input as manifest
}

windows_admin := {
	"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "tools"},
	"spec": {"template": {"spec": {"containers": [{
		"name": "a", "image": "x",
		"securityContext": {"windowsOptions": {"runAsUserName": "ContainerAdministrator"}},
	}]}}},
}

windows_admin_violation(namespace, constraint, action) := {
	"rule": "users", "code": "users.not-allowed", "constraint": constraint, "enforcementAction": action,
	"field": "spec.template.spec.containers[0].securityContext.windowsOptions.runAsUserName",
	"msg": sprintf(`DaemonSet/%s/agent: container "a" runs as "ContainerAdministrator", which is not in allowedUserNames ["ContainerUser"]`, [namespace]),
}

# The three input shapes give the same decision; the namespace comes from the
# object, else the request, else "default".
shape_cases := {
	"manifest": {
		"input": windows_admin,
		"want": {"allowed": false, "violations": [windows_admin_violation("tools", "default-users", "deny")]},
	},
	"AdmissionReview": {
		"input": {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "u", "namespace": "other", "object": windows_admin}},
		"want": {"allowed": false, "violations": [windows_admin_violation("tools", "default-users", "deny")]},
	},
	"AdmissionReview: namespace from the request": {
		"input": {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"namespace": "req", "object": object.remove(windows_admin, ["metadata"])}},
		"want": {"allowed": false, "violations": [object.union(
			windows_admin_violation("req", "default-users", "deny"),
			{"msg": `DaemonSet/req/<unnamed>: container "a" runs as "ContainerAdministrator", which is not in allowedUserNames ["ContainerUser"]`},
		)]},
	},
	"AdmissionReview without type fields": {
		"input": {"request": {"object": windows_admin}},
		"want": {"allowed": false, "violations": [windows_admin_violation("tools", "default-users", "deny")]},
	},
	"Gatekeeper review": {
		"input": {"review": {"object": windows_admin, "namespace": "other"}},
		"want": {"allowed": false, "violations": [windows_admin_violation("tools", "default-users", "deny")]},
	},
	"Gatekeeper review: namespace from the review": {
		"input": {"review": {"object": object.union(windows_admin, {"metadata": {"namespace": ""}}), "namespace": "rev"}},
		"want": {"allowed": false, "violations": [windows_admin_violation("rev", "default-users", "deny")]},
	},
	"namespace defaults to default": {
		"input": object.union(windows_admin, {"metadata": {"namespace": null}}),
		"want": {"allowed": false, "violations": [windows_admin_violation("default", "default-users", "deny")]},
	},
	"other kinds": {
		"input": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"spec": "x"}},
		"want": {"allowed": true, "violations": []},
	},
	"governed kind name in another group": {
		"input": object.union(windows_admin, {"apiVersion": "extensions/v1beta1"}),
		"want": {"allowed": false, "violations": [windows_admin_violation("tools", "default-users", "deny")]},
	},
	"governed kind without apiVersion": {
		"input": object.remove(windows_admin, ["apiVersion"]),
		"want": {"allowed": false, "violations": [windows_admin_violation("tools", "default-users", "deny")]},
	},
	"governed kind with a malformed apiVersion": {
		"input": object.union(windows_admin, {"apiVersion": ["apps/v1"]}),
		"want": {"allowed": false, "violations": [windows_admin_violation("tools", "default-users", "deny")]},
	},
	"AdmissionReview of a DELETE (no object)": {
		"input": {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "u", "operation": "DELETE", "object": null, "oldObject": windows_admin}},
		"want": {"allowed": true, "violations": []},
	},
	"AdmissionReview with a request that is not an object": {
		"input": {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": 5},
		"want": {"allowed": true, "violations": []},
	},
	"a number": {"input": 42, "want": {"allowed": true, "violations": []}},
	"a string": {"input": "Pod", "want": {"allowed": true, "violations": []}},
	"null": {"input": null, "want": {"allowed": true, "violations": []}},
	"a list": {"input": [windows_admin], "want": {"allowed": true, "violations": []}},
	"an empty object": {"input": {}, "want": {"allowed": true, "violations": []}},
	"a governed kind of garbage is denied": {
		"input": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "g"}, "spec": {"containers": "x"}},
		"want": {"allowed": false, "violations": [
			{
				"rule": "hostpath", "code": "hostpath.malformed", "constraint": "default-hostpath", "enforcementAction": "deny",
				"field": "spec.containers", "msg": "Pod/default/g: spec.containers must be an array, got string",
			},
			{
				"rule": "hostprocess", "code": "hostprocess.malformed", "constraint": "default-hostprocess", "enforcementAction": "deny",
				"field": "spec.containers", "msg": "Pod/default/g: spec.containers must be an array, got string",
			},
			{
				"rule": "users", "code": "users.malformed", "constraint": "default-users", "enforcementAction": "deny",
				"field": "spec.containers", "msg": "Pod/default/g: spec.containers must be an array, got string",
			},
		]},
	},
}

test_decision_input_shapes[name] if {
	some name, tc in shape_cases
	winpod.decision == tc.want with input as tc.input
}

test_decision_without_input if {
	winpod.decision == {"allowed": true, "violations": []}
}

config := {"apiVersion": "winpod-guard/v1alpha1", "kind": "PolicyConfig", "constraints": [
	{"name": "users-deny", "rule": "users", "match": {"excludedNamespaces": ["legacy-*"]}},
	{"name": "users-warn", "rule": "users", "enforcementAction": "warn", "match": {"namespaces": ["legacy-*"]}},
	{"name": "users-audit", "rule": "users", "enforcementAction": "dryrun", "parameters": {"allowedUserNames": ["ContainerAdministrator"]}},
	{"name": "users-typo", "rule": "users", "enforcementAction": "Warn", "match": {"namespaces": ["typo"]}},
	{"name": "users-daemonsets", "rule": "users", "match": {"kinds": [{"apiGroups": ["apps"], "kinds": ["DaemonSet"]}], "labelSelector": {"matchLabels": {"team": "a"}}}},
]}

config_cases := {
	"deny": {
		"namespace": "tools", "labels": {},
		"want": {"allowed": false, "violations": [windows_admin_violation("tools", "users-deny", "deny")]},
	},
	"warn only: allowed": {
		"namespace": "legacy-app", "labels": {},
		"want": {"allowed": true, "violations": [windows_admin_violation("legacy-app", "users-warn", "warn")]},
	},
	"unknown enforcementAction denies": {
		"namespace": "typo", "labels": {},
		"want": {"allowed": false, "violations": [
			windows_admin_violation("typo", "users-deny", "deny"),
			windows_admin_violation("typo", "users-typo", "deny"),
		]},
	},
	"label selector": {
		"namespace": "tools", "labels": {"team": "a"},
		"want": {"allowed": false, "violations": [
			windows_admin_violation("tools", "users-daemonsets", "deny"),
			windows_admin_violation("tools", "users-deny", "deny"),
		]},
	},
}

test_decision_config[name] if {
	some name, tc in config_cases
	admin := object.union(windows_admin, {"metadata": {"namespace": tc.namespace, "labels": tc.labels}})
	winpod.decision == tc.want with input as admin with winpod.config as config
}

test_dryrun_is_reported if {
	pod_as_user := object.union(windows_admin, {"spec": {"template": {"spec": {"containers": [{
		"name": "a", "image": "x",
		"securityContext": {"windowsOptions": {"runAsUserName": "ContainerUser"}},
	}]}}}})
	winpod.decision == {"allowed": true, "violations": [{
		"rule": "users", "code": "users.not-allowed", "constraint": "users-audit", "enforcementAction": "dryrun",
		"field": "spec.template.spec.containers[0].securityContext.windowsOptions.runAsUserName",
		"msg": `DaemonSet/tools/agent: container "a" runs as "ContainerUser", which is not in allowedUserNames ["ContainerAdministrator"]`,
	}]} with input as pod_as_user with winpod.config as config
}

# A config that cannot be read falls back to the built-in one, never to nothing.
unusable_configs := {
	"not an object": "x",
	"no constraints": {"kind": "PolicyConfig"},
	"constraints not a list": {"constraints": {"name": "a", "rule": "users"}},
	"a constraint not an object": {"constraints": ["users"]},
	"unknown rule": {"constraints": [{"name": "a", "rule": "user"}]},
	"name not a string": {"constraints": [{"name": 1, "rule": "users"}]},
}

test_unusable_config_falls_back_to_the_default[name] if {
	some name, unusable in unusable_configs
	winpod.effective_config == {"constraints": defaults.config.constraints} with winpod.config as unusable
	winpod.decision == {"allowed": false, "violations": [windows_admin_violation("tools", "default-users", "deny")]} with input as windows_admin
		with winpod.config as unusable
}

test_empty_config_enforces_nothing if {
	winpod.decision == {"allowed": true, "violations": []} with input as windows_admin with winpod.config as {"constraints": []}
}

test_violations_are_sorted if {
	decision := winpod.decision with input as psa_denied["baseline/windowshostprocess0"].object
	decision.violations == sort(decision.violations)
	count(decision.violations) == 3
}

test_batch if {
	winpod.batch == {"decisions": [
		{"allowed": false, "violations": [windows_admin_violation("tools", "default-users", "deny")]},
		{"allowed": true, "violations": []},
		{"allowed": true, "violations": []},
		{"allowed": false, "violations": [windows_admin_violation("tools", "default-users", "deny")]},
	]} with input as {"items": [windows_admin, 42, psa_allowed["baseline/base"], {"review": {"object": windows_admin}}]}
}

test_batch_without_items[name] if {
	some name, x in {"no items": {}, "items not a list": {"items": {"a": 1}}, "not an object": 42}
	winpod.batch == {"decisions": []} with input as x
}

admission_request(manifest) := {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "705ab4f5", "namespace": "tools", "object": manifest}}

test_admission_denied if {
	winpod.admission == {
		"apiVersion": "admission.k8s.io/v1",
		"kind": "AdmissionReview",
		"response": {
			"uid": "705ab4f5",
			"allowed": false,
			"status": {
				"code": 403,
				"reason": "Forbidden",
				"message": concat("\n", [
					`[default-hostpath] Pod/tools/hostpathvolumes1: hostPath volume "volume-hostpath-a" path "/a" is not in allowedHostPaths`,
					`[default-hostpath] Pod/tools/hostpathvolumes1: hostPath volume "volume-hostpath-b" path "/b" is not in allowedHostPaths`,
				]),
			},
		},
	} with input as admission_request(psa_denied["baseline/hostpathvolumes1"].object)
}

test_admission_allowed if {
	winpod.admission == {
		"apiVersion": "admission.k8s.io/v1",
		"kind": "AdmissionReview",
		"response": {"uid": "705ab4f5", "allowed": true},
	} with input as admission_request(psa_allowed["baseline/base"])
}

test_admission_warnings if {
	legacy := object.union(windows_admin, {"metadata": {"namespace": "legacy-app"}})
	winpod.admission == {
		"apiVersion": "admission.k8s.io/v1",
		"kind": "AdmissionReview",
		"response": {
			"uid": "705ab4f5",
			"allowed": true,
			"warnings": [`[users-warn] DaemonSet/legacy-app/agent: container "a" runs as "ContainerAdministrator", which is not in allowedUserNames ["ContainerUser"]`],
		},
	} with input as admission_request(legacy) with winpod.config as config
}

test_admission_echoes_v1beta1 if {
	review := object.union(admission_request(psa_allowed["baseline/base"]), {"apiVersion": "admission.k8s.io/v1beta1"})
	winpod.admission == {
		"apiVersion": "admission.k8s.io/v1beta1",
		"kind": "AdmissionReview",
		"response": {"uid": "705ab4f5", "allowed": true},
	} with input as review
}

test_admission_of_garbage if {
	winpod.admission == {
		"apiVersion": "admission.k8s.io/v1",
		"kind": "AdmissionReview",
		"response": {"uid": "", "allowed": true},
	} with input as 42
}

host_process_pod := pod("hp", {"containers": [{"name": "a", "image": "x", "securityContext": hp}]})

review_of(operation, obj) := {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": object.union(
	{"uid": "u", "namespace": "default", "object": obj},
	{key: operation | key := "operation"; operation != null},
)}

# SPEC 1: every operation but DELETE and CONNECT is decided on the object, a
# missing one included, in both review shapes.
test_operations[name] if {
	some name, tc in {
		"CREATE": {"operation": "CREATE", "allowed": false},
		"UPDATE": {"operation": "UPDATE", "allowed": false},
		"missing": {"operation": null, "allowed": false},
		"unknown": {"operation": "PATCH", "allowed": false},
		"DELETE": {"operation": "DELETE", "allowed": true},
		"CONNECT": {"operation": "CONNECT", "allowed": true},
	}
	some x in [review_of(tc.operation, host_process_pod), {"review": review_of(tc.operation, host_process_pod).request}]
	winpod.decision.allowed == tc.allowed with input as x
}

# kubectl debug: an UPDATE of the ephemeralcontainers subresource whose
# object carries the new container.
test_kubectl_debug_is_decided if {
	old := pod("web", {"os": {"name": "windows"}, "containers": [{"name": "app", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}]})
	new := json.patch(old, [{"op": "add", "path": "/spec/ephemeralContainers", "value": [{
		"name": "debugger", "image": "mcr.microsoft.com/windows/servercore:ltsc2022",
		"securityContext": {"windowsOptions": {"runAsUserName": "ContainerAdministrator"}},
	}]}])
	review := {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
		"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "resource": {"group": "", "version": "v1", "resource": "pods"},
		"subResource": "ephemeralcontainers", "operation": "UPDATE", "namespace": "default", "object": new, "oldObject": old,
	}}
	[v.field | some v in winpod.decision.violations] == ["spec.ephemeralContainers[0].securityContext.windowsOptions.runAsUserName"] with input as review
}

signs_config := {"constraints": [
	{"name": "hostprocess", "rule": "hostprocess"},
	{"name": "users", "rule": "users", "parameters": {"assumeWindows": true}},
]}

# A quiet pod under the default signs is a Windows pod under assumeWindows:
# the decision then takes the pod view.
test_signs_of_ones_own_skip_the_quiet_shortcut if {
	unmarked := pod("web", {"containers": [{"name": "app", "image": "nginx:1.27"}]})
	pods.is_quiet(unmarked)
	[v.code | some v in winpod.decision.violations] == ["users.not-allowed"] with input as unmarked with winpod.config as signs_config
}

test_declared_linux_under_assume_windows if {
	linux := pod("web", {"os": {"name": "linux"}, "containers": [{"name": "app", "image": "nginx:1.27"}]})
	winpod.decision == {"allowed": true, "violations": []} with input as linux with winpod.config as signs_config
}
