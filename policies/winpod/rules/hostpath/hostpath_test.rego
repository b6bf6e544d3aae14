package winpod.rules.hostpath_test

import data.lib.winpod.pods
import data.lib.winpod.result
import data.winpod.rules.hostpath

pod(spec) := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": spec}

# A Windows pod whose container "a" runs as ContainerUser and mounts volume "h" at hostPath path.
mounting(path, mount) := pod({
	"os": {"name": "windows"},
	"securityContext": {"windowsOptions": {"runAsUserName": "ContainerUser"}},
	"containers": [{"name": "a", "image": "mcr.microsoft.com/windows/servercore:ltsc2022", "volumeMounts": [object.union({"name": "h", "mountPath": `C:\h`}, mount)]}],
	"volumes": [{"name": "h", "hostPath": {"path": path}}],
})

# The allowlist of issue 3.
issue_allowlist := {"allowedHostPaths": [{"pathPrefix": `C:\allowed`, "readOnly": true}, {"pathPrefix": `\\.\pipe\csi-proxy-*`}]}

not_allowed(path) := {result.violation(
	"hostpath.not-allowed",
	"spec.volumes[0].hostPath.path",
	sprintf(`Pod/ns/p: hostPath volume "h" path "%s" is not in allowedHostPaths`, [path]),
)}

never(path, reason) := {result.violation(
	"hostpath.not-allowed",
	"spec.volumes[0].hostPath.path",
	sprintf(`Pod/ns/p: hostPath volume "h" path "%s" is never allowed: %s`, [path, reason]),
)}

read_only := {"readOnly": true}

