# METADATA
# title: Built-in configuration
# description: >-
#   The config used when none is loaded at data.winpod.config (SPEC 3): one
#   constraint per rule (every package data.winpod.rules.<name>) with every
#   rule default, denied: no HostProcess, only ContainerUser, no hostPath
#   volume. The harness reads it from here (harness/config.py
#   default_config), so there is no second copy.
# custom:
#   id: defaults
package winpod.defaults

# METADATA
# title: config
# description: The built-in PolicyConfig.
config := {
	"apiVersion": "winpod-guard/v1alpha1",
	"kind": "PolicyConfig",
	"constraints": [constraint |
		some name in names
		constraint := {"name": concat("-", ["default", name]), "rule": name, "enforcementAction": "deny"}
	],
}

# METADATA
# title: names
# description: >-
#   The rule names, sorted: the packages under data.winpod.rules whose name
#   is their own (lib.winpod.rule). A constant, so found under any input
#   without evaluating anything of the rules (a _test package has none).
names := sort([name | some name in _names])

_names contains name if {
	some name
	data.winpod.rules[name].name == name
}
