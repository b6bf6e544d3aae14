"""``winpod audit --cluster`` against a real API server, and Gatekeeper's own audit of the same objects (issue 13, item 6).

Over a thousand objects are created for real (before any Constraint exists,
so admission lets them in), then the Constraints of winpod-config.yaml are
applied. The counts expected per constraint follow from SPEC and how the
objects were built; both ``winpod audit --cluster`` (which pages through every
governed kind with ``limit``/``continue``) and Gatekeeper's audit
(``status.totalViolations``, ``status.violations``) must report them.
"""

import concurrent.futures
import datetime
import json
from collections import Counter

import pytest
from sarif import loader as sarif_loader

from harness.cli import main
from harness.cluster import LocalCluster, live
from harness.cluster.api import Api
from harness.cluster.gatekeeper import apply_constraints, install_templates
from harness.config import load_config
from harness.errors import HarnessError
from harness.gatekeeper import CONSTRAINT_API_VERSION
from harness.tools import REPO_ROOT

pytestmark = [pytest.mark.cluster, pytest.mark.docker]

NANOSERVER = "mcr.microsoft.com/windows/nanoserver:ltsc2022"
SERVERCORE = "mcr.microsoft.com/windows/servercore:ltsc2022"
PODS_PER_SHAPE = 200
DEPLOYMENTS = 30
AUDIT_INTERVAL = 5


def _pod(name: str, namespace: str, *, user: str, image: str = NANOSERVER, host_process: bool = False,
         host_path: str | None = None) -> dict:
    container: dict = {"name": "app", "image": image}
    spec: dict = {"os": {"name": "windows"}, "securityContext": {"windowsOptions": {"runAsUserName": user}},
                  "containers": [container]}
    if host_process:
        spec["securityContext"]["windowsOptions"]["hostProcess"] = True
        spec["hostNetwork"] = True
    if host_path:
        spec["volumes"] = [{"name": "host", "hostPath": {"path": host_path}}]
        container["volumeMounts"] = [{"name": "host", "mountPath": "C:\\host"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


# (shape, namespace, pod keyword arguments, {constraint: violations per object}) - from SPEC and winpod-config.yaml
SHAPES = [
    ("clean", "team-a", {"user": "ContainerUser"}, {}),
    ("admin", "team-a", {"user": "ContainerAdministrator", "image": SERVERCORE}, {"users-container-user": 1}),
    ("windows-dir", "team-a", {"user": "ContainerUser", "host_path": "C:\\Windows"}, {"hostpath-elsewhere": 1}),
    # The pod-level setting and the container inheriting it: two violations (SPEC 2).
    ("host-process", "team-a", {"user": "NT AUTHORITY\\SYSTEM", "host_process": True}, {"hostprocess-elsewhere": 2}),
    ("legacy-admin", "legacy-apps", {"user": "ContainerAdministrator", "image": SERVERCORE}, {"users-legacy": 1}),
    # Allowed HostProcess, one container whose user the dry-run list lacks: one violation.
    ("network-service", "windows-debug", {"user": "NT AUTHORITY\\NETWORK SERVICE", "host_process": True},
     {"hostprocess-debug-local-service": 1}),
]


def _deployment(number: int) -> dict:
    pod = _pod("x", "team-a", user="ContainerAdministrator", image=SERVERCORE)
    labels = {"app": f"web-{number}"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"web-{number}", "namespace": "team-a"},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": pod["spec"]}}}


def objects() -> tuple[list[dict], Counter]:
    created, expected = [], Counter()
    for shape, namespace, options, violations in SHAPES:
        for number in range(PODS_PER_SHAPE):
            created.append(_pod(f"{shape}-{number}", namespace, **options))
            expected.update(violations)
    for number in range(DEPLOYMENTS):
        created.append(_deployment(number))
        expected["users-container-user"] += 1
    return created, expected


@pytest.fixture(scope="module")
def audited_cluster():
    """A cluster holding the objects, Gatekeeper auditing them under winpod-config.yaml; and the expected counts."""
    created, expected = objects()
    try:
        with LocalCluster(gatekeeper=True, audit_interval=AUDIT_INTERVAL) as cluster:
            install_templates(cluster)
            for namespace in sorted({obj["metadata"]["namespace"] for obj in created}):
                cluster.ensure_namespace(namespace)
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda obj: cluster.api.create(obj, obj["metadata"]["namespace"], dry_run=False),
                                        created))
            refused = [(obj["metadata"]["name"], a.message) for obj, a in zip(created, answers, strict=True) if not a.ok]
            assert not refused, f"{len(refused)} objects not created, first: {refused[:3]}"
            applied_at = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
            stored = apply_constraints(cluster, load_config(REPO_ROOT / "winpod-config.yaml"))
            yield cluster, created, expected, stored, applied_at
    except HarnessError as exc:
        pytest.fail(str(exc), pytrace=False)


