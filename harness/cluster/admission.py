"""Admission through a real API server: the webhook configuration for OPA, and what a create's answer means.

The API server reports a webhook's refusal as ``admission webhook "NAME"
denied the request: MESSAGE``, and a webhook it could not call (with
``failurePolicy: Fail``) as ``failed calling webhook "NAME"``; anything else
that is not a success is the API server's own refusal (decoding, validation,
an apiVersion it does not serve), which proves nothing about the policies.
"""

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from harness.cluster.api import Api, Response, Unserved
from harness.cluster.local import LocalCluster
from harness.opa import POLICIES, OpaServer
from harness.opa.client import OpaClient

OPA_WEBHOOK = "winpod.opa.winpod-guard.io"
OPA_WEBHOOK_CONFIGURATION = "winpod-guard-opa"
OPA_ADMISSION_PATH = "/v0/data/winpod/admission"

# The governed kinds (SPEC 1) by resource, in any API group, and the
# subresource `kubectl debug` writes: an ephemeral container reaches a pod
# only as an UPDATE of pods/ephemeralcontainers, never of pods.
GOVERNED_RESOURCES = (
    "pods", "pods/ephemeralcontainers", "podtemplates", "replicationcontrollers",
    "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs",
)

_DENIED = re.compile(r'admission webhook "([^"]+)" denied the request: ?(.*)', re.DOTALL)
_FAILED = re.compile(r'failed calling webhook "([^"]+)"')
# Gatekeeper and the OPA admission answer both write "[constraint] message", one a line.
_CONSTRAINT = re.compile(r"^\[([a-z0-9]([-a-z0-9.]*[a-z0-9])?)\] ", re.MULTILINE)


def only_from(user: str) -> list[dict]:
    """``matchConditions`` limiting a webhook to the requests of ``user``: how a test sends each request to one
    of two webhooks without changing the object (it makes them as that user, by impersonation)."""
    return [{"name": "winpod-guard-route", "expression": f"request.userInfo.username == {json.dumps(user)}"}]


def opa_webhook_configuration(url: str, ca_bundle: str, match_conditions: list[dict] | None = None) -> dict:
    """The ValidatingWebhookConfiguration sending the governed kinds to OPA at ``url`` (the README's)."""
    webhook = {
        "name": OPA_WEBHOOK,
        "admissionReviewVersions": ["v1"],
        "clientConfig": {"url": url, "caBundle": ca_bundle},
        "failurePolicy": "Fail",
        "matchPolicy": "Equivalent",
        "rules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
                   "resources": list(GOVERNED_RESOURCES), "scope": "Namespaced"}],
        "sideEffects": "None",
        "timeoutSeconds": 10,
    }
    if match_conditions:
        webhook["matchConditions"] = match_conditions
    return {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": OPA_WEBHOOK_CONFIGURATION},
        "webhooks": [webhook],
    }


def opa_admission_url(opa: OpaClient) -> str:
    return opa.url + OPA_ADMISSION_PATH


@contextlib.contextmanager
def opa_webhook(cluster: LocalCluster, *, image: str | None = None,
                match_conditions: list[dict] | None = None) -> Iterator[OpaServer]:
    """The harness's OPA container serving HTTPS on loopback with the policies, registered as a webhook of ``cluster``."""
    tls = cluster.workdir / "opa-tls"
    tls.mkdir(exist_ok=True)
    cluster.ca.issue(tls, "tls", "winpod-opa", server=True)
    (tls / "ca.crt").write_bytes(cluster.ca.pem)
    with OpaServer.docker(image, tls_dir=tls) as opa:
        opa.load_policies(POLICIES)
        cluster.api.apply(opa_webhook_configuration(opa_admission_url(opa), cluster.ca_bundle, match_conditions))
        yield opa


@dataclass(frozen=True)
class Outcome:
    """What one request's answer says about admission."""

    allowed: bool
    denied_by: str | None = None  # the webhook that refused
    failed_webhook: str | None = None  # the webhook the API server could not call
    api_refusal: str | None = None  # the API server's own refusal, before or without any webhook
    message: str = ""
    warnings: tuple[str, ...] = field(default=())

    @property
    def constraints(self) -> set[str]:
        """The constraints a webhook's refusal names."""
        return {m.group(1) for m in _CONSTRAINT.finditer(self.message)} if self.denied_by else set()

    @property
    def warned(self) -> set[str]:
        return {m.group(1) for w in self.warnings for m in _CONSTRAINT.finditer(w)}

    def describe(self) -> str:
        if self.api_refusal:
            return f"refused by the API server: {self.api_refusal}"
        if self.failed_webhook:
            return f"webhook {self.failed_webhook} could not be called: {self.message}"
        verdict = f"denied by {self.denied_by}: {self.message}" if self.denied_by else "allowed"
        return verdict + (f"; warnings: {list(self.warnings)}" if self.warnings else "")


def outcome(response: Response) -> Outcome:
    warnings = tuple(response.warnings)
    if response.ok:
        return Outcome(True, warnings=warnings)
    message = response.message
    denied = _DENIED.search(message)
    if denied:
        return Outcome(False, denied_by=denied.group(1), message=denied.group(2), warnings=warnings)
    failed = _FAILED.search(message)
    if failed:
        return Outcome(False, failed_webhook=failed.group(1), message=message, warnings=warnings)
    return Outcome(False, api_refusal=f"HTTP {response.status} {response.reason}: {message}", message=message,
                   warnings=warnings)


def dry_run(api: Api, obj: dict, namespace: str) -> Outcome:
    """``obj`` created with ``dryRun=All`` in ``namespace``: nothing is stored, every admission step runs."""
    try:
        return outcome(api.create(obj, namespace))
    except Unserved as exc:
        return Outcome(False, api_refusal=str(exc))
