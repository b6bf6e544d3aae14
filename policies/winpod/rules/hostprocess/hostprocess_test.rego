package winpod.rules.hostprocess_test

import data.lib.winpod.pods
import data.lib.winpod.result
import data.winpod.rules.hostprocess

pod(spec) := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": spec}

hp := {"windowsOptions": {"hostProcess": true}}

hp_as(user) := {"windowsOptions": {"hostProcess": true, "runAsUserName": user}}

# A HostProcess pod of the least-privilege shape.
good := {
	"hostNetwork": true,
	"securityContext": hp_as(`NT AUTHORITY\LOCAL SERVICE`),
	"containers": [{"name": "a", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}],
}

allowed := {"allowHostProcess": true}

cases := {
	"no HostProcess": {
		"object": pod({"containers": [{"name": "a", "image": "x"}]}),
		"parameters": {},
		"want": set(),
	},
	"hostProcess false": {
		"object": pod({"securityContext": {"windowsOptions": {"hostProcess": false}}, "containers": [{"name": "a", "securityContext": {"windowsOptions": {"hostProcess": false}}}]}),
		"parameters": {},
		"want": set(),
	},
	"container HostProcess denied by default": {
		"object": pod({"containers": [{"name": "a", "securityContext": hp}]}),
		"parameters": null,
		"want": {result.violation(
			"hostprocess.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.hostProcess",
			`Pod/ns/p: container "a" is a HostProcess container (hostProcess true), but HostProcess containers are not allowed`,
		)},
	},
	"string true is HostProcess": {
		"object": pod({"ephemeralContainers": [{"name": "e", "securityContext": {"windowsOptions": {"hostProcess": "true"}}}]}),
		"parameters": {},
		"want": {result.violation(
			"hostprocess.not-allowed",
			"spec.ephemeralContainers[0].securityContext.windowsOptions.hostProcess",
			`Pod/ns/p: ephemeralContainer "e" is a HostProcess container (hostProcess "true"), but HostProcess containers are not allowed`,
		)},
	},
	"pod-level HostProcess: the pod and every inheriting container": {
		"object": pod({
			"securityContext": hp,
			"initContainers": [{"name": "i"}],
			"containers": [{"name": "a", "securityContext": {"windowsOptions": {}}}, {"name": "b", "securityContext": {"windowsOptions": {"hostProcess": false}}}],
		}),
		"parameters": {"allowHostProcess": false},
		"want": {
			result.violation(
				"hostprocess.not-allowed",
				"spec.securityContext.windowsOptions.hostProcess",
				"Pod/ns/p: pod-level hostProcess is true, but HostProcess containers are not allowed",
			),
			result.violation(
				"hostprocess.not-allowed",
				"spec.securityContext.windowsOptions.hostProcess",
				`Pod/ns/p: initContainer "i" is a HostProcess container (hostProcess true from the pod), but HostProcess containers are not allowed`,
			),
			result.violation(
				"hostprocess.not-allowed",
				"spec.securityContext.windowsOptions.hostProcess",
				`Pod/ns/p: container "a" is a HostProcess container (hostProcess true from the pod), but HostProcess containers are not allowed`,
			),
		},
	},
	"allowHostProcess must be the boolean true": {
		"object": pod({"containers": [{"name": "a", "securityContext": hp}]}),
		"parameters": {"allowHostProcess": "true"},
		"want": {result.violation(
			"hostprocess.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.hostProcess",
			`Pod/ns/p: container "a" is a HostProcess container (hostProcess true), but HostProcess containers are not allowed`,
		)},
	},
	"allowed in the least-privilege shape": {
		"object": pod(good),
		"parameters": allowed,
		"want": set(),
	},
	"allowed: user names compare case-insensitively": {
		"object": pod(object.union(good, {"securityContext": hp_as(`nt authority\Network Service`)})),
		"parameters": allowed,
		"want": set(),
	},
	"allowed: domain wildcard": {
		"object": pod(object.union(good, {"securityContext": hp_as(`CONTOSO\gmsa`)})),
		"parameters": {"allowHostProcess": true, "allowedUserNames": [`contoso\*`]},
		"want": set(),
	},
	"allowed: a non-HostProcess pod is not this rule's": {
		"object": pod({"containers": [{"name": "a", "image": "x"}]}),
		"parameters": allowed,
		"want": set(),
	},
	"allowed, but mixed": {
		"object": pod(object.union(good, {"containers": [
			{"name": "a", "image": "x"},
			{"name": "b", "image": "x", "securityContext": {"windowsOptions": {"hostProcess": false}}},
		]})),
		"parameters": allowed,
		"want": {result.violation(
			"hostprocess.mixed",
			"spec.containers[1].securityContext.windowsOptions.hostProcess",
			`Pod/ns/p: container "b" is not a HostProcess container, but a pod with HostProcess containers must have only HostProcess containers`,
		)},
	},
	"allowed, but a pod-level hostProcess with no HostProcess container is mixed": {
		"object": pod({
			"hostNetwork": true,
			"securityContext": hp_as(`NT AUTHORITY\LOCAL SERVICE`),
			"containers": [{"name": "a", "securityContext": {"windowsOptions": {"hostProcess": false}}}],
		}),
		"parameters": allowed,
		"want": {result.violation(
			"hostprocess.mixed",
			"spec.containers[0].securityContext.windowsOptions.hostProcess",
			`Pod/ns/p: container "a" is not a HostProcess container, but a pod with HostProcess containers must have only HostProcess containers`,
		)},
	},
	"allowed, but no hostNetwork": {
		"object": pod(object.remove(good, ["hostNetwork"])),
		"parameters": allowed,
		"want": {result.violation(
			"hostprocess.host-network",
			"spec.hostNetwork",
			"Pod/ns/p: a HostProcess pod must set hostNetwork to true (hostNetwork is unset)",
		)},
	},
	"allowed, but hostNetwork is a string": {
		"object": pod(object.union(good, {"hostNetwork": "true"})),
		"parameters": allowed,
		"want": {result.violation(
			"hostprocess.host-network",
			"spec.hostNetwork",
			`Pod/ns/p: a HostProcess pod must set hostNetwork to true (hostNetwork is "true")`,
		)},
	},
	"allowed, but no user": {
		"object": pod({"hostNetwork": true, "securityContext": hp, "containers": good.containers}),
		"parameters": allowed,
		"want": {result.violation(
			"hostprocess.user",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" sets no runAsUserName, but a HostProcess container must run as one of allowedUserNames ["NT AUTHORITY\LOCAL SERVICE", "NT AUTHORITY\NETWORK SERVICE"]`,
		)},
	},
	"allowed, but SYSTEM": {
		"object": pod(object.union(good, {"containers": [{"name": "a", "image": "x", "securityContext": hp_as(`NT AUTHORITY\SYSTEM`)}]})),
		"parameters": allowed,
		"want": {result.violation(
			"hostprocess.user",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" runs as "NT AUTHORITY\SYSTEM", which is not in allowedUserNames ["NT AUTHORITY\LOCAL SERVICE", "NT AUTHORITY\NETWORK SERVICE"]`,
		)},
	},
	"allowed, but the domain wildcard is exact": {
		"object": pod(object.union(good, {"securityContext": hp_as(`CONTOSOEVIL\gmsa`)})),
		"parameters": {"allowHostProcess": true, "allowedUserNames": [`CONTOSO\*`]},
		"want": {result.violation(
			"hostprocess.user",
			"spec.securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" runs as "CONTOSOEVIL\gmsa", which is not in allowedUserNames ["CONTOSO\*"]`,
		)},
	},
	"allowed, but allowedUserNames of the wrong type allows no one": {
		"object": pod(good),
		"parameters": {"allowHostProcess": true, "allowedUserNames": `NT AUTHORITY\LOCAL SERVICE`},
		"want": {result.violation(
			"hostprocess.user",
			"spec.securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" runs as "NT AUTHORITY\LOCAL SERVICE", which is not in allowedUserNames []`,
		)},
	},
	"allowed: an empty allowedImages allows any image": {
		"object": pod(good),
		"parameters": {"allowHostProcess": true, "allowedImages": []},
		"want": set(),
	},
	"allowed with an image glob": {
		"object": pod(good),
		"parameters": {"allowHostProcess": true, "allowedImages": ["mcr.microsoft.com/windows/nanoserver:*"]},
		"want": set(),
	},
	"allowed, but the image glob is anchored": {
		"object": pod(object.union(good, {"containers": [{"name": "a", "image": "evil.io/mcr.microsoft.com/windows/nanoserver:1"}]})),
		"parameters": {"allowHostProcess": true, "allowedImages": ["mcr.microsoft.com/windows/nanoserver:*"]},
		"want": {result.violation(
			"hostprocess.image",
			"spec.containers[0].image",
			`Pod/ns/p: container "a" image "evil.io/mcr.microsoft.com/windows/nanoserver:1" does not match allowedImages ["mcr.microsoft.com/windows/nanoserver:*"]`,
		)},
	},
	"allowed, but no image": {
		"object": pod(object.union(good, {"containers": [{"name": "a"}]})),
		"parameters": {"allowHostProcess": true, "allowedImages": ["*"]},
		"want": {result.violation(
			"hostprocess.image",
			"spec.containers[0].image",
			`Pod/ns/p: container "a" image unset does not match allowedImages ["*"]`,
		)},
	},
	"allowed, but allowedImages of the wrong type allows no image": {
		"object": pod(good),
		"parameters": {"allowHostProcess": true, "allowedImages": "mcr.microsoft.com/windows/nanoserver:ltsc2022"},
		"want": {result.violation(
			"hostprocess.image",
			"spec.containers[0].image",
			`Pod/ns/p: container "a" image "mcr.microsoft.com/windows/nanoserver:ltsc2022" does not match allowedImages "mcr.microsoft.com/windows/nanoserver:ltsc2022"`,
		)},
	},
	"field paths of a CronJob init container": {
		"object": {
			"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "ns"},
			"spec": {"jobTemplate": {"spec": {"template": {"spec": {
				"hostNetwork": true,
				"initContainers": [
					{"name": "i0", "image": "x", "securityContext": hp_as(`NT AUTHORITY\LOCAL SERVICE`)},
					{"name": "i1", "image": "x", "securityContext": hp_as("ContainerAdministrator")},
				],
			}}}}},
		},
		"parameters": allowed,
		"want": {result.violation(
			"hostprocess.user",
			"spec.jobTemplate.spec.template.spec.initContainers[1].securityContext.windowsOptions.runAsUserName",
			`CronJob/ns/c: initContainer "i1" runs as "ContainerAdministrator", which is not in allowedUserNames ["NT AUTHORITY\LOCAL SERVICE", "NT AUTHORITY\NETWORK SERVICE"]`,
		)},
	},
	"malformed containers": {
		"object": pod({"securityContext": hp, "containers": "x"}),
		"parameters": {},
		"want": {
			result.violation("hostprocess.malformed", "spec.containers", "Pod/ns/p: spec.containers must be an array, got string"),
			result.violation(
				"hostprocess.not-allowed",
				"spec.securityContext.windowsOptions.hostProcess",
				"Pod/ns/p: pod-level hostProcess is true, but HostProcess containers are not allowed",
			),
		},
	},
	"malformed user and image": {
		"object": pod({"containers": [{"name": "a", "image": 1, "securityContext": {"windowsOptions": {"runAsUserName": 2}}}]}),
		"parameters": {},
		"want": {
			result.violation("hostprocess.malformed", "spec.containers[0].image", "Pod/ns/p: spec.containers[0].image must be a string, got number"),
			result.violation(
				"hostprocess.malformed",
				"spec.containers[0].securityContext.windowsOptions.runAsUserName",
				"Pod/ns/p: spec.containers[0].securityContext.windowsOptions.runAsUserName must be a string, got number",
			),
		},
	},
	"wrong types this rule does not read are not its to report": {
		"object": pod({"nodeSelector": "windows", "volumes": "x", "containers": [{"name": "a"}]}),
		"parameters": {},
		"want": set(),
	},
	"other kinds": {
		"object": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "spec": {"containers": [{"securityContext": hp}]}},
		"parameters": {},
		"want": set(),
	},
}