def test_live_listing_pages_through_every_governed_object(audited_cluster):
    cluster, created, _, _, _ = audited_cluster
    api = Api.from_kubeconfig(cluster.kubeconfig)
    try:
        first = next(api.list_pages(api.resource("v1", "Pod"), limit=97))
        listed = list(live.objects(api, limit=97))
    finally:
        api.close()
    assert len(first["items"]) == 97 and first["metadata"].get("continue"), "the server did not page"
    assert sorted((o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in listed) == \
        sorted((o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in created)
    assert all(o["apiVersion"] in ("v1", "apps/v1") for o in listed)


def test_audit_cluster_reports_what_spec_expects(audited_cluster, tmp_path):
    cluster, created, expected, _, _ = audited_cluster
    report = tmp_path / "audit.json"
    code = main(["audit", "--cluster", "--kubeconfig", str(cluster.kubeconfig), "--context", "winpod-local",
                 "--config", str(REPO_ROOT / "winpod-config.yaml"), "--format", "json", "-o", str(report)])
    result = json.loads(report.read_text(encoding="utf-8"))
    assert code == 1  # deny-level findings
    assert result["summary"]["scanned"] == len(created)
    assert Counter(f["constraint"] for f in result["findings"]) == expected

    for form in ("table", "sarif"):
        main(["audit", "--cluster", "--kubeconfig", str(cluster.kubeconfig), "--config", str(REPO_ROOT / "winpod-config.yaml"),
              "--format", form, "-o", str(tmp_path / form)])
    assert f"{len(created)} objects scanned" in (tmp_path / "table").read_text(encoding="utf-8")
    results = sarif_loader.load_sarif_file(str(tmp_path / "sarif")).get_results()
    assert Counter(r["properties"]["constraint"] for r in results) == expected


def _audited(cluster: LocalCluster, stored: list[dict], since: datetime.datetime) -> list[dict] | None:
    """Each constraint as stored, once Gatekeeper's audit has run over all of them after ``since``."""
    current = []
    for item in stored:
        resource = cluster.api.resource(CONSTRAINT_API_VERSION, item["kind"])
        body = cluster.api.get(resource.path(None, item["metadata"]["name"]), item["metadata"]["name"])
        stamp = (body.get("status") or {}).get("auditTimestamp")
        if not stamp or datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")) <= since:
            return None
        current.append(body)
    return current


def test_gatekeeper_audit_counts_the_same_violations(audited_cluster, tmp_path):
    cluster, _, expected, stored, applied_at = audited_cluster
    found: list[dict] = []

    def audited() -> bool:
        found[:] = _audited(cluster, stored, applied_at) or []
        return bool(found)

    cluster.wait_until("a Gatekeeper audit run after the constraints were applied", audited,
                       timeout=AUDIT_INTERVAL * 12, component=cluster.gatekeeper)
    totals = Counter({c["metadata"]["name"]: c["status"].get("totalViolations", 0) for c in found})
    assert +totals == expected

    report = tmp_path / "audit.json"
    main(["audit", "--cluster", "--kubeconfig", str(cluster.kubeconfig), "--config", str(REPO_ROOT / "winpod-config.yaml"),
          "--format", "json", "-o", str(report)])
    ours = {(f["constraint"], f["kind"], f["namespace"], f["name"], f["msg"])
            for f in json.loads(report.read_text(encoding="utf-8"))["findings"]}
    listed = {(c["metadata"]["name"], v["kind"], v.get("namespace", ""), v["name"], v["message"])
              for c in found for v in c["status"].get("violations") or []}
    assert listed, "Gatekeeper listed no violations"
    assert listed <= ours, f"violations only Gatekeeper reports: {sorted(listed - ours)[:5]}"
