"""Gatekeeper in a cluster: install the templates of gatekeeper/ and the Constraints of a config, and wait until enforced."""

import logging
from pathlib import Path

import yaml

from harness.cluster.local import LocalCluster
from harness.errors import ClusterError
from harness.gatekeeper import CONSTRAINT_API_VERSION, KINDS, constraint
from harness.tools import REPO_ROOT

logger = logging.getLogger(__name__)

TEMPLATE_API_VERSION = "templates.gatekeeper.sh/v1"
READY_TIMEOUT = 60.0


def kustomization_documents(directory: Path = REPO_ROOT / "gatekeeper") -> list[dict]:
    """The documents ``kubectl apply -k directory`` applies: each of ``resources``, in order.

    Only plain ``resources`` are supported (what gatekeeper/kustomization.yaml
    uses); any other key would change the output, so it is refused rather than ignored.
    """
    path = directory / "kustomization.yaml"
    kustomization = yaml.safe_load(path.read_text(encoding="utf-8"))
    unsupported = set(kustomization) - {"apiVersion", "kind", "resources"}
    if unsupported:
        raise ClusterError(f"{path}: field(s) {', '.join(sorted(unsupported))} not supported; expected only resources")
    documents = []
    for resource in kustomization.get("resources", []):
        documents += [d for d in yaml.safe_load_all((directory / resource).read_text(encoding="utf-8")) if d]
    return documents


def install_templates(cluster: LocalCluster, timeout: float = READY_TIMEOUT) -> list[str]:
    """Apply gatekeeper/ and wait until every template reports ``status.created: true``; their names."""
    names = []
    for document in kustomization_documents():
        cluster.api.apply(document)
        names.append(document["metadata"]["name"])
    for name in names:
        cluster.wait_until(f"ConstraintTemplate {name} reaching status.created: true",
                           lambda name=name: _template_created(cluster, name), timeout, cluster.gatekeeper)
    # The template's CRD is created before its status says so; discovery must see it.
    for kind in KINDS.values():
        cluster.wait_until(f"the {kind} constraint kind being served",
                           lambda kind=kind: _served(cluster, kind), timeout, cluster.gatekeeper)
    return names


def _template_created(cluster: LocalCluster, name: str) -> bool:
    body = cluster.api.get(f"/apis/{TEMPLATE_API_VERSION}/constrainttemplates/{name}", f"ConstraintTemplate {name}")
    status = body.get("status") or {}
    errors = [e for pod in status.get("byPod") or [] for e in pod.get("errors") or []]
    if errors:
        raise ClusterError(f"Gatekeeper refused ConstraintTemplate {name}: {errors}")
    return status.get("created") is True


def _served(cluster: LocalCluster, kind: str) -> bool:
    try:
        cluster.api.resource(CONSTRAINT_API_VERSION, kind)
    except ClusterError:
        return False
    return True


def apply_constraints(cluster: LocalCluster, config: dict, timeout: float = READY_TIMEOUT) -> list[dict]:
    """Make the cluster's Constraints exactly those of ``config`` and wait until Gatekeeper enforces each."""
    wanted = [constraint(entry) for entry in config["constraints"]]
    names = {(c["kind"], c["metadata"]["name"]) for c in wanted}
    for kind in KINDS.values():
        resource = cluster.api.resource(CONSTRAINT_API_VERSION, kind)
        for page in cluster.api.list_pages(resource):
            for item in page.get("items") or []:
                if (kind, item["metadata"]["name"]) not in names:
                    cluster.api.delete(CONSTRAINT_API_VERSION, kind, item["metadata"]["name"])
    stored = [cluster.api.apply(c) for c in wanted]
    for item in stored:
        what = f"{item['kind']} {item['metadata']['name']} being enforced"
        cluster.wait_until(what, lambda item=item: _enforced(cluster, item), timeout, cluster.gatekeeper)
    return stored


def _enforced(cluster: LocalCluster, stored: dict) -> bool:
    kind, name = stored["kind"], stored["metadata"]["name"]
    resource = cluster.api.resource(CONSTRAINT_API_VERSION, kind)
    body = cluster.api.get(resource.path(None, name), f"{kind} {name}")
    generation = body["metadata"].get("generation")
    by_pod = (body.get("status") or {}).get("byPod") or []
    webhook = [pod for pod in by_pod if "webhook" in pod.get("operations") or []]
    errors = [e for pod in by_pod for e in pod.get("errors") or []]
    if errors:
        raise ClusterError(f"Gatekeeper refused {kind} {name}: {errors}")
    return bool(webhook) and all(pod.get("enforced") and pod.get("observedGeneration") == generation for pod in webhook)
