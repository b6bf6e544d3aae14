# METADATA
# title: Windows hostPath volumes
# description: >-
#   hostPath volumes reach host files and named pipes. A volume must match an
#   allowedHostPaths entry (Windows or POSIX path semantics, prefixes at a
#   segment boundary, pipes by name or name glob); an entry with readOnly true
#   needs every mount read-only; a subPath must stay inside what is allowed;
#   on a Windows pod no mount may need the kubelet to expand its subPath; and
#   with denyAdminUsers (default true) no non-HostProcess admin container may
#   mount one at all.
# custom:
#   id: hostpath
#   template: WinpodHostPath
#   codes:
#     hostpath.not-allowed: >-
#       a hostPath volume matched by no entry of `allowedHostPaths` (or a path
#       never allowed)
#     hostpath.writable: >-
#       matched only by `readOnly: true` entries and some mount of it is not
#       read-only
#     hostpath.admin-user: >-
#       `denyAdminUsers` and a non-HostProcess admin container mounts a
#       hostPath volume
#     hostpath.subpath: >-
#       a hostPath mount's `subPath` escapes (`..`, a leading separator, `:`)
#       or reaches a path no entry allows for that mount; on a Windows pod,
#       any `subPathExpr`, or a `subPath` with `$` or a backtick
#       (CVE-2023-3676)
#     hostpath.malformed: >-
#       the pod spec fields the rule reads have the wrong type (fail closed)
package winpod.rules.hostpath

import data.lib.winpod.params
import data.lib.winpod.paths
import data.lib.winpod.pods
import data.lib.winpod.result
import data.lib.winpod.rule
import data.lib.winpod.shapes
import data.lib.winpod.users
import data.lib.winpod.windows

# METADATA
# title: name
# description: The rule's name, its package's last part; its cases are input.cases[name].
name := "hostpath"

# METADATA
# title: violation
# description: Gatekeeper's entrypoint, the template's Rego (lib.winpod.rule).
violation contains v if some v in findings.review with input as rule.input_of(name, input)

# METADATA
# title: relevant
# description: >-
#   The keys of input.cases[name] whose findings may hold something: hostPath volumes, a mount whose
#   subPath the kubelet would expand on a pod that does not declare Linux,
#   or wrong-typed fields. Most pods have none: the decision API then
#   matches none of this rule's constraints.
relevant contains key if {
	some key, case in input.cases[name]
	_relevant(case.pod)
}

_relevant(pod) if count(pod.volumes) > 0

_relevant(pod) if {
	not pod.declares_linux
	count(pod.expanding_mounts) > 0
}

_relevant(pod) if count(pod.malformed) > 0

# METADATA
# title: findings
# description: >-
#   For each key of input.cases[name], the violations of its pod view under its
#   parameters.
findings[key] := union({
	rule.malformed("hostpath.malformed", shapes.categories, case.pod),
	_findings(case.pod, case.parameters),
}) if {
	some key, case in input.cases[name]
}

_findings(pod, p) := union({
	_not_allowed(pod, volumes),
	_writable(pod, volumes),
	_sub_paths(pod, volumes, pod_os),
	_expanding(pod, pod_os),
	_admin_users(pod, p, pod_os),
}) if {
	pod_os := _pod_os(pod, p)
	volumes := _checked_volumes(pod, p, pod_os)
}

# "windows" for a Windows pod under these parameters, "linux" for one that
# declares Linux, "" for any other (lib.winpod.paths).
_pod_os(pod, p) := "windows" if {
	windows.is_pod(pod, p)
} else := "linux" if {
	pod.declares_linux
} else := ""

# The hostPath volumes with a path, each with its normalised path and the
# allowedHostPaths entries that allow it: worked out once per volume.
_checked_volumes(pod, p, pod_os) := [{"volume": volume, "target": target, "entries": entries, "allowed": allowed} |
	allowed := params.list(p, "allowedHostPaths", [])
	some volume in pod.volumes
	target := paths.normalize(volume.path, pod_os)
	entries := _entries_allowing(allowed, target, pod_os)
]

_entries_allowing(allowed, target, pod_os) := [entry |
	some entry in allowed
	paths.allows_normalized(entry.pathPrefix, target, pod_os)
]

_not_allowed(pod, volumes) := {result.violation("hostpath.not-allowed", field, msg) |
	some checked in volumes
	count(checked.entries) == 0
	field := concat("", [pods.volume_field(pod, checked.volume), ".hostPath.path"])
	msg := _not_allowed_message(pod, checked.volume, checked.target)
}

_not_allowed_message(pod, volume, target) := sprintf(
	"%s: hostPath volume %s path %s is never allowed: %s",
	[pods.object_label(pod), result.show(volume.name), result.show(volume.path), target.reason],
) if {
	target.kind == "never"
} else := sprintf(
	"%s: hostPath volume %s path %s is not in allowedHostPaths",
	[pods.object_label(pod), result.show(volume.name), result.show(volume.path)],
)