cases := {
	"no hostPath": {
		"object": pod({"containers": [{"name": "a"}], "volumes": [{"name": "e", "emptyDir": {}}]}),
		"parameters": {},
		"want": set(),
	},
	"every hostPath denied by default, Linux pods too": {
		"object": pod({
			"containers": [{"name": "a", "volumeMounts": [{"name": "h", "mountPath": "/h"}]}],
			"volumes": [{"name": "e", "emptyDir": {}}, {"name": "h", "hostPath": {"path": "/a"}}],
		}),
		"parameters": {},
		"want": {result.violation(
			"hostpath.not-allowed",
			"spec.volumes[1].hostPath.path",
			`Pod/ns/p: hostPath volume "h" path "/a" is not in allowedHostPaths`,
		)},
	},
	"allowedHostPaths of the wrong type allows nothing": {
		"object": mounting(`C:\allowed\logs`, read_only),
		"parameters": {"allowedHostPaths": {"pathPrefix": `C:\allowed`}},
		"want": not_allowed(`C:\allowed\logs`),
	},
	"entries that are not objects or have no string prefix allow nothing": {
		"object": mounting(`C:\allowed\logs`, read_only),
		"parameters": {"allowedHostPaths": [`C:\allowed`, {"pathPrefix": 1}, {"readOnly": false}]},
		"want": not_allowed(`C:\allowed\logs`),
	},
	# The issue's attacks, each denied under its allowlist.
	"attack: dot-dot after forward slashes": {
		"object": mounting(`C:/allowed/..\Windows`, read_only),
		"parameters": issue_allowlist,
		"want": never(`C:/allowed/..\Windows`, `it has a ".." segment`),
	},
	"attack: no segment boundary": {
		"object": mounting(`C:\allowedevil`, read_only),
		"parameters": issue_allowlist,
		"want": not_allowed(`C:\allowedevil`),
	},
	"attack: docker pipe": {
		"object": mounting(`\\.\pipe\docker_engine`, read_only),
		"parameters": issue_allowlist,
		"want": not_allowed(`\\.\pipe\docker_engine`),
	},
	"attack: docker pipe with forward slashes": {
		"object": mounting("//./pipe/docker_engine", read_only),
		"parameters": issue_allowlist,
		"want": not_allowed("//./pipe/docker_engine"),
	},
	"attack: long path prefix": {
		"object": mounting(`\\?\C:\allowed\x`, read_only),
		"parameters": issue_allowlist,
		"want": never(`\\?\C:\allowed\x`, `it is a \\?\ path`),
	},
	"attack: UNC": {
		"object": mounting(`\\server\share`, read_only),
		"parameters": issue_allowlist,
		"want": never(`\\server\share`, `it is a UNC path (\\server\share)`),
	},
	"attack: alternate data stream": {
		"object": mounting(`C:\allowed\x:stream`, read_only),
		"parameters": issue_allowlist,
		"want": never(`C:\allowed\x:stream`, `it has a ":" after the drive letter (an alternate data stream or device)`),
	},
	# The issue's allowed paths.
	"allowed: case-insensitive": {
		"object": mounting(`c:\ALLOWED\logs`, read_only),
		"parameters": issue_allowlist,
		"want": set(),
	},
	"allowed: forward slashes and trailing separator": {
		"object": mounting("C:/allowed/logs/", read_only),
		"parameters": issue_allowlist,
		"want": set(),
	},
	"allowed: csi-proxy pipe, writable since its entry is not readOnly": {
		"object": mounting(`\\.\pipe\csi-proxy-filesystem-v1`, {}),
		"parameters": issue_allowlist,
		"want": set(),
	},
	"read-only entry, writable mount": {
		"object": mounting(`C:\allowed\logs`, {}),
		"parameters": issue_allowlist,
		"want": {result.violation(
			"hostpath.writable",
			"spec.containers[0].volumeMounts[0].readOnly",
			`Pod/ns/p: hostPath volume "h" path "C:\allowed\logs" is allowed read-only only, but container "a" mounts it writable`,
		)},
	},
	"read-only entry, readOnly mount as a string": {
		"object": mounting(`C:\allowed\logs`, {"readOnly": "true"}),
		"parameters": issue_allowlist,
		"want": {result.violation(
			"hostpath.writable",
			"spec.containers[0].volumeMounts[0].readOnly",
			`Pod/ns/p: hostPath volume "h" path "C:\allowed\logs" is allowed read-only only, but container "a" mounts it writable`,
		)},
	},
	"read-only entry: every mount in every container": {
		"object": pod({
			"os": {"name": "windows"},
			"securityContext": {"windowsOptions": {"runAsUserName": "ContainerUser"}},
			"initContainers": [{"name": "i", "volumeMounts": [{"name": "other"}, {"name": "h"}]}],
			"containers": [{"name": "a", "volumeMounts": [{"name": "h", "readOnly": true}]}],
			"volumes": [{"name": "h", "hostPath": {"path": `C:\allowed`}}],
		}),
		"parameters": issue_allowlist,
		"want": {result.violation(
			"hostpath.writable",
			"spec.initContainers[0].volumeMounts[1].readOnly",
			`Pod/ns/p: hostPath volume "h" path "C:\allowed" is allowed read-only only, but initContainer "i" mounts it writable`,
		)},
	},
	"a writable entry next to a read-only one allows writes": {
		"object": mounting(`C:\allowed\logs`, {}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": `C:\allowed`, "readOnly": true}, {"pathPrefix": `C:\allowed\logs`, "readOnly": false}]},
		"want": set(),
	},
	"readOnly of the wrong type asks for read-only": {
		"object": mounting(`C:\allowed\logs`, {}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": `C:\allowed`, "readOnly": "false"}]},
		"want": {result.violation(
			"hostpath.writable",
			"spec.containers[0].volumeMounts[0].readOnly",
			`Pod/ns/p: hostPath volume "h" path "C:\allowed\logs" is allowed read-only only, but container "a" mounts it writable`,
		)},
	},
	"POSIX entry on a Linux pod": {
		"object": pod({"containers": [{"name": "a", "volumeMounts": [{"name": "h"}]}], "volumes": [{"name": "h", "hostPath": {"path": "/var/log/pods"}}]}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": "/var/log"}]},
		"want": set(),
	},
	"POSIX entry is case-sensitive": {
		"object": pod({"containers": [{"name": "a", "volumeMounts": [{"name": "h"}]}], "volumes": [{"name": "h", "hostPath": {"path": "/VAR/log"}}]}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": "/var/log"}]},
		"want": {result.violation(
			"hostpath.not-allowed",
			"spec.volumes[0].hostPath.path",
			`Pod/ns/p: hostPath volume "h" path "/VAR/log" is not in allowedHostPaths`,
		)},
	},
	"admin user mounting an allowed path": {
		"object": pod({
			"os": {"name": "windows"},
			"containers": [{"name": "a", "image": "x", "securityContext": {"windowsOptions": {"runAsUserName": "containeradministrator"}}, "volumeMounts": [{"name": "h"}]}],
			"volumes": [{"name": "h", "hostPath": {"path": `\\.\pipe\csi-proxy-v1`}}],
		}),
		"parameters": issue_allowlist,
		"want": {result.violation(
			"hostpath.admin-user",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" runs as admin account containeradministrator and mounts hostPath volume "h"`,
		)},
	},
	"presumed admin mounting an allowed path": {
		"object": pod({
			"os": {"name": "windows"},
			"containers": [{"name": "a", "image": "mcr.microsoft.com/windows/servercore:ltsc2022", "volumeMounts": [{"name": "h"}]}],
			"volumes": [{"name": "h", "hostPath": {"path": `\\.\pipe\csi-proxy-v1`}}],
		}),
		"parameters": issue_allowlist,
		"want": {result.violation(
			"hostpath.admin-user",
			"spec.containers[0].image",
			`Pod/ns/p: container "a" runs as admin account ContainerAdministrator (presumed: no runAsUserName and an image not in nonAdminImages) and mounts hostPath volume "h"`,
		)},
	},
	"admin user mounting a denied path: both": {
		"object": pod({
			"containers": [{"name": "a", "securityContext": {"windowsOptions": {"runAsUserName": `NT AUTHORITY\SYSTEM`}}, "volumeMounts": [{"name": "h"}]}],
			"volumes": [{"name": "h", "hostPath": {"path": `C:\Windows`}}],
		}),
		"parameters": {},
		"want": {
			result.violation(
				"hostpath.not-allowed",
				"spec.volumes[0].hostPath.path",
				`Pod/ns/p: hostPath volume "h" path "C:\Windows" is not in allowedHostPaths`,
			),
			result.violation(
				"hostpath.admin-user",
				"spec.containers[0].securityContext.windowsOptions.runAsUserName",
				`Pod/ns/p: container "a" runs as admin account NT AUTHORITY\SYSTEM and mounts hostPath volume "h"`,
			),
		},
	},
	"admin container not mounting the volume": {
		"object": pod({
			"os": {"name": "windows"},
			"containers": [
				{"name": "a", "image": "mcr.microsoft.com/windows/nanoserver:1", "volumeMounts": [{"name": "h"}]},
				{"name": "b", "image": "x", "securityContext": {"windowsOptions": {"runAsUserName": "ContainerAdministrator"}}},
			],
			"volumes": [{"name": "h", "hostPath": {"path": `\\.\pipe\csi-proxy-v1`}}],
		}),
		"parameters": issue_allowlist,
		"want": set(),
	},
	"runAsNonRoot is no excuse for a presumed admin": {
		"object": pod({
			"os": {"name": "windows"},
			"securityContext": {"runAsNonRoot": true},
			"containers": [{"name": "a", "image": "x", "volumeMounts": [{"name": "h"}]}],
			"volumes": [{"name": "h", "hostPath": {"path": `\\.\pipe\csi-proxy-v1`}}],
		}),
		"parameters": issue_allowlist,
		"want": {result.violation(
			"hostpath.admin-user",
			"spec.containers[0].image",
			`Pod/ns/p: container "a" runs as admin account ContainerAdministrator (presumed: no runAsUserName and an image not in nonAdminImages) and mounts hostPath volume "h"`,
		)},
	},
	"Linux pods have no presumed admin": {
		"object": pod({"containers": [{"name": "a", "image": "x", "volumeMounts": [{"name": "h"}]}], "volumes": [{"name": "h", "hostPath": {"path": "/var/log"}}]}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": "/var/log"}]},
		"want": set(),
	},
	"denyAdminUsers false": {
		"object": pod({
			"os": {"name": "windows"},
			"containers": [{"name": "a", "image": "x", "volumeMounts": [{"name": "h"}]}],
			"volumes": [{"name": "h", "hostPath": {"path": `\\.\pipe\csi-proxy-v1`}}],
		}),
		"parameters": object.union(issue_allowlist, {"denyAdminUsers": false}),
		"want": set(),
	},
	"denyAdminUsers must be the boolean false": {
		"object": pod({
			"os": {"name": "windows"},
			"containers": [{"name": "a", "image": "x", "securityContext": {"windowsOptions": {"runAsUserName": "ContainerAdministrator"}}, "volumeMounts": [{"name": "h"}]}],
			"volumes": [{"name": "h", "hostPath": {"path": `\\.\pipe\csi-proxy-v1`}}],
		}),
		"parameters": object.union(issue_allowlist, {"denyAdminUsers": "false"}),
		"want": {result.violation(
			"hostpath.admin-user",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" runs as admin account ContainerAdministrator and mounts hostPath volume "h"`,
		)},
	},
	"HostProcess containers are the hostprocess rule's": {
		"object": pod({
			"securityContext": {"windowsOptions": {"hostProcess": true, "runAsUserName": `NT AUTHORITY\SYSTEM`}},
			"containers": [{"name": "a", "image": "x", "volumeMounts": [{"name": "h"}]}],
			"volumes": [{"name": "h", "hostPath": {"path": `\\.\pipe\csi-proxy-v1`}}],
		}),
		"parameters": issue_allowlist,
		"want": set(),
	},
	"field paths in a StatefulSet": {
		"object": {
			"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s", "namespace": "ns"},
			"spec": {"template": {"spec": {"volumes": [{"name": "e", "emptyDir": {}}, {"name": "h", "hostPath": {"path": `\\.\pipe\docker_engine`}}]}}},
		},
		"parameters": issue_allowlist,
		"want": {result.violation(
			"hostpath.not-allowed",
			"spec.template.spec.volumes[1].hostPath.path",
			`StatefulSet/ns/s: hostPath volume "h" path "\\.\pipe\docker_engine" is not in allowedHostPaths`,
		)},
	},
	"malformed volumes": {
		"object": pod({"containers": [{"name": "a", "volumeMounts": "h"}], "volumes": "h"}),
		"parameters": {},
		"want": {
			result.violation("hostpath.malformed", "spec.volumes", "Pod/ns/p: spec.volumes must be an array, got string"),
			result.violation("hostpath.malformed", "spec.containers[0].volumeMounts", "Pod/ns/p: spec.containers[0].volumeMounts must be an array, got string"),
		},
	},
	"malformed hostPath path": {
		"object": pod({"volumes": [{"name": "h", "hostPath": {"path": 1}}, {"name": "g", "hostPath": {}}]}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": "/"}]},
		"want": {
			result.violation("hostpath.malformed", "spec.volumes[0].hostPath.path", "Pod/ns/p: spec.volumes[0].hostPath.path must be a string, got number"),
			result.violation("hostpath.malformed", "spec.volumes[1].hostPath.path", "Pod/ns/p: spec.volumes[1].hostPath.path must be a string, got null"),
		},
	},
	"malformed mount names": {
		"object": mounting(`C:\allowed`, {"name": ["h"]}),
		"parameters": issue_allowlist,
		"want": {result.violation(
			"hostpath.malformed",
			"spec.containers[0].volumeMounts[0].name",
			"Pod/ns/p: spec.containers[0].volumeMounts[0].name must be a string, got array",
		)},
	},
	"malformed OS fields decide the path semantics": {
		"object": pod({"os": "windows", "volumes": [{"name": "h", "hostPath": {"path": "/allowed"}}]}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": "/allowed"}]},
		"want": {result.violation("hostpath.malformed", "spec.os", "Pod/ns/p: spec.os must be an object, got string")},
	},
}

test_violation[name] if {
	some name, tc in cases
	hostpath.violation == tc.want with input as {"review": {"object": tc.object}, "parameters": tc.parameters}
}

# The decision API reads findings under the pod view it builds: the same set.
test_findings_are_the_violation_set[name] if {
	some name, tc in cases
	findings_of(tc.object, tc.parameters) == tc.want
}

# No pod view (not a governed kind): the decision API reads no findings.
findings_of(obj, parameters) := findings if {
	pod := pods.pod({"object": obj})
	findings := hostpath.findings.x with input as {"cases": {"hostpath": {"x": {"pod": pod, "parameters": parameters}}}}
} else := set()

test_no_pod_view_no_violation if {
	count(hostpath.violation) == 0 with input as {"review": null, "parameters": {}}
}
