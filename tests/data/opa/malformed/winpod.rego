# Decisions of the wrong shape, one per input name: the client must refuse each.
package winpod

_deny := {
	"rule": "r", "code": "r.x", "constraint": "c", "enforcementAction": "deny",
	"field": "metadata.name", "msg": "m",
}

decision := {"allowed": "true", "violations": []} if input.metadata.name == "string-allowed"

decision := {"allowed": false, "violations": [{"rule": "r", "code": "r.x"}]} if input.metadata.name == "thin-violation"

decision := {"allowed": true, "violations": [_deny]} if input.metadata.name == "allowed-despite-deny"

decision := {"allowed": false, "violations": []} if input.metadata.name == "denied-without-reason"
