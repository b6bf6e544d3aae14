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
package winpod.rules.users

import data.lib.winpod.params
import data.lib.winpod.pods
import data.lib.winpod.result
import data.lib.winpod.rule
import data.lib.winpod.users
import data.lib.winpod.windows

# METADATA
# title: name
# description: The rule's name, its package's last part; its cases are input.cases[name].
name := "users"

# METADATA
# title: violation
# description: Gatekeeper's entrypoint, the template's Rego (lib.winpod.rule).
violation contains v if some v in findings.review with input as rule.input_of(name, input)

# METADATA
# title: relevant
# description: >-
#   The keys of input.cases[name] whose findings may hold something: a pod that may be a Windows pod
#   under some parameters (any pod that does not declare Linux), or
#   wrong-typed fields. For a declared-Linux pod the decision API matches
#   none of this rule's constraints.
relevant contains key if {
	some key, case in input.cases[name]
	_relevant(case.pod)
}

_relevant(pod) if not pod.declares_linux

_relevant(pod) if count(pod.malformed) > 0

# METADATA
# title: findings
# description: >-
#   For each key of input.cases[name], the violations of its pod view under its
#   parameters.
findings[key] := union({
	rule.malformed("users.malformed", {"pod", "user", "image", "os"}, case.pod),
	_not_allowed(case.pod, case.parameters),
}) if {
	some key, case in input.cases[name]
}

default_allowed_user_names := ["ContainerUser"]

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
