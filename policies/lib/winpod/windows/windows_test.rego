package lib.winpod.windows_test

import data.lib.winpod.pods
import data.lib.winpod.windows

_required(expressions) := {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": expressions}]}}}}

# The signs of SPEC 1 "Windows pod" that the spec carries, each alone, and
# the near misses that are not signs.
signal_cases := {
	"os.name": {"spec": {"os": {"name": "windows"}}, "want": true},
	"os.name any case": {"spec": {"os": {"name": "Windows"}}, "want": true},
	"os.name linux": {"spec": {"os": {"name": "linux"}}, "want": false},
	"nodeSelector": {"spec": {"nodeSelector": {"kubernetes.io/os": "windows"}}, "want": true},
	"beta nodeSelector": {"spec": {"nodeSelector": {"beta.kubernetes.io/os": "windows"}}, "want": true},
	"nodeSelector linux": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}}, "want": false},
	"windows-build nodeSelector": {"spec": {"nodeSelector": {"node.kubernetes.io/windows-build": "10.0.17763"}}, "want": true},
	"windows-build nodeSelector, empty value": {"spec": {"nodeSelector": {"node.kubernetes.io/windows-build": ""}}, "want": true},
	"affinity In windows": {
		"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
			{"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]},
			{"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux", "windows"]}]},
		]}}}},
		"want": true,
	},
	"affinity In linux": {"spec": _required([{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]), "want": false},
	"affinity NotIn windows": {"spec": _required([{"key": "kubernetes.io/os", "operator": "NotIn", "values": ["windows"]}]), "want": false},
	"affinity NotIn linux": {"spec": _required([{"key": "kubernetes.io/os", "operator": "NotIn", "values": ["linux"]}]), "want": true},
	"affinity NotIn Windows, another value": {"spec": _required([{"key": "beta.kubernetes.io/os", "operator": "NotIn", "values": ["Windows"]}]), "want": true},
	"affinity Exists on the OS key": {"spec": _required([{"key": "kubernetes.io/os", "operator": "Exists"}]), "want": false},
	"affinity windows-build Exists": {"spec": _required([{"key": "node.kubernetes.io/windows-build", "operator": "Exists"}]), "want": true},
	"affinity windows-build In": {"spec": _required([{"key": "node.kubernetes.io/windows-build", "operator": "In", "values": ["10.0.20348"]}]), "want": true},
	"affinity windows-build NotIn": {"spec": _required([{"key": "node.kubernetes.io/windows-build", "operator": "NotIn", "values": ["10.0.20348"]}]), "want": true},
	"affinity windows-build DoesNotExist": {"spec": _required([{"key": "node.kubernetes.io/windows-build", "operator": "DoesNotExist"}]), "want": false},
	"affinity other key": {"spec": _required([{"key": "zone", "operator": "In", "values": ["windows"]}]), "want": false},
	"preferred affinity does not count": {"spec": {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["windows"]}]}}]}}}, "want": false},
	"windows toleration": {"spec": {"tolerations": [{"key": "os", "operator": "Equal", "value": "windows", "effect": "NoSchedule"}]}, "want": true},
	"windows toleration, another key": {"spec": {"tolerations": [{"key": "sku", "value": "Windows"}]}, "want": true},
	"keyless Exists toleration": {"spec": {"tolerations": [{"operator": "Exists"}]}, "want": false},
	"linux toleration": {"spec": {"tolerations": [{"key": "os", "value": "linux"}]}, "want": false},
	"pod windowsOptions": {"spec": {"securityContext": {"windowsOptions": {}}}, "want": true},
	"container windowsOptions": {"spec": {"containers": [{"securityContext": {"windowsOptions": {}}}]}, "want": true},
	"init container windowsOptions": {"spec": {"initContainers": [{"securityContext": {"windowsOptions": {"runAsUserName": "x"}}}]}, "want": true},
	"ephemeral container windowsOptions": {"spec": {"ephemeralContainers": [{"securityContext": {"windowsOptions": {"hostProcess": false}}}]}, "want": true},
	"wrong-typed windowsOptions is set": {"spec": {"securityContext": {"windowsOptions": "x"}}, "want": true},
	"null windowsOptions is not set": {"spec": {"securityContext": {"windowsOptions": null}, "containers": [{"securityContext": {"windowsOptions": null}}]}, "want": false},
	"a Windows image is a parameter's sign": {"spec": {"containers": [{"image": "mcr.microsoft.com/windows/servercore:ltsc2022"}]}, "want": false},
	"nothing": {"spec": {"containers": [{"name": "a"}]}, "want": false},
	"not an object": {"spec": "windows", "want": false},
}

