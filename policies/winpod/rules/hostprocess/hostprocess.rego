# METADATA
# title: Windows HostProcess containers
# description: >-
#   HostProcess containers run on the Windows host with its network, its file
#   system and any host account up to SYSTEM. Denied unless allowHostProcess is
#   true; then only a pod of HostProcess containers only, on the host network,
#   running as an allowed account from an allowed image, without the
#   annotation that makes hcsshim hand it the shim's own SYSTEM token.
# custom:
#   id: hostprocess
#   template: WinpodHostProcess
#   codes:
#     hostprocess.not-allowed: >-
#       a HostProcess container (or a set pod-level `hostProcess`) and
#       `allowHostProcess` is not true
#     hostprocess.mixed: >-
#       allowed, but some container of the pod is not HostProcess
#     hostprocess.host-network: >-
#       allowed, but `hostNetwork` is not true
#     hostprocess.user: >-
#       allowed, but a container's effective `runAsUserName` is unset or not
#       in `allowedUserNames`
#     hostprocess.image: >-
#       allowed, but an image does not match `allowedImages`
#     hostprocess.inherit-user: >-
#       allowed, but the pod (template) carries a
#       `microsoft.com/hostprocess-inherit-user` annotation other than
#       `"false"` (hcsshim then runs the containers with its own SYSTEM token)
#     hostprocess.malformed: >-
#       the pod spec fields the rule reads have the wrong type (fail closed)
package winpod.rules.hostprocess

import data.lib.winpod.globs
import data.lib.winpod.params
import data.lib.winpod.pods
import data.lib.winpod.result
import data.lib.winpod.rule
import data.lib.winpod.users

# METADATA
# title: name
# description: The rule's name, its package's last part; its cases are input.cases[name].
name := "hostprocess"

# METADATA
# title: violation
# description: Gatekeeper's entrypoint, the template's Rego (lib.winpod.rule).
violation contains v if some v in findings.review with input as rule.input_of(name, input)

# METADATA
# title: relevant
# description: >-
#   The keys of input.cases[name] whose findings may hold something: HostProcess containers or
#   wrong-typed fields. Most pods have neither: the decision API then
#   matches none of this rule's constraints.
relevant contains key if {
	some key, case in input.cases[name]
	_relevant(case.pod)
}

_relevant(pod) if pod.host_process_pod

_relevant(pod) if count(pod.malformed) > 0

# METADATA
# title: findings
# description: >-
#   For each key of input.cases[name], the violations of its pod view under its
#   parameters.
findings[key] := union({
	rule.malformed("hostprocess.malformed", {"pod", "user", "image"}, case.pod),
	_findings(case.pod, case.parameters),
}) if {
	some key, case in input.cases[name]
}

_findings(pod, p) := _not_allowed(pod, p) | _shape(pod, p)

default_allowed_user_names := [`NT AUTHORITY\LOCAL SERVICE`, `NT AUTHORITY\NETWORK SERVICE`]

_not_allowed(pod, p) := _pod_not_allowed(pod) | _containers_not_allowed(pod) if {
	not params.is_true(p, "allowHostProcess")
} else := set()

_pod_not_allowed(pod) := {result.violation("hostprocess.not-allowed", field, msg) |
	pods.is_host_process_value(pod.host_process)
	field := concat("", [pod.prefix, ".securityContext.windowsOptions.hostProcess"])
	msg := sprintf(
		"%s: pod-level hostProcess is %s, but HostProcess containers are not allowed",
		[pods.object_label(pod), result.show(pod.host_process)],
	)
}

_containers_not_allowed(pod) := {result.violation("hostprocess.not-allowed", pods.host_process_field(pod, c), msg) |
	some c in pod.containers
	c.host_process
	msg := sprintf(
		"%s: %s is a HostProcess container (hostProcess %s%s), but HostProcess containers are not allowed",
		[pods.object_label(pod), pods.label(pod, c), result.show(c.host_process_value), _inherited[c.host_process_inherited]],
	)
}