test_violation[name] if {
	some name, tc in cases
	hostprocess.violation == tc.want with input as {"review": {"object": tc.object}, "parameters": tc.parameters}
}

test_violation_without_parameters if {
	hostprocess.violation == {result.violation(
		"hostprocess.not-allowed",
		"spec.containers[0].securityContext.windowsOptions.hostProcess",
		`Pod/ns/p: container "a" is a HostProcess container (hostProcess true), but HostProcess containers are not allowed`,
	)} with input as {"review": {"object": pod({"containers": [{"name": "a", "securityContext": hp}]})}}
}

# The decision API reads findings under the pod view it builds: the same set.
test_findings_are_the_violation_set[name] if {
	some name, tc in cases
	findings_of(tc.object, tc.parameters) == tc.want
}

# No pod view (not a governed kind): the decision API reads no findings.
findings_of(obj, parameters) := findings if {
	pod := pods.pod({"object": obj})
	findings := hostprocess.findings.x with input as {"cases": {"hostprocess": {"x": {"pod": pod, "parameters": parameters}}}}
} else := set()

test_no_pod_view_no_violation if {
	count(hostprocess.violation) == 0 with input as {"review": {}, "parameters": {}}
}

inherit_user_field := `metadata.annotations["microsoft.com/hostprocess-inherit-user"]`

