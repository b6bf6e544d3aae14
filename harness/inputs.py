"""What the decision is asked about: an object in one of the three input shapes (SPEC 4), and its verdict."""

import copy
import hashlib
import json

from harness.kinds import WORKLOADS, api_group

SHAPES = ("manifest", "admissionreview", "gatekeeper")


def verdict(allowed: object) -> str:
    return "allowed" if allowed is True else "denied" if allowed is False else repr(allowed)


# The template labels (and selector) of a workload whose pod has none: apps/v1 and ReplicationController
# need a selector matching the template, or the API server refuses the object before any admission check.
CASE_LABELS = {"winpod-guard.io/case": "wrapped"}
# Kinds with no selector to write: a PodTemplate has none, and a Job's controller makes its own (the API
# server refuses one given without manualSelector).
_NO_SELECTOR = {"PodTemplate", "Job", "CronJob"}
# Kinds whose pods must not restart Always (batch/v1 validation): a template with no restartPolicy says Never.
_RUN_TO_COMPLETION = {"Job", "CronJob"}


def wrap_pod(pod: dict, kind: str) -> dict:
    """``pod`` as the pod template of a ``kind`` workload (SPEC 1 "Objects"), as a user would write one the
    API server accepts.

    The workload takes the pod's metadata, so namespace and label matching see
    the same object; the template keeps the labels, as a controller's would (a
    pod without labels gets CASE_LABELS, for the selector). A Job's or CronJob's
    template without a restartPolicy gets ``Never``, and no selector: the
    controller writes one. The rules read neither.
    """
    if kind == "Pod":
        return copy.deepcopy(pod)
    metadata = copy.deepcopy(pod.get("metadata") or {})
    labels = metadata.get("labels") or ({} if kind in _NO_SELECTOR else CASE_LABELS)
    spec = copy.deepcopy(pod.get("spec"))
    if kind in _RUN_TO_COMPLETION and isinstance(spec, dict) and "restartPolicy" not in spec:
        spec["restartPolicy"] = "Never"
    template = {"metadata": {"labels": copy.deepcopy(labels)} if labels else {}, "spec": spec}
    obj: dict = {"apiVersion": WORKLOADS[kind][0], "kind": kind, "metadata": metadata}
    if kind == "PodTemplate":
        obj["template"] = template
    elif kind == "CronJob":
        obj["spec"] = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}
    else:
        obj["spec"] = {"template": template}
        if kind not in _NO_SELECTOR:
            selector = copy.deepcopy(labels)
            obj["spec"]["selector"] = selector if kind == "ReplicationController" else {"matchLabels": selector}
    return obj


def pod_spec_field(kind: str) -> str:
    """The field path of the pod spec in a ``kind`` object: ``spec``, ``spec.template.spec``..."""
    return ".".join((*WORKLOADS[kind][1], "spec"))


def wrap_input(obj: object, shape: str, namespace: str | None = None) -> object:
    """``obj`` in one of the three input shapes of SPEC 4.

    The request namespace is ``namespace`` when given, else the object's own
    (an API server always sends one for a namespaced object).
    """
    if shape == "manifest":
        return obj
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    metadata = metadata if isinstance(metadata, dict) else {}
    if namespace is None and isinstance(metadata.get("namespace"), str):
        namespace = metadata["namespace"]
    api_version = obj.get("apiVersion") if isinstance(obj, dict) else None
    api_version = api_version if isinstance(api_version, str) else ""
    group, version = api_group(api_version), api_version.rpartition("/")[2]
    request = {
        "kind": {"group": group, "version": version, "kind": obj.get("kind") if isinstance(obj, dict) else None},
        "name": metadata.get("name"),
        "operation": "CREATE",
        "object": obj,
    }
    if namespace is not None:
        request["namespace"] = namespace
    if shape == "gatekeeper":
        return {"review": request}
    digest = hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()
    uid = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": uid, **request}}


def manifest_of(case_input: object) -> dict | None:
    """The manifest inside a fixture input of any of the three shapes, with the namespace the API server would send.

    An AdmissionReview or Gatekeeper review carries the request namespace
    beside the object; gator reads only the object, so the namespace moves
    into it (the object's own namespace, when it has one, wins on both sides).
    None when there is no object to judge (no object at all, a bare number,
    or a DELETE or CONNECT review, allowed whatever its object): gator has
    nothing to read, and the decision API's answer is fixed by SPEC.
    """
    if not isinstance(case_input, dict):
        return None
    if case_input.get("kind") == "AdmissionReview":
        request = case_input.get("request")
    elif "kind" not in case_input and isinstance(case_input.get("review"), dict):
        request = case_input["review"]
    else:
        return case_input
    if not isinstance(request, dict) or not isinstance(request.get("object"), dict):
        return None
    if request.get("operation") in ("DELETE", "CONNECT"):
        return None
    obj = copy.deepcopy(request["object"])
    if isinstance(request.get("namespace"), str) and "namespace" not in obj.get("metadata", {}):
        obj.setdefault("metadata", {})["namespace"] = request["namespace"]
    return obj
