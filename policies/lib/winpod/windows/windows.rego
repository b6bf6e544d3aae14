# METADATA
# title: Windows pods
# description: >-
#   SPEC 1 "Windows pod": every sign that a pod may run on a Windows node. A
#   pod that lands there unmarked would skip the users rule and Windows path
#   semantics, so any one sign is enough, and only a pod that declares Linux
#   (which the kubelet refuses on a Windows node) is never a Windows pod.
#   The signs of the spec alone are read once per object (has_signal); the
#   ones that depend on a constraint's parameters (windowsImages,
#   windowsRuntimeClasses, assumeWindows) per constraint (is_pod).
# custom:
#   id: lib.winpod.windows
package lib.winpod.windows

import data.lib.winpod.globs
import data.lib.winpod.params
import data.lib.winpod.users

# METADATA
# title: default_images
# description: The image globs that mark a Windows pod when windowsImages is not set.
default_images := [
	"mcr.microsoft.com/windows",
	"mcr.microsoft.com/windows/*",
	"mcr.microsoft.com/dotnet/framework/*",
	"*:*nanoserver*",
	"*:*servercore*",
	"*:*ltsc20*",
]

# METADATA
# title: default_runtime_classes
# description: The RuntimeClass globs that mark a Windows pod when windowsRuntimeClasses is not set.
default_runtime_classes := ["*windows*"]

# METADATA
# title: os_label_keys
# description: The node labels that name a node's operating system.
os_label_keys := {"kubernetes.io/os", "beta.kubernetes.io/os"}

# METADATA
# title: build_label_key
# description: The node label only Windows kubelets set.
build_label_key := "node.kubernetes.io/windows-build"

# METADATA
# scope: document
# title: declares_linux
# description: >-
#   True for a pod spec that declares Linux: os.name linux or the node selector
#   kubernetes.io/os linux, exactly as the API server and the kubelet compare
#   them. Such a pod is never a Windows pod, so a near miss (Linux, a beta
#   label) does not count.
default declares_linux(_) := false

declares_linux(spec) if spec.os.name == "linux"

declares_linux(spec) if spec.nodeSelector["kubernetes.io/os"] == "linux"

# METADATA
# scope: document
# title: has_signal
# description: >-
#   True when the pod spec itself says it may run on Windows, whatever the
#   parameters: os.name, a node selector or a required node-affinity
#   expression for Windows, a windows toleration, or windowsOptions anywhere.
#   Undefined-free: wrong types are lib.winpod.shapes' to report.
default has_signal(_) := false

has_signal(spec) if is_name(spec.os.name)

has_signal(spec) if {
	some key in os_label_keys
	is_name(spec.nodeSelector[key])
}

has_signal(spec) if spec.nodeSelector[build_label_key] != null

has_signal(spec) if {
	some term in _array(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution, "nodeSelectorTerms")
	some expression in _array(term, "matchExpressions")
	_is_windows_expression(expression)
}

has_signal(spec) if {
	some toleration in _array(spec, "tolerations")
	is_name(toleration.value)
}

has_signal(spec) if spec.securityContext.windowsOptions != null

has_signal(spec) if {
	some list in _container_lists
	some item in _array(spec, list)
	item.securityContext.windowsOptions != null
}

# In that lists windows (any case: over-reading a sign is the safe error);
# NotIn that does not list it exactly, since then Windows nodes remain.
_is_windows_expression(expression) if {
	expression.key in os_label_keys
	expression.operator == "In"
	some v in _array(expression, "values")
	is_name(v)
}

_is_windows_expression(expression) if {
	expression.key in os_label_keys
	expression.operator == "NotIn"
	not "windows" in _array(expression, "values")
}

_is_windows_expression(expression) if {
	expression.key == build_label_key
	expression.operator != "DoesNotExist"
}

# METADATA
# scope: document
# title: is_pod
# description: >-
#   True when the pod view (lib.winpod.pods.pod) is a Windows pod under a
#   constraint's parameters (an object): no Linux declaration, and a sign of
#   the spec, a runtimeClassName in windowsRuntimeClasses, an image (full
#   reference or repository) in windowsImages, or assumeWindows true.
default is_pod(_, _) := false

is_pod(pod, p) if {
	not pod.declares_linux
	_has_any_sign(pod, p)
}

_has_any_sign(pod, _) if pod.windows_signal

_has_any_sign(_, p) if params.is_true(p, "assumeWindows")

_has_any_sign(pod, p) if {
	patterns := _patterns(p, "windowsRuntimeClasses", default_runtime_classes)
	globs.matches_any(patterns, pod.spec.runtimeClassName)
}

_has_any_sign(pod, p) if {
	patterns := _patterns(p, "windowsImages", default_images)
	some c in pod.containers
	image := c.container.image
	is_string(image)
	_is_windows_image(patterns, image)
}

_is_windows_image(patterns, image) if globs.matches_any(patterns, image)

_is_windows_image(patterns, image) if globs.matches_any(patterns, users.repository(image))

# A list of patterns as configured; the default when absent or of the wrong
# type, since fewer patterns would read fewer pods as Windows pods.
_patterns(p, key, default_value) := p[key] if is_array(p[key])

else := default_value

# METADATA
# scope: document
# title: is_name
# description: >-
#   True for the string windows in any case (an OS name or label value: over
#   reading a sign is the safe error).
default is_name(_) := false

is_name(s) if {
	is_string(s)
	lower(s) == "windows"
}

_container_lists := ["initContainers", "containers", "ephemeralContainers"]

_array(x, key) := x[key] if is_array(x[key])

else := []
