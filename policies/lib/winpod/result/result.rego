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
# description: A rule violation with its code (for example `hostpath.writable`), the field path in the object and a message.
violation(code, field, msg) := {"msg": msg, "details": {"code": code, "field": field}}
