# METADATA
# title: What every rule shares
# description: >-
#   A rule is a package winpod.rules.<name> (found by its path, as Regal finds
#   data.regal.rules[category][title]) with four parts: name, the package's
#   last part; relevant and findings, documents over the cases under its name
#   in the input this package builds (input.cases[name], each {"pod": the pod
#   view, "parameters": an object}); and violation, Gatekeeper's entrypoint
#   over a Gatekeeper review, which is one line: the findings under
#   input_of(name, input). The decision API builds the pod view once per
#   object and reads relevant, then findings, of every rule under one input,
#   each rule's cases under its name.
# custom:
#   id: lib.winpod.rule
package lib.winpod.rule

import data.lib.winpod.params
import data.lib.winpod.pods
import data.lib.winpod.result

# METADATA
# title: input_of
# description: >-
#   The input the documents of rule name read, for a Gatekeeper input (review
#   and parameters): the review's pod view and the parameters as an object
#   ({}, every default, for anything else), its one case "review". Undefined
#   when the review has no pod view (not a governed kind, a DELETE or
#   CONNECT), so the rule finds nothing.
input_of(name, gatekeeper) := {"cases": {name: {"review": {
	"pod": pod,
	"parameters": params.object_of(object.get(gatekeeper, "parameters", null)),
}}}} if {
	pod := pods.pod(gatekeeper.review)
}

# METADATA
# title: malformed
# description: >-
#   The code violations (a rule's .malformed code) for the wrong-typed fields
#   of the pod view whose category (lib.winpod.shapes.problems) is in
#   categories: what fails a rule closed. Empty at once for a well-typed pod.
malformed(code, categories, pod) := set() if {
	count(pod.malformed) == 0
} else := {result.malformed(code, pods.object_label(pod), problem) |
	some problem in pod.malformed
	problem.category in categories
}
