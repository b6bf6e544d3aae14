package winpod.rules.users_test

import data.lib.winpod.pods
import data.lib.winpod.result
import data.winpod.rules.users

pod(spec) := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": spec}

windows(spec) := pod(object.union({"os": {"name": "windows"}}, spec))

as_user(user) := {"windowsOptions": {"runAsUserName": user}}

servercore := "mcr.microsoft.com/windows/servercore:ltsc2022"

nanoserver := "mcr.microsoft.com/windows/nanoserver:ltsc2022"

cases := {
	"unmarked pod with a Linux image": {
		"object": pod({"containers": [{"name": "a", "image": "nginx:1.27"}]}),
		"parameters": {},
		"want": set(),
	},
	"declared-Linux pod with a servercore image": {
		"object": pod({"os": {"name": "linux"}, "containers": [{"name": "a", "image": servercore}]}),
		"parameters": {},
		"want": set(),
	},
	"a servercore image alone makes a Windows pod": {
		"object": pod({"containers": [{"name": "a", "image": servercore}]}),
		"parameters": {},
		"want": {result.violation(
			"users.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			concat("", [
				`Pod/ns/p: container "a" sets no runAsUserName and image "mcr.microsoft.com/windows/servercore:ltsc2022" is not in nonAdminImages, `,
				`so it presumably runs as ContainerAdministrator, which is not in allowedUserNames ["ContainerUser"]`,
			]),
		)},
	},
	"assumeWindows: an unmarked pod is a Windows pod": {
		"object": pod({"containers": [{"name": "a", "image": "nginx:1.27", "securityContext": {}}]}),
		"parameters": {"assumeWindows": true},
		"want": {result.violation(
			"users.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			concat("", [
				`Pod/ns/p: container "a" sets no runAsUserName and image "nginx:1.27" is not in nonAdminImages, `,
				`so it presumably runs as ContainerAdministrator, which is not in allowedUserNames ["ContainerUser"]`,
			]),
		)},
	},
	"assumeWindows: a declared-Linux pod is not": {
		"object": pod({"nodeSelector": {"kubernetes.io/os": "linux"}, "containers": [{"name": "a", "image": "nginx:1.27"}]}),
		"parameters": {"assumeWindows": true},
		"want": set(),
	},
	"a windows toleration makes a Windows pod": {
		"object": pod({"tolerations": [{"key": "os", "value": "windows", "effect": "NoSchedule"}], "containers": [{"name": "a", "image": "app:1", "securityContext": as_user(`NT AUTHORITY\SYSTEM`)}]}),
		"parameters": {},
		"want": {result.violation(
			"users.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" runs as "NT AUTHORITY\SYSTEM", which is not in allowedUserNames ["ContainerUser"]`,
		)},
	},
	"DOMAIN wildcard never allows an admin": {
		"object": windows({"containers": [{"name": "a", "image": servercore, "securityContext": as_user(`CONTOSO\ContainerAdministrator`)}]}),
		"parameters": {"allowedUserNames": [`CONTOSO\*`]},
		"want": {result.violation(
			"users.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" runs as "CONTOSO\ContainerAdministrator", which is not in allowedUserNames ["CONTOSO\*"]`,
		)},
	},
	"DOMAIN wildcard allows the domain's users": {
		"object": windows({"containers": [{"name": "a", "image": servercore, "securityContext": as_user(`contoso\alice`)}]}),
		"parameters": {"allowedUserNames": [`CONTOSO\*`]},
		"want": set(),
	},
	"an exact admin entry allows that account": {
		"object": windows({"containers": [{"name": "a", "image": servercore}]}),
		"parameters": {"allowedUserNames": ["containeradministrator"]},
		"want": set(),
	},
	"ContainerUser": {
		"object": windows({"containers": [{"name": "a", "image": servercore, "securityContext": as_user("ContainerUser")}]}),
		"parameters": {},
		"want": set(),
	},
	"ContainerUser in any case, from the pod": {
		"object": windows({"securityContext": as_user("containeruser"), "containers": [{"name": "a", "image": servercore}]}),
		"parameters": {},
		"want": set(),
	},
	"ContainerAdministrator": {
		"object": windows({"containers": [{"name": "a", "image": servercore, "securityContext": as_user("ContainerAdministrator")}]}),
		"parameters": {},
		"want": {result.violation(
			"users.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" runs as "ContainerAdministrator", which is not in allowedUserNames ["ContainerUser"]`,
		)},
	},
	"container overrides the pod": {
		"object": windows({
			"securityContext": as_user("ContainerUser"),
			"initContainers": [{"name": "i", "image": servercore, "securityContext": as_user(`NT AUTHORITY\SYSTEM`)}],
			"containers": [{"name": "a", "image": servercore}],
		}),
		"parameters": {},
		"want": {result.violation(
			"users.not-allowed",
			"spec.initContainers[0].securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: initContainer "i" runs as "NT AUTHORITY\SYSTEM", which is not in allowedUserNames ["ContainerUser"]`,
		)},
	},
	"pod-level user not allowed": {
		"object": windows({"securityContext": as_user("bob"), "containers": [{"name": "a", "image": servercore}]}),
		"parameters": {},
		"want": {result.violation(
			"users.not-allowed",
			"spec.securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" runs as "bob", which is not in allowedUserNames ["ContainerUser"]`,
		)},
	},
	"no user: presumed ContainerAdministrator": {
		"object": windows({"containers": [{"name": "a", "image": servercore}]}),
		"parameters": {},
		"want": {result.violation(
			"users.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			concat("", [
				`Pod/ns/p: container "a" sets no runAsUserName and image "mcr.microsoft.com/windows/servercore:ltsc2022" is not in nonAdminImages, `,
				`so it presumably runs as ContainerAdministrator, which is not in allowedUserNames ["ContainerUser"]`,
			]),
		)},
	},
	"no user: nanoserver runs as ContainerUser": {
		"object": windows({"containers": [{"name": "a", "image": nanoserver}]}),
		"parameters": {},
		"want": set(),
	},
	"no user: the image repository is anchored": {
		"object": windows({"containers": [{"name": "a", "image": "evil.io/mcr.microsoft.com/windows/nanoserver"}]}),
		"parameters": {},
		"want": {result.violation(
			"users.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			concat("", [
				`Pod/ns/p: container "a" sets no runAsUserName and image "evil.io/mcr.microsoft.com/windows/nanoserver" is not in nonAdminImages, `,
				`so it presumably runs as ContainerAdministrator, which is not in allowedUserNames ["ContainerUser"]`,
			]),
		)},
	},
	# v2: the kubelet refuses only an image whose config names
	# ContainerAdministrator; servercore leaves it empty (kubernetes#112469).
	"no user: runAsNonRoot is no excuse": {
		"object": windows({"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "a", "image": servercore}]}),
		"parameters": {},
		"want": {result.violation(
			"users.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			concat("", [
				`Pod/ns/p: container "a" sets no runAsUserName and image "mcr.microsoft.com/windows/servercore:ltsc2022" is not in nonAdminImages, `,
				`so it presumably runs as ContainerAdministrator, which is not in allowedUserNames ["ContainerUser"]`,
			]),
		)},
	},
	"no user: a container's runAsNonRoot true is no excuse either": {
		"object": windows({"containers": [{"name": "a", "image": servercore, "securityContext": {"runAsNonRoot": true}}]}),
		"parameters": {},
		"want": {result.violation(
			"users.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			concat("", [
				`Pod/ns/p: container "a" sets no runAsUserName and image "mcr.microsoft.com/windows/servercore:ltsc2022" is not in nonAdminImages, `,
				`so it presumably runs as ContainerAdministrator, which is not in allowedUserNames ["ContainerUser"]`,
			]),
		)},
	},
	"no user: runAsNonRoot does not excuse a named user": {
		"object": windows({"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "a", "image": servercore, "securityContext": as_user("ContainerAdministrator")}]}),
		"parameters": {},
		"want": {result.violation(
			"users.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" runs as "ContainerAdministrator", which is not in allowedUserNames ["ContainerUser"]`,
		)},
	},
	"no user: nonAdminImages glob": {
		"object": windows({"containers": [{"name": "a", "image": "corp.io/base/app@sha256:0123"}]}),
		"parameters": {"nonAdminImages": ["corp.io/base/*"]},
		"want": set(),
	},
	"no user: ContainerUser not allowed": {
		"object": windows({"containers": [{"name": "a", "image": nanoserver}]}),
		"parameters": {"allowedUserNames": [`CONTOSO\*`]},
		"want": {result.violation(
			"users.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" sets no runAsUserName, so it runs as its image's default user ContainerUser, which is not in allowedUserNames ["CONTOSO\*"]`,
		)},
	},
	"domain wildcard": {
		"object": windows({"containers": [{"name": "a", "image": servercore, "securityContext": as_user(`contoso\gmsa`)}]}),
		"parameters": {"allowedUserNames": [`CONTOSO\*`]},
		"want": set(),
	},
	"domain wildcard is exact": {
		"object": windows({"containers": [{"name": "a", "image": servercore, "securityContext": as_user(`CONTOSOEVIL\bob`)}]}),
		"parameters": {"allowedUserNames": [`CONTOSO\*`]},
		"want": {result.violation(
			"users.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" runs as "CONTOSOEVIL\bob", which is not in allowedUserNames ["CONTOSO\*"]`,
		)},
	},
	"allowedUserNames of the wrong type allows no one": {
		"object": windows({"containers": [{"name": "a", "image": servercore, "securityContext": as_user("ContainerUser")}]}),
		"parameters": {"allowedUserNames": "ContainerUser"},
		"want": {result.violation(
			"users.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" runs as "ContainerUser", which is not in allowedUserNames []`,
		)},
	},
	"nonAdminImages of the wrong type: no image is presumed non-admin": {
		"object": windows({"containers": [{"name": "a", "image": nanoserver}]}),
		"parameters": {"nonAdminImages": "mcr.microsoft.com/windows/nanoserver"},
		"want": {result.violation(
			"users.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			concat("", [
				`Pod/ns/p: container "a" sets no runAsUserName and image "mcr.microsoft.com/windows/nanoserver:ltsc2022" is not in nonAdminImages, `,
				`so it presumably runs as ContainerAdministrator, which is not in allowedUserNames ["ContainerUser"]`,
			]),
		)},
	},
	"HostProcess containers are the hostprocess rule's": {
		"object": windows({
			"securityContext": {"windowsOptions": {"hostProcess": true, "runAsUserName": `NT AUTHORITY\SYSTEM`}},
			"containers": [{"name": "a", "image": servercore}],
		}),
		"parameters": {},
		"want": set(),
	},
	"Windows by windowsOptions alone": {
		"object": pod({"containers": [{"name": "a", "image": servercore, "securityContext": as_user("ContainerAdministrator")}]}),
		"parameters": {},
		"want": {result.violation(
			"users.not-allowed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" runs as "ContainerAdministrator", which is not in allowedUserNames ["ContainerUser"]`,
		)},
	},
	"Windows by node selector, in a Deployment": {
		"object": {
			"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"},
			"spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/os": "windows"}, "containers": [{"name": "a", "image": servercore}]}}},
		},
		"parameters": {},
		"want": {result.violation(
			"users.not-allowed",
			"spec.template.spec.containers[0].securityContext.windowsOptions.runAsUserName",
			concat("", [
				`Deployment/ns/d: container "a" sets no runAsUserName and image "mcr.microsoft.com/windows/servercore:ltsc2022" is not in nonAdminImages, `,
				`so it presumably runs as ContainerAdministrator, which is not in allowedUserNames ["ContainerUser"]`,
			]),
		)},
	},
	"malformed node selector": {
		"object": pod({"nodeSelector": {"kubernetes.io/os": ["windows"]}, "containers": [{"name": "a", "image": "nginx:1.27"}]}),
		"parameters": {},
		"want": {result.violation(
			"users.malformed",
			`spec.nodeSelector["kubernetes.io/os"]`,
			`Pod/ns/p: spec.nodeSelector["kubernetes.io/os"] must be a string, got array`,
		)},
	},
	"malformed user": {
		"object": windows({"containers": [{"name": "a", "image": servercore, "securityContext": as_user(5)}]}),
		"parameters": {},
		"want": {result.violation(
			"users.malformed",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			"Pod/ns/p: spec.containers[0].securityContext.windowsOptions.runAsUserName must be a string, got number",
		)},
	},
	"wrong types this rule does not read are not its to report": {
		"object": pod({"volumes": {}, "containers": [{"name": "a", "volumeMounts": "x"}]}),
		"parameters": {},
		"want": set(),
	},
}

test_violation[name] if {
	some name, tc in cases
	users.violation == tc.want with input as {"review": {"object": tc.object}, "parameters": tc.parameters}
}

# The decision API reads findings under the pod view it builds: the same set.
test_findings_are_the_violation_set[name] if {
	some name, tc in cases
	findings_of(tc.object, tc.parameters) == tc.want
}

# No pod view (not a governed kind): the decision API reads no findings.
findings_of(obj, parameters) := findings if {
	pod := pods.pod({"object": obj})
	findings := users.findings.x with input as {"cases": {"users": {"x": {"pod": pod, "parameters": parameters}}}}
} else := set()

test_no_pod_view_no_violation if {
	count(users.violation) == 0 with input as {"review": {"object": "x"}, "parameters": {}}
}
