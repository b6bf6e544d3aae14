# METADATA
# title: HostProcess inventory
# description: >-
#   Which objects run HostProcess containers, as which accounts, from which
#   images, whatever the config allows: the question the HostProcess control
#   asks of a running cluster. Uses the same pod view as the rules, so
#   "HostProcess" and "effective user" mean here what they mean there.
# custom:
#   id: inventory
package winpod.inventory

import data.lib.winpod.pods

# METADATA
# title: items
# description: >-
#   For input.items (manifests), in order: hostNetwork and the HostProcess
#   containers (name, field, user, image) of each; an empty list for objects
#   that are not governed or have none.
items := [entry(obj) | some obj in input.items]

# METADATA
# title: entry
# description: One object's inventory entry.
entry(obj) := {
	"hostNetwork": object.get(pod.spec, "hostNetwork", false) == true,
	"containers": [{
		"name": object.get(c.container, "name", null),
		"field": pods.field(pod, c),
		"user": c.user,
		"image": object.get(c.container, "image", null),
	} |
		some c in pod.containers
		c.host_process
	],
} if {
	pod := pods.pod({"object": obj})
} else := {"hostNetwork": false, "containers": []}
