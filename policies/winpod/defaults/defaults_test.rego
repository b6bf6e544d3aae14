package winpod.defaults_test

import data.winpod.defaults

# The packages of the rule contract (lib.winpod.rule), by their findings
# document.
rule_packages contains name if {
	some name
	data.winpod.rules[name].findings
}

# Each carries its own name, by which the decision API and the built-in
# config find it.
test_every_rule_package_is_found_by_its_name[name] if {
	some name in rule_packages
	data.winpod.rules[name].name == name
	name in defaults.names
}

test_the_names_are_the_rule_packages if {
	count(rule_packages) > 0
	defaults.names == sort([name | some name in rule_packages])
}

test_the_built_in_config_has_one_denying_constraint_per_rule if {
	defaults.config.constraints == [{"name": concat("-", ["default", name]), "rule": name, "enforcementAction": "deny"} |
		some name in defaults.names
	]
}
