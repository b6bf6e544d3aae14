package winpod.inventory_test

import data.winpod.inventory

_hpc := {"windowsOptions": {"hostProcess": true}}

test_items[name] if {
	some name, tc in {
		"pod-level hostProcess makes every container HostProcess": {
			"obj": {"kind": "Pod", "metadata": {"name": "p"}, "spec": {
				"hostNetwork": true,
				"securityContext": {"windowsOptions": {"hostProcess": true, "runAsUserName": "NT AUTHORITY\\SYSTEM"}},
				"containers": [{"name": "a", "image": "procmon:1"}],
				"initContainers": [{"name": "b", "image": "init:1", "securityContext": {"windowsOptions": {"runAsUserName": "NT AUTHORITY\\LOCAL SERVICE"}}}],
			}},
			"want": {"hostNetwork": true, "containers": [
				{"name": "a", "field": "spec.containers[0]", "user": "NT AUTHORITY\\SYSTEM", "image": "procmon:1"},
				{"name": "b", "field": "spec.initContainers[0]", "user": "NT AUTHORITY\\LOCAL SERVICE", "image": "init:1"},
			]},
		},
		"a container opting out is not listed": {
			"obj": {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [
				{"name": "a", "image": "x", "securityContext": _hpc},
				{"name": "b", "image": "y", "securityContext": {"windowsOptions": {"hostProcess": false}}},
			]}}}},
			"want": {"hostNetwork": false, "containers": [{"name": "a", "field": "spec.template.spec.containers[0]", "user": null, "image": "x"}]},
		},
		"ephemeral containers count, string true counts": {
			"obj": {"kind": "Pod", "spec": {"containers": [{"name": "a"}], "ephemeralContainers": [{"name": "dbg", "image": "d", "securityContext": {"windowsOptions": {"hostProcess": "true"}}}]}},
			"want": {"hostNetwork": false, "containers": [{"name": "dbg", "field": "spec.ephemeralContainers[0]", "user": null, "image": "d"}]},
		},
		"no HostProcess": {
			"obj": {"kind": "Pod", "spec": {"containers": [{"name": "a", "image": "x"}]}},
			"want": {"hostNetwork": false, "containers": []},
		},
		"not a governed kind": {
			"obj": {"kind": "Service", "spec": {"containers": [{"name": "a", "securityContext": _hpc}]}},
			"want": {"hostNetwork": false, "containers": []},
		},
		"not an object": {
			"obj": "Pod",
			"want": {"hostNetwork": false, "containers": []},
		},
	}
	inventory.items == [tc.want] with input as {"items": [tc.obj]}
}
