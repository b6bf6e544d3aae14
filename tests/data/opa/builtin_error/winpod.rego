# A policy whose decision calls a built-in with a wrong-typed operand when the
# input asks for it: OPA would make the expression undefined and drop the
# violation; the harness asks for strict built-in errors, so it is an error.
package winpod

default decision := {"allowed": true, "violations": []}

decision := {"allowed": false, "violations": [{
	"rule": "hostprocess",
	"code": "hostprocess.not-allowed",
	"constraint": "c",
	"enforcementAction": "deny",
	"field": "spec",
	"msg": lower(input.metadata.name),
}]}

batch := {"decisions": [decision]}
