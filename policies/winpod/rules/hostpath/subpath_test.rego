package winpod.rules.hostpath_test

import data.lib.winpod.result
import data.winpod.rules.hostpath

# subPath (SPEC 2, v2): what a mount reaches is path + subPath.
sub_path_violation(sub_path, problem) := {result.violation(
	"hostpath.subpath",
	"spec.containers[0].volumeMounts[0].subPath",
	sprintf(`Pod/ns/p: container "a" mounts hostPath volume "h" path "C:\allowed" with subPath "%s", which %s`, [sub_path, problem]),
)}

data_allowlist := {"allowedHostPaths": [{"pathPrefix": `C:\allowed`}, {"pathPrefix": `C:\allowed\ro`, "readOnly": true}]}

sub_path_cases := {
	"inside the prefix": {"object": mounting(`C:\allowed`, {"subPath": `logs\app`}), "parameters": data_allowlist, "want": set()},
	"empty subPath": {"object": mounting(`C:\allowed`, {"subPath": ""}), "parameters": data_allowlist, "want": set()},
	"dot-dot with backslashes": {
		"object": mounting(`C:\allowed`, {"subPath": `..\..\Windows`}),
		"parameters": data_allowlist,
		"want": sub_path_violation(`..\..\Windows`, `has a ".." segment`),
	},
	"dot-dot with slashes": {
		"object": mounting(`C:\allowed`, {"subPath": "x/../../Windows"}),
		"parameters": data_allowlist,
		"want": sub_path_violation("x/../../Windows", `has a ".." segment`),
	},
	"leading separator": {
		"object": mounting(`C:\allowed`, {"subPath": `\Windows`}),
		"parameters": data_allowlist,
		"want": sub_path_violation(`\Windows`, "starts with a separator"),
	},
	"colon": {
		"object": mounting(`C:\allowed`, {"subPath": "D:x"}),
		"parameters": data_allowlist,
		"want": sub_path_violation("D:x", `has a ":"`),
	},
	"a reserved device": {
		"object": mounting(`C:\allowed`, {"subPath": "nul"}),
		"parameters": data_allowlist,
		"want": sub_path_violation("nul", `reaches "C:\allowed\nul", never allowed: it names the reserved device nul`),
	},
	"into a read-only entry, writable": {
		"object": mounting(`C:\allowed`, {"subPath": "ro/x"}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": `C:\allowed\ro`, "readOnly": true}]},
		"want": (not_allowed(`C:\allowed`) | sub_path_violation("ro/x", `reaches "C:\allowed\ro/x", allowed read-only only, but the mount is writable`)),
	},
	"into a read-only entry, read-only": {
		"object": mounting(`C:\allowed`, {"subPath": "ro/x", "readOnly": true}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": `C:\allowed\ro`, "readOnly": true}]},
		"want": not_allowed(`C:\allowed`),
	},
	"a volume outside every entry, with a subPath": {
		"object": mounting(`C:\other`, {"subPath": "x"}),
		"parameters": data_allowlist,
		"want": (not_allowed(`C:\other`) | {result.violation(
			"hostpath.subpath",
			"spec.containers[0].volumeMounts[0].subPath",
			`Pod/ns/p: container "a" mounts hostPath volume "h" path "C:\other" with subPath "x", which reaches "C:\other\x", not in allowedHostPaths`,
		)}),
	},
	"a writable entry beside a read-only one allows it": {"object": mounting(`C:\allowed`, {"subPath": "ro/x"}), "parameters": data_allowlist, "want": set()},
	"a read-only entry and a writable subPath mount": {
		"object": mounting(`C:\allowed`, {"subPath": "x"}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": `C:\allowed`, "readOnly": true}, {"pathPrefix": `C:\other`}]},
		"want": ({result.violation(
			"hostpath.writable",
			"spec.containers[0].volumeMounts[0].readOnly",
			`Pod/ns/p: hostPath volume "h" path "C:\allowed" is allowed read-only only, but container "a" mounts it writable`,
		)} | sub_path_violation("x", `reaches "C:\allowed\x", allowed read-only only, but the mount is writable`)),
	},
	"inside one of several entries": {
		"object": mounting(`C:\allowed`, {"subPath": "x"}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": `C:\allowed`}, {"pathPrefix": `C:\allowed\y`}]},
		"want": set(),
	},
	"POSIX volume of a declared-Linux pod": {
		"object": pod({
			"os": {"name": "linux"},
			"containers": [{"name": "a", "image": "nginx", "volumeMounts": [{"name": "h", "subPath": "../etc"}]}],
			"volumes": [{"name": "h", "hostPath": {"path": "/var/log"}}],
		}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": "/var/log"}]},
		"want": {result.violation(
			"hostpath.subpath",
			"spec.containers[0].volumeMounts[0].subPath",
			`Pod/ns/p: container "a" mounts hostPath volume "h" path "/var/log" with subPath "../etc", which has a ".." segment`,
		)},
	},
	"POSIX subPath reaching outside the entry": {
		"object": pod({
			"os": {"name": "linux"},
			"containers": [{"name": "a", "image": "nginx", "volumeMounts": [{"name": "h", "subPath": "pods"}]}],
			"volumes": [{"name": "h", "hostPath": {"path": "/var/log/"}}],
		}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": "/var/log/pods/x"}, {"pathPrefix": "/var/log"}]},
		"want": set(),
	},
	"a subPath with $ on a Windows pod": {
		"object": mounting(`C:\allowed`, {"subPath": "$(Get-Date)"}),
		"parameters": data_allowlist,
		"want": {result.violation(
			"hostpath.subpath",
			"spec.containers[0].volumeMounts[0].subPath",
			`Pod/ns/p: container "a" mounts volume "h" with subPath "$(Get-Date)", which contains $ or a backtick, which the kubelet on Windows may expand (CVE-2023-3676)`,
		)},
	},
	"subPathExpr of an emptyDir on a Windows pod": {
		"object": pod({
			"os": {"name": "windows"},
			"containers": [{"name": "a", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022", "volumeMounts": [{"name": "e", "subPathExpr": "$(POD_NAME)"}]}],
			"volumes": [{"name": "e", "emptyDir": {}}],
		}),
		"parameters": {},
		"want": {result.violation(
			"hostpath.subpath",
			"spec.containers[0].volumeMounts[0].subPathExpr",
			`Pod/ns/p: container "a" mounts volume "e" with subPathExpr "$(POD_NAME)", which the kubelet expands from values unknown at admission`,
		)},
	},
	"a backtick in an emptyDir subPath on a pod Windows by its image": {
		"object": pod({
			"containers": [{"name": "a", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022", "volumeMounts": [{"name": "e", "subPath": "a`b"}]}],
			"volumes": [{"name": "e", "emptyDir": {}}],
		}),
		"parameters": {},
		"want": {result.violation(
			"hostpath.subpath",
			"spec.containers[0].volumeMounts[0].subPath",
			"Pod/ns/p: container \"a\" mounts volume \"e\" with subPath \"a`b\", which contains $ or a backtick, which the kubelet on Windows may expand (CVE-2023-3676)",
		)},
	},
	"subPathExpr on a declared-Linux pod": {
		"object": pod({
			"os": {"name": "linux"},
			"containers": [{"name": "a", "image": "nginx", "volumeMounts": [{"name": "e", "subPathExpr": "$(POD_NAME)"}]}],
			"volumes": [{"name": "e", "emptyDir": {}}],
		}),
		"parameters": {},
		"want": set(),
	},
	"malformed subPath": {
		"object": mounting(`C:\allowed`, {"subPath": 1}),
		"parameters": data_allowlist,
		"want": {result.violation(
			"hostpath.malformed",
			"spec.containers[0].volumeMounts[0].subPath",
			"Pod/ns/p: spec.containers[0].volumeMounts[0].subPath must be a string, got number",
		)},
	},
}

test_sub_paths[name] if {
	some name, tc in sub_path_cases
	hostpath.violation == tc.want with input as {"review": {"object": tc.object}, "parameters": tc.parameters}
}

# Windows path semantics and the presumed admin follow the Windows-pod signs,
# the parameters' included; a Linux declaration beats them.
os_cases := {
	"a leading // on a declared-Linux pod collapses": {
		"object": pod({"os": {"name": "linux"}, "volumes": [{"name": "h", "hostPath": {"path": "//var/log"}}]}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": "/var/log"}]},
		"want": set(),
	},
	"a leading // on an unmarked pod is refused": {
		"object": pod({"volumes": [{"name": "h", "hostPath": {"path": "//var/log"}}]}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": "/var/log"}]},
		"want": never("//var/log", "it starts with //, a UNC or device prefix on Windows"),
	},
	"windowsImages of one's own make Windows semantics": {
		"object": pod({"containers": [{"name": "a", "image": "corp.io/win/app:1", "securityContext": {"windowsOptions": null}}], "volumes": [{"name": "h", "hostPath": {"path": "/Allowed"}}]}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": `C:\allowed`}], "windowsImages": ["corp.io/win/*"]},
		"want": set(),
	},
	"assumeWindows makes Windows semantics and a presumed admin": {
		"object": pod({"containers": [{"name": "a", "image": "app:1", "volumeMounts": [{"name": "h"}]}], "volumes": [{"name": "h", "hostPath": {"path": "/Allowed"}}]}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": `C:\allowed`}], "assumeWindows": true},
		"want": {result.violation(
			"hostpath.admin-user",
			"spec.containers[0].image",
			`Pod/ns/p: container "a" runs as admin account ContainerAdministrator (presumed: no runAsUserName and an image not in nonAdminImages) and mounts hostPath volume "h"`,
		)},
	},
	"a named admin on a declared-Linux pod": {
		"object": pod({
			"os": {"name": "linux"},
			"containers": [{"name": "a", "image": "app:1", "securityContext": {"windowsOptions": {"runAsUserName": "SYSTEM"}}, "volumeMounts": [{"name": "h"}]}],
			"volumes": [{"name": "h", "hostPath": {"path": "/var/log"}}],
		}),
		"parameters": {"allowedHostPaths": [{"pathPrefix": "/var/log"}]},
		"want": {result.violation(
			"hostpath.admin-user",
			"spec.containers[0].securityContext.windowsOptions.runAsUserName",
			`Pod/ns/p: container "a" runs as admin account SYSTEM and mounts hostPath volume "h"`,
		)},
	},
	"an admin in another spelling": {
		"object": mounting(`\\.\pipe\csi-proxy-v1`, {}),
		"parameters": issue_allowlist,
		"want": set(),
	},
}

test_os[name] if {
	some name, tc in os_cases
	hostpath.violation == tc.want with input as {"review": {"object": tc.object}, "parameters": tc.parameters}
}

test_admin_spellings[user] if {
	some user in [`BUILTIN\Administrators`, `web\ContainerAdministrator`, "ContainerAdminiſtrator", `NT AUTHORITY\\SYSTEM`, "LocalSystem", "Administrator@corp"]
	obj := json.patch(mounting(`\\.\pipe\csi-proxy-v1`, {}), [{"op": "replace", "path": "/spec/securityContext/windowsOptions/runAsUserName", "value": user}])
	{v.details.code | some v in hostpath.violation} == {"hostpath.admin-user"} with input as {"review": {"object": obj}, "parameters": issue_allowlist}
}
