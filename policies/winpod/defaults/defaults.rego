# METADATA
# title: Built-in configuration
# description: >-
#   The config used when none is loaded at data.winpod.config (SPEC 3), one
#   constraint per rule with every rule default, denied: no HostProcess, only
#   ContainerUser, no hostPath volume.
# custom:
#   id: defaults
package winpod.defaults

# METADATA
# title: config
# description: The built-in PolicyConfig.
config := {
	"apiVersion": "winpod-guard/v1alpha1",
	"kind": "PolicyConfig",
	"constraints": [
		{"name": "default-hostprocess", "rule": "hostprocess", "enforcementAction": "deny"},
		{"name": "default-users", "rule": "users", "enforcementAction": "deny"},
		{"name": "default-hostpath", "rule": "hostpath", "enforcementAction": "deny"},
	],
}