inherit_user(shown) := {result.violation(
	"hostprocess.inherit-user",
	inherit_user_field,
	sprintf("Pod/ns/p: annotation microsoft.com/hostprocess-inherit-user is %s, which runs HostProcess containers as SYSTEM whatever runAsUserName says", [shown]),
)}

annotated(annotations) := object.union(pod(good), {"metadata": {"annotations": annotations}})

# hcsshim gives a HostProcess container with this annotation the shim's own
# token; only the string "false" leaves it off.
inherit_user_cases := {
	"true": {"object": annotated({"microsoft.com/hostprocess-inherit-user": "true"}), "want": inherit_user(`"true"`)},
	"TRUE": {"object": annotated({"microsoft.com/hostprocess-inherit-user": "TRUE"}), "want": inherit_user(`"TRUE"`)},
	"empty": {"object": annotated({"microsoft.com/hostprocess-inherit-user": ""}), "want": inherit_user(`""`)},
	"not a string": {"object": annotated({"microsoft.com/hostprocess-inherit-user": true}), "want": inherit_user("true")},
	"false": {"object": annotated({"microsoft.com/hostprocess-inherit-user": "false"}), "want": set()},
	"other annotations": {"object": annotated({"microsoft.com/hostprocess-rootfs": "x"}), "want": set()},
	"annotations not a mapping": {"object": annotated(["microsoft.com/hostprocess-inherit-user"]), "want": {result.violation(
		"hostprocess.inherit-user",
		inherit_user_field,
		`Pod/ns/p: annotation microsoft.com/hostprocess-inherit-user is ["microsoft.com/hostprocess-inherit-user"], which runs HostProcess containers as SYSTEM whatever runAsUserName says`,
	)}},
	"on a Deployment's pod template": {
		"object": {"kind": "Deployment", "metadata": {"name": "p", "namespace": "ns"}, "spec": {"template": {
			"metadata": {"annotations": {"microsoft.com/hostprocess-inherit-user": "1"}},
			"spec": good,
		}}},
		"want": {result.violation(
			"hostprocess.inherit-user",
			`spec.template.metadata.annotations["microsoft.com/hostprocess-inherit-user"]`,
			`Deployment/ns/p: annotation microsoft.com/hostprocess-inherit-user is "1", which runs HostProcess containers as SYSTEM whatever runAsUserName says`,
		)},
	},
	"on a CronJob's pod template": {
		"object": {"kind": "CronJob", "metadata": {"name": "p", "namespace": "ns"}, "spec": {"jobTemplate": {"spec": {"template": {
			"metadata": {"annotations": {"microsoft.com/hostprocess-inherit-user": "yes"}},
			"spec": good,
		}}}}},
		"want": {result.violation(
			"hostprocess.inherit-user",
			`spec.jobTemplate.spec.template.metadata.annotations["microsoft.com/hostprocess-inherit-user"]`,
			`CronJob/ns/p: annotation microsoft.com/hostprocess-inherit-user is "yes", which runs HostProcess containers as SYSTEM whatever runAsUserName says`,
		)},
	},
	"no HostProcess container": {
		"object": object.union(pod({"containers": [{"name": "a", "image": "x"}]}), {"metadata": {"annotations": {"microsoft.com/hostprocess-inherit-user": "true"}}}),
		"want": set(),
	},
}