test_has_signal[name] if {
	some name, tc in signal_cases
	windows.has_signal(tc.spec) == tc.want
}

linux_cases := {
	"os.name linux": {"spec": {"os": {"name": "linux"}}, "want": true},
	"nodeSelector linux": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}}, "want": true},
	"os.name Linux is no declaration": {"spec": {"os": {"name": "Linux"}}, "want": false},
	"beta nodeSelector is no declaration": {"spec": {"nodeSelector": {"beta.kubernetes.io/os": "linux"}}, "want": false},
	"affinity In linux is no declaration": {"spec": _required([{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]), "want": false},
	"nothing": {"spec": {}, "want": false},
}

test_declares_linux[name] if {
	some name, tc in linux_cases
	windows.declares_linux(tc.spec) == tc.want
}

_pod(spec) := pods.pod({"object": {"kind": "Pod", "spec": spec}})

_image(image) := {"containers": [{"name": "a", "image": image}]}

# is_pod: the spec's signs, the parameters' and a Linux declaration beating all.
pod_cases := {
	"spec sign": {"spec": {"os": {"name": "windows"}}, "p": {}, "want": true},
	"unmarked": {"spec": _image("nginx:1.27"), "p": {}, "want": false},
	"servercore image": {"spec": _image("mcr.microsoft.com/windows/servercore:ltsc2022"), "p": {}, "want": true},
	"bare windows repository": {"spec": _image("mcr.microsoft.com/windows:ltsc2019"), "p": {}, "want": true},
	"digest-only windows image": {"spec": _image("mcr.microsoft.com/windows@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), "p": {}, "want": true},
	".NET Framework image": {"spec": _image("mcr.microsoft.com/dotnet/framework/aspnet:4.8"), "p": {}, "want": true},
	"nanoserver tag": {"spec": _image("golang:nanoserver-ltsc2022"), "p": {}, "want": true},
	"servercore tag": {"spec": _image("example.com/app:1.0-servercore"), "p": {}, "want": true},
	"ltsc tag": {"spec": _image("example.com/app:ltsc2025"), "p": {}, "want": true},
	"an init container's image": {"spec": {"containers": [{"image": "nginx"}], "initContainers": [{"image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}]}, "p": {}, "want": true},
	"windowsImages replace the default": {"spec": _image("mcr.microsoft.com/windows/servercore:ltsc2022"), "p": {"windowsImages": ["example.com/win/*"]}, "want": false},
	"windowsImages of one's own": {"spec": _image("example.com/win/app:1"), "p": {"windowsImages": ["example.com/win/*"]}, "want": true},
	"windowsImages match the repository too": {"spec": _image("example.com/win@sha256:00"), "p": {"windowsImages": ["example.com/win"]}, "want": true},
	"windowsImages of the wrong type keep the default": {"spec": _image("mcr.microsoft.com/windows/servercore:ltsc2022"), "p": {"windowsImages": "x"}, "want": true},
	"default RuntimeClass": {"spec": {"runtimeClassName": "runhcs-windows-2022"}, "p": {}, "want": true},
	"other RuntimeClass": {"spec": {"runtimeClassName": "gvisor"}, "p": {}, "want": false},
	"windowsRuntimeClasses of one's own": {"spec": {"runtimeClassName": "hcs"}, "p": {"windowsRuntimeClasses": ["hcs"]}, "want": true},
	"windowsRuntimeClasses replace the default": {"spec": {"runtimeClassName": "windows"}, "p": {"windowsRuntimeClasses": ["hcs"]}, "want": false},
	"assumeWindows": {"spec": _image("nginx"), "p": {"assumeWindows": true}, "want": true},
	"assumeWindows must be true": {"spec": _image("nginx"), "p": {"assumeWindows": "true"}, "want": false},
	"assumeWindows and a Linux declaration": {"spec": {"os": {"name": "linux"}, "containers": [{"image": "nginx"}]}, "p": {"assumeWindows": true}, "want": false},
	"Linux declaration beats every sign": {
		"spec": {
			"nodeSelector": {"kubernetes.io/os": "linux", "node.kubernetes.io/windows-build": "10.0.17763"},
			"securityContext": {"windowsOptions": {"runAsUserName": "ContainerAdministrator"}},
			"tolerations": [{"value": "windows"}],
			"runtimeClassName": "windows",
			"containers": [{"image": "mcr.microsoft.com/windows/servercore:ltsc2022"}],
		},
		"p": {},
		"want": false,
	},
}

test_is_pod[name] if {
	some name, tc in pod_cases
	windows.is_pod(_pod(tc.spec), tc.p) == tc.want
}
