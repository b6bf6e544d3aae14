# METADATA
# title: The floor of make bench
# description: >-
#   Not a policy: what the cheapest useful check costs on the machine that runs
#   the benchmark, so that the evaluation times of the real bundle can be read
#   against it. It reads one field of each container (hostProcess true) and
#   builds one violation per HostProcess container, with no config, no match,
#   no type checks and no Windows semantics: the shape of the public policy
#   libraries' HostProcess check. harness/bench.py loads it into a container
#   of its own beside the policy's and times data.winpod.decision over the
#   same corpus, each object under the policy and the floor in turn.
package winpod

_spec_paths := {
	"Pod": ["spec"],
	"PodTemplate": ["template", "spec"],
	"Deployment": ["spec", "template", "spec"],
	"ReplicaSet": ["spec", "template", "spec"],
	"StatefulSet": ["spec", "template", "spec"],
	"DaemonSet": ["spec", "template", "spec"],
	"Job": ["spec", "template", "spec"],
	"ReplicationController": ["spec", "template", "spec"],
	"CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
}

default decision := {"allowed": true, "violations": []}

decision := {"allowed": count(violations) == 0, "violations": violations} if {
	path := _spec_paths[input.kind]
	spec := object.get(input, path, {})
	violations := [v |
		some list in ["initContainers", "containers", "ephemeralContainers"]
		some i, c in object.get(spec, list, [])
		object.get(c, ["securityContext", "windowsOptions", "hostProcess"], false) == true
		v := {
			"rule": "hostprocess",
			"code": "hostprocess.not-allowed",
			"constraint": "floor",
			"enforcementAction": "deny",
			"field": sprintf("%s.%s[%d].securityContext.windowsOptions.hostProcess", [concat(".", path), list, i]),
			"msg": sprintf("%s/%s: container %v is a HostProcess container", [input.kind, input.metadata.name, c.name]),
		}
	]
}