_inherited := {true: " from the pod", false: ""}

# With allowHostProcess true, a HostProcess pod must have the least-privilege shape.
_shape(pod, p) := (((_mixed(pod) | _host_network(pod)) | _users(pod, p)) | _images(pod, p)) | _inherit_user(pod) if {
	params.is_true(p, "allowHostProcess")
	pod.host_process_pod
} else := set()

_mixed(pod) := {result.violation("hostprocess.mixed", pods.host_process_field(pod, c), msg) |
	some c in pod.containers
	not c.host_process
	msg := sprintf(
		"%s: %s is not a HostProcess container, but a pod with HostProcess containers must have only HostProcess containers",
		[pods.object_label(pod), pods.label(pod, c)],
	)
}

_host_network(pod) := {result.violation("hostprocess.host-network", concat("", [pod.prefix, ".hostNetwork"]), msg) |
	host_network := object.get(pod.spec, "hostNetwork", null)
	host_network != true
	msg := sprintf(
		"%s: a HostProcess pod must set hostNetwork to true (hostNetwork is %s)",
		[pods.object_label(pod), result.show(host_network)],
	)
}

_users(pod, p) := {result.violation("hostprocess.user", pods.user_field(pod, c), msg) |
	allowed := params.list(p, "allowedUserNames", default_allowed_user_names)
	some c in pod.containers
	msg := _user_problem(pod, c, allowed)
}

_user_problem(pod, c, allowed) := sprintf(
	"%s: %s sets no runAsUserName, but a HostProcess container must run as one of allowedUserNames %s",
	[pods.object_label(pod), pods.label(pod, c), result.show(allowed)],
) if {
	c.user == null
} else := sprintf(
	"%s: %s runs as %s, which is not in allowedUserNames %s",
	[pods.object_label(pod), pods.label(pod, c), result.show(c.user), result.show(allowed)],
) if {
	# A non-string user is reported as malformed.
	is_string(c.user)
	not users.is_allowed(c.user, allowed)
}

_images(pod, p) := {result.violation("hostprocess.image", pods.image_field(pod, c), msg) |
	allowed := object.get(p, "allowedImages", null)
	some c in pod.containers
	image := object.get(c.container, "image", null)
	not _image_allowed(allowed, image)
	msg := sprintf(
		"%s: %s image %s does not match allowedImages %s",
		[pods.object_label(pod), pods.label(pod, c), result.show(image), result.show(allowed)],
	)
}

# An empty or absent allowedImages allows any image; one of the wrong type, none.
_image_allowed(null, _) := true

_image_allowed([], _) := true

_image_allowed(allowed, image) if globs.matches_any(allowed, image)

inherit_user_annotation := "microsoft.com/hostprocess-inherit-user"

# hcsshim runs a HostProcess container with this annotation under the
# containerd shim's own token (SYSTEM), whatever runAsUserName says. Only the
# string "false" leaves it off; annotations that are not a mapping cannot be
# read, so they count as carrying it.
_inherit_user(pod) := {result.violation("hostprocess.inherit-user", field, msg) |
	value := _annotation(pod.annotations)
	value != "false"
	field := sprintf("%s.annotations[%q]", [_metadata_field(pod.prefix), inherit_user_annotation])
	msg := sprintf(
		"%s: annotation %s is %s, which runs HostProcess containers as SYSTEM whatever runAsUserName says",
		[pods.object_label(pod), inherit_user_annotation, result.show(value)],
	)
}

# The pod (template)'s metadata beside its spec.
_metadata_field("spec") := "metadata"

_metadata_field(prefix) := concat("", [trim_suffix(prefix, ".spec"), ".metadata"]) if prefix != "spec"

_annotation(annotations) := annotations[inherit_user_annotation] if is_object(annotations)

_annotation(annotations) := annotations if {
	annotations != null
	not is_object(annotations)
}
