# METADATA
# title: Windows hostPath volumes
# description: >-
#   hostPath volumes reach host files and named pipes. A volume must match an
#   allowedHostPaths entry (Windows or POSIX path semantics, prefixes at a
#   segment boundary, pipes by name or name glob); an entry with readOnly true
#   needs every mount read-only; and with denyAdminUsers (default true) no
#   non-HostProcess admin container may mount one at all.
# custom:
#   id: hostpath
package winpod.hostpath

import data.lib.winpod.params
import data.lib.winpod.paths
import data.lib.winpod.pods
import data.lib.winpod.result
import data.lib.winpod.users

# METADATA
# title: violation
# description: Gatekeeper's entrypoint; also the template's Rego.
violation contains v if {
	some v in violations(input.review, object.get(input, "parameters", {}))
}

# METADATA
# title: violations
# description: The violations of the object under review for these parameters.
violations(review, parameters) := check(pod, parameters) if {
	pod := pods.pod(review)
} else := set()

# METADATA
# title: check
# description: >-
#   The violations of a pod view (lib.winpod.pods.pod) for these parameters;
#   the decision API calls this with the view it builds once per object.
check(pod, parameters) := _violations(pod, params.object_of(parameters)) if is_relevant(pod)

else := set()

# METADATA
# scope: document
# title: is_relevant
# description: >-
#   True when check may find something in the pod view (lib.winpod.pods.pod):
#   hostPath volumes or wrong-typed fields. Most pods have neither: the
#   decision API then matches none of this rule's constraints.
default is_relevant(_) := false

is_relevant(pod) if count(pod.volumes) > 0

is_relevant(pod) if count(pod.malformed) > 0

# The malformed comprehension only runs when there is something in it.
_violations(pod, p) := _findings(pod, p) if {
	count(pod.malformed) == 0
} else := _malformed(pod) | _findings(pod, p)

_findings(pod, p) := (_not_allowed(pod, volumes) | _writable(pod, volumes)) | _admin_users(pod, p) if {
	volumes := _checked_volumes(pod, p)
}

_malformed(pod) := {result.malformed("hostpath", pods.object_label(pod), problem) |
	some problem in pod.malformed
}

# The hostPath volumes with a path, each with its normalised path and the
# allowedHostPaths entries that allow it: worked out once per volume.
_checked_volumes(pod, p) := [{"volume": volume, "target": target, "entries": entries} |
	allowed := params.list(p, "allowedHostPaths", [])
	some volume in pod.volumes
	target := paths.normalize(volume.path, pod.windows)
	entries := [entry |
		some entry in allowed
		paths.allows_normalized(entry.pathPrefix, target, pod.windows)
	]
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
		not object.get(entry, "readOnly", null) in {false, null}
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

_admin_users(pod, p) := {result.violation("hostpath.admin-user", field, msg) |
	count(pod.volumes) > 0
	not params.is_false(p, "denyAdminUsers")
	pod.windows
	non_admin_images := params.list(p, "nonAdminImages", users.default_non_admin_images)
	some c in pod.containers
	not c.host_process
	account := users.account(c.user, c.run_as_non_root, object.get(c.container, "image", null), non_admin_images)
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
