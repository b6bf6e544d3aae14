# A stand-in for the real decision API, so the client can be tested on its
# own: a defined decision and batch, a config that can be set and reset, and
# a function from names.rego, which sorts after this file: loading in name
# order alone would not compile.
package winpod

import data.winpod.names

default config_in_use := {"deniedNames": ["denied"]}

config_in_use := data.winpod.config

decision := {"allowed": count(violations) == 0, "violations": violations}

violations := [v |
	some name in config_in_use.deniedNames
	names.same(input.metadata.name, name)
	v := {
		"rule": "names", "code": "names.denied", "constraint": "deny-names", "enforcementAction": "deny",
		"field": "metadata.name", "msg": sprintf("name %q is denied", [name]),
	}
]

batch := {"decisions": [d | some item in input.items; d := decision with input as item]}
