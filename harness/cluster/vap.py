"""The generated ValidatingAdmissionPolicies in a cluster: install a config's, remove them, read an answer.

The API server reports a policy's refusal as ``ValidatingAdmissionPolicy
'POLICY' with binding 'BINDING' denied request: MESSAGE`` (one such line per
refusing policy) and a ``Warn`` one as a ``Warning`` header ``Validation failed
for ValidatingAdmissionPolicy 'POLICY' with binding 'BINDING': MESSAGE``.
The generator names policy and binding after the config entry, so the names
in those lines are the constraints.
"""

import re
import time
from dataclasses import dataclass, field

from harness.cluster.api import Response, Unserved
from harness.cluster.local import LocalCluster
from harness.vap import API_VERSION, RULE_LABEL, binding, policy

READY_TIMEOUT = 30.0
_POLL = 0.2
_DENIED = re.compile(r"ValidatingAdmissionPolicy '([^']+)' with binding '[^']+' denied request: ?([^\n]*)")
_WARNED = re.compile(r"ValidatingAdmissionPolicy '([^']+)' with binding '[^']+'")
KINDS = ("ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy")


@dataclass(frozen=True)
class VapOutcome:
    """What one request's answer says about the policies."""

    allowed: bool
    constraints: frozenset[str] = frozenset()  # the policies that refused
    warned: frozenset[str] = frozenset()
    api_refusal: str | None = None  # the API server's own refusal (decoding, validation, no such apiVersion)
    message: str = ""
    warnings: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        if self.api_refusal:
            return f"refused by the API server: {self.api_refusal}"
        verdict = f"denied: {self.message}" if not self.allowed else "allowed"
        return verdict + (f"; warnings: {list(self.warnings)}" if self.warnings else "")


def vap_outcome(response: Response) -> VapOutcome:
    warnings = tuple(response.warnings)
    warned = frozenset(m.group(1) for w in warnings for m in _WARNED.finditer(w))
    if response.ok:
        return VapOutcome(True, warned=warned, warnings=warnings)
    message = response.message
    denied = frozenset(m.group(1) for m in _DENIED.finditer(message))
    if denied or "ValidatingAdmissionPolicy '" in message:
        return VapOutcome(False, constraints=denied, warned=warned, message=message, warnings=warnings)
    return VapOutcome(False, api_refusal=f"HTTP {response.status} {response.reason}: {message}", message=message,
                      warnings=warnings)


def remove_policies(cluster: LocalCluster) -> None:
    """Delete every policy and binding the generator wrote (by their rule label)."""
    for kind in KINDS:
        resource = cluster.api.resource(API_VERSION, kind)
        for page in cluster.api.list_pages(resource):
            for item in page.get("items") or []:
                if RULE_LABEL in ((item.get("metadata") or {}).get("labels") or {}):
                    cluster.api.delete(API_VERSION, kind, item["metadata"]["name"])


def apply_policies(cluster: LocalCluster, config: dict, timeout: float = READY_TIMEOUT, *, warn_only: bool = False,
                   match_conditions: list[dict] | None = None) -> None:
    """Replace the cluster's generated policies with ``config``'s, and wait until the API server enforces them.

    ``warn_only`` binds every policy with ``Warn``: the API server stops at the
    first policy that denies, but reports every failing ``Warn`` one, so a test
    sees each policy's verdict on one request. ``match_conditions`` are added to
    every policy's own (the bench routes one user's requests to the policies so).

    Policy status (type checking) comes from kube-controller-manager, which a
    local cluster does not run, so the signal is a sentinel applied last: a
    policy refusing one ConfigMap name. The admission plugin sees policies and
    bindings in the order they were written, one watch for each, so once the
    sentinel refuses, every policy and binding before it is enforced.
    """
    remove_policies(cluster)
    for entry in config["constraints"]:
        generated = policy(entry)
        if match_conditions:
            generated["spec"]["matchConditions"] = [*generated["spec"].get("matchConditions", []), *match_conditions]
        cluster.api.apply(generated)
        bound = binding(entry)
        if warn_only:
            bound["spec"]["validationActions"] = ["Warn"]
        cluster.api.apply(bound)
    probe = f"winpod-guard-sentinel-{time.monotonic_ns()}"
    cluster.api.apply(_sentinel_policy(probe))
    cluster.api.apply({"apiVersion": API_VERSION, "kind": "ValidatingAdmissionPolicyBinding",
                       "metadata": {"name": SENTINEL, "labels": {RULE_LABEL: "sentinel"}},
                       "spec": {"policyName": SENTINEL, "validationActions": ["Deny"]}})
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": probe}}
    cluster.wait_until("the generated ValidatingAdmissionPolicies being enforced",
                       lambda: not cluster.api.create(config_map, "default").ok, timeout)


SENTINEL = "winpod-guard-sentinel"


def _sentinel_policy(probe: str) -> dict:
    return {"apiVersion": API_VERSION, "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": SENTINEL, "labels": {RULE_LABEL: "sentinel"}},
            "spec": {"failurePolicy": "Fail",
                     "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                             "operations": ["CREATE"], "resources": ["configmaps"]}]},
                     "validations": [{"expression": f"object.metadata.name != '{probe}'"}]}}


def dry_run(api, obj: dict, namespace: str) -> VapOutcome:
    """``obj`` created with ``dryRun=All``: every admission step runs, nothing is stored."""
    try:
        return vap_outcome(api.create(obj, namespace))
    except Unserved as exc:
        return VapOutcome(False, api_refusal=str(exc))

