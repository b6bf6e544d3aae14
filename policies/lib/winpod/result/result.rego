# METADATA
# title: Violation shape
# description: >-
#   The one shape every rule emits. Gatekeeper needs `msg`; `details` carries
#   what the decision API reports next to the constraint it came from.
# custom:
#   id: lib.winpod.result
package lib.winpod.result

# METADATA
# title: violation
# description: >-
#   A rule violation with its code (for example `hostpath.writable`), the
#   field path in the object and a message.
violation(code, field, msg) := {"msg": msg, "details": {"code": code, "field": field}}

# METADATA
# title: show
# description: >-
#   A value as messages quote it, "like this" for a string (backslashes as
#   they are, so C:\Windows reads as the user wrote it), unset for null, a
#   list element by element, anything else as JSON.
show(x) := concat("", [`"`, x, `"`]) if {
	is_string(x)
} else := "unset" if {
	x == null
} else := concat("", ["[", concat(", ", [_element(e) | some e in x]), "]"]) if {
	is_array(x)
} else := json.marshal(x)

_element(x) := concat("", [`"`, x, `"`]) if is_string(x)

else := json.marshal(x)

# METADATA
# title: malformed
# description: >-
#   The violation of code (a rule's malformed code) for a wrong-typed field,
#   a problem of lib.winpod.shapes ({field, expected, got}) in the object
#   named label.
malformed(code, label, problem) := violation(
	code,
	problem.field,
	sprintf("%s: %s must be %s, got %s", [label, problem.field, _articles[problem.expected], problem.got]),
)

_articles := {"object": "an object", "array": "an array", "string": "a string"}