test_inherit_user[name] if {
	some name, tc in inherit_user_cases
	hostprocess.violation == tc.want with input as {"review": {"object": tc.object}, "parameters": allowed}
}

# DOMAIN\* never allows an admin account, and admin spellings are admin.
test_domain_wildcard_never_allows_an_admin[user] if {
	some user in [`NT AUTHORITY\SYSTEM`, `NT AUTHORITY\ſystem`, `NT AUTHORITY\LocalSystem.`]
	obj := pod(object.union(good, {"securityContext": hp_as(user)}))
	{v.details.code | some v in hostprocess.violation} == {"hostprocess.user"} with input as {"review": {"object": obj}, "parameters": {"allowHostProcess": true, "allowedUserNames": [`NT AUTHORITY\*`]}}
}

test_domain_wildcard_allows_a_service_account if {
	obj := pod(object.union(good, {"securityContext": hp_as(`nt authority\network service`)}))
	hostprocess.violation == set() with input as {"review": {"object": obj}, "parameters": {"allowHostProcess": true, "allowedUserNames": [`NT AUTHORITY\*`]}}
}

test_operations[operation] if {
	some operation, want in {"DELETE": set(), "CONNECT": set(), "UPDATE": {"hostprocess.not-allowed"}, "CREATE": {"hostprocess.not-allowed"}}
	review := {"object": pod({"containers": [{"name": "a", "securityContext": hp}]}), "operation": operation}
	{v.details.code | some v in hostprocess.violation} == want with input as {"review": review, "parameters": {}}
}
