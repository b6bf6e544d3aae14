# METADATA
# title: Windows container users
# description: >-
#   Non-HostProcess containers of Windows pods (any sign of one, SPEC 1) run as
#   an allowed account (ContainerUser unless configured), compared as the
#   kubelet does. A container naming no account runs as its image's default
#   user, presumed ContainerAdministrator unless the image is in
#   nonAdminImages, whatever runAsNonRoot says.
# custom:
#   id: users
#   template: WinpodUsers
#   codes:
#     users.not-allowed: >-
#       a non-HostProcess container of a Windows pod runs as a user not in
#       `allowedUserNames` (including the presumed image default)
#     users.malformed: >-
#       the pod spec fields the rule reads have the wrong type (fail closed)
package winpod.users

import data.lib.winpod.params
import data.lib.winpod.pods
import data.lib.winpod.result
import data.lib.winpod.users
import data.lib.winpod.windows

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
#   a pod that may be a Windows pod under some parameters (any pod that does
#   not declare Linux), or wrong-typed fields. For a declared-Linux pod the
#   decision API matches none of this rule's constraints.
default is_relevant(_) := false

is_relevant(pod) if not pod.declares_linux

is_relevant(pod) if count(pod.malformed) > 0

# The malformed comprehension only runs when there is something in it.
_violations(pod, p) := _not_allowed(pod, p) if {
	count(pod.malformed) == 0
} else := _malformed(pod) | _not_allowed(pod, p)

default_allowed_user_names := ["ContainerUser"]

_malformed(pod) := {result.malformed("users.malformed", pods.object_label(pod), problem) |
	some problem in pod.malformed
	problem.category in {"pod", "user", "image", "os"}
}

# An admin account passes only through an entry naming it (EqualFold), never
# through DOMAIN\* (users.matches).
_not_allowed(pod, p) := {result.violation("users.not-allowed", pods.user_field(pod, c), msg) |
	windows.is_pod(pod, p)
	allowed := params.list(p, "allowedUserNames", default_allowed_user_names)
	non_admin_images := params.list(p, "nonAdminImages", users.default_non_admin_images)
	some c in pod.containers
	not c.host_process
	account := users.account(c.user, object.get(c.container, "image", null), non_admin_images)
	not users.is_allowed(account.name, allowed)
	msg := _message(pod, c, account, allowed)
}

_message(pod, c, account, allowed) := sprintf(
	"%s: %s runs as %s, which is not in allowedUserNames %s",
	[pods.object_label(pod), pods.label(pod, c), result.show(account.name), result.show(allowed)],
) if {
	not account.presumed
} else := sprintf(
	concat("", [
		"%s: %s sets no runAsUserName and image %s is not in nonAdminImages, ",
		"so it presumably runs as %s, which is not in allowedUserNames %s",
	]),
	[pods.object_label(pod), pods.label(pod, c), result.show(image), account.name, result.show(allowed)],
) if {
	account.name == "ContainerAdministrator"
	image := object.get(c.container, "image", null)
} else := sprintf(
	"%s: %s sets no runAsUserName, so it runs as its image's default user %s, which is not in allowedUserNames %s",
	[pods.object_label(pod), pods.label(pod, c), account.name, result.show(allowed)],
)