# Allowed only by entries that say readOnly: every mount must be readOnly.
# Any readOnly value but false or null asks for read-only (fail closed).
_writable(pod, volumes) := {result.violation("hostpath.writable", field, msg) |
	some checked in volumes
	count(checked.entries) > 0
	every entry in checked.entries {
		_asks_read_only(entry)
	}
	volume := checked.volume
	some c in pod.containers
	some mount in pods.mounts(c)
	mount.name == volume.name
	not mount.read_only
	field := concat("", [pods.mount_field(pod, c, mount), ".readOnly"])
	msg := sprintf(
		"%s: hostPath volume %s path %s is allowed read-only only, but %s mounts it writable",
		[pods.object_label(pod), result.show(volume.name), result.show(volume.path), pods.label(pod, c)],
	)
}

# An account named admin is one on any pod; the presumed image default only
# on a Windows pod (elsewhere the image has no Windows default user).
_admin_users(pod, p, pod_os) := {result.violation("hostpath.admin-user", field, msg) |
	count(pod.volumes) > 0
	not params.is_false(p, "denyAdminUsers")
	non_admin_images := params.list(p, "nonAdminImages", users.default_non_admin_images)
	some c in pod.containers
	not c.host_process
	account := users.account(c.user, object.get(c.container, "image", null), non_admin_images)
	_counts_as_account(account, pod_os)
	users.is_admin(account.name)
	some volume in pod.volumes
	some mount in pods.mounts(c)
	mount.name == volume.name
	field := _account_field(pod, c, account)
	msg := sprintf(
		"%s: %s runs as admin account %s%s and mounts hostPath volume %s",
		[pods.object_label(pod), pods.label(pod, c), account.name, _presumed[account.presumed], result.show(volume.name)],
	)
}

_account_field(pod, c, account) := pods.user_field(pod, c) if not account.presumed

else := pods.image_field(pod, c)

_presumed := {true: " (presumed: no runAsUserName and an image not in nonAdminImages)", false: ""}

_counts_as_account(account, _) if not account.presumed

_counts_as_account(_, "windows")

# Any readOnly value but false or null asks for read-only (fail closed).
_asks_read_only(entry) if not object.get(entry, "readOnly", null) in {false, null}

# A mount's subPath reaches path + subPath on the host: it must be a plain
# relative path, and what it reaches must be allowed by an entry whose
# readOnly, if asked, this mount honours.
_sub_paths(pod, volumes, pod_os) := {result.violation("hostpath.subpath", field, msg) |
	some checked in volumes
	volume := checked.volume
	some c in pod.containers
	some mount in pods.mounts(c)
	mount.name == volume.name
	sub_path := mount.sub_path
	is_string(sub_path)
	sub_path != ""
	problem := _sub_path_problem(checked, sub_path, mount, pod_os)
	field := concat("", [pods.mount_field(pod, c, mount), ".subPath"])
	msg := sprintf("%s: %s mounts hostPath volume %s path %s with subPath %s, which %s", [
		pods.object_label(pod), pods.label(pod, c), result.show(volume.name),
		result.show(volume.path), result.show(sub_path), problem,
	])
}

_sub_path_problem(checked, sub_path, mount, pod_os) := `has a ".." segment` if {
	".." in regex.split(`[\\/]`, sub_path)
} else := "starts with a separator" if {
	regex.match(`^[\\/]`, sub_path)
} else := `has a ":"` if {
	contains(sub_path, ":")
} else := sprintf("reaches %s, %s", [result.show(joined), problem]) if {
	joined := concat(_joiner(checked.volume.path, pod_os), [trim_right(checked.volume.path, `\/`), sub_path])
	target := paths.normalize(joined, pod_os)
	problem := _reach_problem(target, _entries_allowing(checked.allowed, target, pod_os), mount)
}

_joiner(path, pod_os) := `\` if paths.is_windows(path, pod_os)

else := "/"

_reach_problem(target, entries, mount) := sprintf("never allowed: %s", [target.reason]) if {
	target.kind == "never"
} else := "not in allowedHostPaths" if {
	count(entries) == 0
} else := "allowed read-only only, but the mount is writable" if {
	not mount.read_only
	every entry in entries {
		_asks_read_only(entry)
	}
}

# The kubelet expands subPathExpr from values unknown at admission, and on
# Windows it has run subPath through PowerShell (CVE-2023-3676): on a Windows
# pod, any volume's.
_expanding(pod, "windows") := {result.violation("hostpath.subpath", field, msg) |
	some item in pod.expanding_mounts
	field := concat("", [pods.mount_field(pod, item.container, item.mount), ".", item.field])
	msg := sprintf("%s: %s mounts volume %s with %s %s, which %s", [
		pods.object_label(pod), pods.label(pod, item.container), result.show(item.mount.name),
		item.field, result.show(item.value), _expansion_reasons[item.field],
	])
}

_expanding(_, pod_os) := set() if pod_os != "windows"

_expansion_reasons := {
	"subPathExpr": "the kubelet expands from values unknown at admission",
	"subPath": "contains $ or a backtick, which the kubelet on Windows may expand (CVE-2023-3676)",
}
