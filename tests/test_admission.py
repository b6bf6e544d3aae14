"""Admission in a real API server: Gatekeeper and OPA as webhooks of a kube-apiserver the harness starts (issue 13).

The templates of gatekeeper/ are installed as ``kubectl apply -k`` would and
must reach ``status.created``; then every fixture case's object (for the
review shapes, the object inside) is created with ``dryRun=All`` under the
Constraints of the case's config, and the answer compared with the case's
expectation: denied iff ``allowed: false``, the refusal naming each expected
deny constraint, expected ``warn`` constraints among the response warnings.
The same object goes through OPA's ``/v0/data/winpod/admission`` registered as
a second webhook, and the two verdicts must be the same case by case.

Both webhooks are registered at once, each with a ``matchCondition`` on the
requesting user; the test makes each request as one of two users (by
impersonation), so each answer is one engine's and the object is sent exactly
as the fixture has it. A Pod case with ``ephemeralContainers`` (which no create
may carry) goes the way ``kubectl debug`` does: the pod without them is created
by a third user no webhook sees, and its ``pods/ephemeralcontainers``
subresource is patched with them.
Cases the API server refuses itself (a malformed object, an apiVersion it does
not serve) prove nothing about admission: they are counted and listed apart.
"""

import copy
import json
import re
from collections import Counter

import pytest
from test_agreement import BUILT_IN, manifest_of

from harness.cluster import Api, LocalCluster
from harness.cluster.admission import (
    OPA_WEBHOOK,
    Outcome,
    dry_run,
    only_from,
    opa_admission_url,
    opa_webhook_configuration,
    outcome,
)
from harness.cluster.admission import (
    opa_webhook as opa_webhook_serving,
)
from harness.cluster.gatekeeper import apply_constraints, install_templates
from harness.cluster.local import GATEKEEPER_WEBHOOK, gatekeeper_webhook_configuration
from harness.config import default_config, load_config, validate_config
from harness.errors import HarnessError
from harness.fixtures import Case, load_fixtures
from harness.tools import REPO_ROOT

ENGINES = {"gatekeeper": GATEKEEPER_WEBHOOK, "opa": OPA_WEBHOOK}
# Requests by these users reach only that engine's webhook; UNSEEN's reach none.
USERS = {engine: f"winpod-test:{engine}" for engine in ENGINES}
UNSEEN = "winpod-test:no-webhook"

pytestmark = [pytest.mark.cluster, pytest.mark.docker]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        with LocalCluster(gatekeeper=True) as started:
            install_templates(started)
            yield started
    except HarnessError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def opa_webhook(cluster: LocalCluster):
    """The harness's OPA container serving HTTPS on loopback, registered as the second webhook."""
    try:
        with opa_webhook_serving(cluster, match_conditions=only_from(USERS["opa"])) as opa:
            cluster.opa_url = opa_admission_url(opa)
            cluster.api.apply(gatekeeper_webhook_configuration(cluster.gatekeeper_url, cluster.ca_bundle,
                                                               only_from(USERS["gatekeeper"])))
            yield opa
    except HarnessError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def apis(cluster: LocalCluster) -> dict[str, Api]:
    """Per engine, the cluster's client acting as the user whose requests reach only that engine."""
    return {engine: cluster.api.as_user(user) for engine, user in USERS.items()}


# --- the corpus ---------------------------------------------------------------------


def corpus() -> dict[str, list[tuple[Case, dict]]]:
    """Each config's cases with the object an API server would be sent, by config name."""
    suite = load_fixtures([REPO_ROOT / "fixtures"], root=REPO_ROOT)
    grouped: dict[str, list[tuple[Case, dict]]] = {}
    for case in suite.cases:
        obj = manifest_of(case.input)
        if obj is None:
            continue  # DELETE, CONNECT or nothing to create: no object reaches admission
        name = BUILT_IN if case.config is None else str(case.config.relative_to(REPO_ROOT))
        grouped.setdefault(name, []).append((case, obj))
    return grouped


CORPUS = corpus()


def config_of(name: str) -> dict:
    return default_config() if name == BUILT_IN else load_config(REPO_ROOT / name)


def namespace_of(obj: dict) -> str:
    metadata = obj.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    return namespace if isinstance(namespace, str) and namespace else "default"


def expectation_problems(case: Case, config: dict, got: Outcome) -> list[str]:
    """How Gatekeeper's answer departs from the case's expectation (written from SPEC, not from an engine)."""
    problems = []
    if got.allowed != case.expect.allowed:
        problems.append(f"expected {'allowed' if case.expect.allowed else 'denied'}, got {got.describe()}")
    actions = {entry["name"]: entry["enforcementAction"] for entry in config["constraints"]}
    for pattern in case.expect.violations or ():
        if pattern.constraint is None:
            continue
        action = pattern.enforcement_action or actions.get(pattern.constraint)
        if action == "deny" and pattern.constraint not in got.constraints:
            problems.append(f"the refusal does not name deny constraint {pattern.constraint}: {got.describe()}")
        if action == "warn" and pattern.constraint not in got.warned:
            problems.append(f"no warning from warn constraint {pattern.constraint}: {got.describe()}")
    return problems


def verdict(got: Outcome) -> tuple:
    """What two engines must agree on: the verdict, the deny constraints named, the warn constraints."""
    return (got.allowed, got.denied_by is not None, sorted(got.constraints), sorted(got.warned))


class Refusals:
    """The cases the API server refused itself, and the count of those both webhooks judged, for the summary."""

    def __init__(self):
        self.cases: list[tuple[str, str]] = []
        self.judged = 0


@pytest.fixture(scope="module")
def refusals(request):
    collected = Refusals()
    yield collected
    if not collected.cases and not collected.judged:
        return
    reasons = Counter(refusal_cause(reason) for _, reason in collected.cases)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(f"admission: {collected.judged} fixture cases judged by both webhooks; "
                            f"{len(collected.cases)} refused by the API server itself:")
        for reason, count in reasons.most_common():
            reporter.write_line(f"  {count:4d}  {reason}")


# Why the API server refuses a case, most specific first (the fixtures README counts them so).
REFUSAL_CAUSES = [
    ("a field of the wrong JSON type (malformed/ and the type cases of v2/)", "cannot unmarshal"),
    ("an apiVersion the server does not serve, or none (v2/kinds-by-name)", "serves no"),
    ("HostProcess pod validation: hostNetwork, every container HostProcess, pod and container settings equal",
     "hostProcess|hostNetwork must be true"),
    ("ephemeralContainers in a pod template (only a Pod's subresource may add them)", "ephemeral containers not allowed"),
    ("a Job or CronJob template without restartPolicy OnFailure or Never", '"OnFailure", "Never"'),
    ("runAsUserName refused by Windows account validation (domain and user syntax)", "runAsUserName"),
    ("a hostPath or mount path with a '..' segment, or a mount of no volume", r"must not contain '\.\.'|Not found"),
    ("a subPath the server refuses: absolute, or on an ephemeral container", "subPath"),
    ("a Namespace object the test had already created", "AlreadyExists"),
]


def refusal_cause(reason: str) -> str:
    for cause, pattern in REFUSAL_CAUSES:
        if re.search(pattern, reason):
            return cause
    return reason[:160]


def ensure_runtime_class(cluster: LocalCluster, obj: dict) -> None:
    """The RuntimeClass a Pod names, as a cluster offering it would have it (the RuntimeClass admission plugin
    refuses a pod naming none). Without scheduling: its nodeSelector would be merged into the pod."""
    spec = obj.get("spec") if obj.get("kind") == "Pod" else None
    name = spec.get("runtimeClassName") if isinstance(spec, dict) else None
    if isinstance(name, str) and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name):
        cluster.api.apply({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name},
                           "handler": name})


def _ephemeral_containers(obj: dict) -> list | None:
    spec = obj.get("spec") if obj.get("kind") == "Pod" else None
    found = spec.get("ephemeralContainers") if isinstance(spec, dict) else None
    return found if isinstance(found, list) and found else None


def admit(cluster: LocalCluster, apis: dict[str, Api], obj: dict, namespace: str, number: int) -> dict[str, Outcome]:
    """Each engine's answer to ``obj``: a dry-run create, or for ephemeral containers what kubectl debug sends."""
    ephemeral = _ephemeral_containers(obj)
    if ephemeral is None:
        return {engine: dry_run(api, obj, namespace) for engine, api in apis.items()}
    pod = copy.deepcopy(obj)
    del pod["spec"]["ephemeralContainers"]
    metadata = pod.setdefault("metadata", {})
    metadata.pop("generateName", None)
    metadata["name"] = f"case-{number}"
    unseen = cluster.api.as_user(UNSEEN)
    created = outcome(unseen.create(pod, namespace, dry_run=False))
    if not created.allowed:
        return {engine: created for engine in apis}
    try:
        return {engine: debug(api, namespace, metadata["name"], *ephemeral) for engine, api in apis.items()}
    finally:
        unseen.delete("v1", "Pod", metadata["name"], namespace)


@pytest.mark.parametrize("config_name", list(CORPUS))
def test_gatekeeper_and_opa_admit_as_the_fixtures_expect(config_name, cluster, apis, opa_webhook, refusals):
    config = config_of(config_name)
    apply_constraints(cluster, config)
    opa_webhook.put_config(config)
    answers: dict[str, dict[str, Outcome]] = {}
    problems = []
    for case, obj in CORPUS[config_name]:
        key = json.dumps(obj, sort_keys=True)
        if key not in answers:
            namespace = namespace_of(obj)
            cluster.ensure_namespace(namespace)
            ensure_runtime_class(cluster, obj)
            answers[key] = admit(cluster, apis, obj, namespace, len(answers))
        gatekeeper, opa = answers[key]["gatekeeper"], answers[key]["opa"]
        if gatekeeper.api_refusal or opa.api_refusal:
            if bool(gatekeeper.api_refusal) != bool(opa.api_refusal):
                problems.append(f"{case.id}: the API server refused only one of the two requests: "
                                f"gatekeeper {gatekeeper.describe()}; opa {opa.describe()}")
            else:
                refusals.cases.append((case.id, gatekeeper.api_refusal))
            continue
        refusals.judged += 1
        for engine, got in (("gatekeeper", gatekeeper), ("opa", opa)):
            if got.failed_webhook:
                problems.append(f"{case.id}: {engine}: {got.describe()}")
            elif got.denied_by not in (None, ENGINES[engine]):
                problems.append(f"{case.id}: {engine}'s request was refused by another webhook: {got.describe()}")
        problems += [f"{case.id}: gatekeeper: {p}" for p in expectation_problems(case, config, gatekeeper)]
        if verdict(gatekeeper) != verdict(opa):
            problems.append(f"{case.id}: Gatekeeper and OPA disagree: gatekeeper {gatekeeper.describe()}; "
                            f"opa {opa.describe()}")
    assert not problems, f"{len(problems)} problem(s) under {config_name}:\n" + "\n".join(problems[:40])


# --- kubectl debug: an ephemeral container added to an admitted pod ------------------------

DEBUG_CONFIG = {
    "apiVersion": "winpod-guard/v1alpha1",
    "kind": "PolicyConfig",
    "constraints": [
        {"name": "hostprocess-debug", "rule": "hostprocess", "match": {"namespaces": ["debug-hostprocess"]},
         "parameters": {"allowHostProcess": True, "allowedUserNames": ["NT AUTHORITY\\LOCAL SERVICE"],
                        "allowedImages": ["mcr.microsoft.com/windows/nanoserver:*"]}},
        {"name": "hostprocess-elsewhere", "rule": "hostprocess", "match": {"excludedNamespaces": ["debug-hostprocess"]}},
        {"name": "users-container-user", "rule": "users"},
        {"name": "hostpath-data-read-only", "rule": "hostpath",
         "parameters": {"allowedHostPaths": [{"pathPrefix": "C:\\data", "readOnly": True}]}},
    ],
}
NANOSERVER = "mcr.microsoft.com/windows/nanoserver:ltsc2022"


def _windows_pod(name: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "os": {"name": "windows"},
            "securityContext": {"windowsOptions": {"runAsUserName": "ContainerUser"}},
            "containers": [{"name": "app", "image": NANOSERVER,
                            "volumeMounts": [{"name": "data", "mountPath": "C:\\data", "readOnly": True}]}],
            "volumes": [{"name": "data", "hostPath": {"path": "C:\\data"}}],
        },
    }


def _host_process_pod(name: str) -> dict:
    options = {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\LOCAL SERVICE"}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"os": {"name": "windows"}, "hostNetwork": True, "securityContext": {"windowsOptions": options},
                 "containers": [{"name": "agent", "image": NANOSERVER}]},
    }


def _debugger(**extra: object) -> dict:
    return {"name": "debugger", "image": NANOSERVER, "stdin": True, "tty": True, **extra}


# (name, the pod it attacks, the ephemeral container kubectl debug adds, expected: allowed, or API for
# the API server's own refusal)
API = "refused by the API server"
DEBUG_CASES = [
    ("plain-debugger", "app", _debugger(), True),
    ("read-only-mount", "app", _debugger(volumeMounts=[{"name": "data", "mountPath": "C:\\data", "readOnly": True}]), True),
    ("container-administrator", "app",
     _debugger(securityContext={"windowsOptions": {"runAsUserName": "ContainerAdministrator"}}), False),
    ("read-write-mount-of-read-only-path", "app",
     _debugger(volumeMounts=[{"name": "data", "mountPath": "C:\\data"}]), False),
    ("host-process-as-system", "hostprocess",
     _debugger(securityContext={"windowsOptions": {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\SYSTEM"}}), False),
    ("host-process-other-image", "hostprocess",
     {**_debugger(image="docker.io/library/busybox:1"),
      "securityContext": {"windowsOptions": {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\LOCAL SERVICE"}}}, False),
    # Validation refuses a HostProcess container in a pod that is not all
    # HostProcess with hostNetwork, before any webhook: safe without the policies.
    ("host-process-in-ordinary-pod", "app",
     _debugger(securityContext={"windowsOptions": {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\SYSTEM"}}), API),
]


@pytest.fixture(scope="module")
def debug_pods(cluster: LocalCluster, apis, opa_webhook) -> dict[tuple[str, str], tuple[str, str]]:
    """Per (target, engine): the namespace and name of a pod each engine admitted for real (the attacks' targets)."""
    config = validate_config(DEBUG_CONFIG, "DEBUG_CONFIG")
    apply_constraints(cluster, config)
    opa_webhook.put_config(config)
    pods = {}
    for engine in ENGINES:
        for target, namespace, make in (("app", "debug-app", _windows_pod), ("hostprocess", "debug-hostprocess", _host_process_pod)):
            cluster.ensure_namespace(namespace)
            name = f"{target}-{engine}"
            created = outcome(apis[engine].create(make(name), namespace, dry_run=False))
            assert created.allowed, f"the {target} pod itself was not admitted by {engine}: {created.describe()}"
            pods[(target, engine)] = (namespace, name)
    return pods


def debug(api: Api, namespace: str, pod: str, *containers: dict) -> Outcome:
    """What `kubectl debug` sends: a strategic merge patch of the pods/ephemeralcontainers subresource (dry run)."""
    path = api.resource("v1", "Pod").path(namespace, pod, "ephemeralcontainers")
    response = api.request("PATCH", path, query=[("dryRun", "All")], body={"spec": {"ephemeralContainers": list(containers)}},
                           content_type="application/strategic-merge-patch+json")
    return outcome(response)


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize(("name", "target", "container", "allowed"), DEBUG_CASES, ids=[c[0] for c in DEBUG_CASES])
def test_kubectl_debug_is_judged_on_the_ephemeral_container(name, target, container, allowed, engine, apis, debug_pods):
    namespace, pod = debug_pods[(target, engine)]
    got = debug(apis[engine], namespace, pod, container)
    if allowed == API:
        assert got.api_refusal and "hostProcess" in got.api_refusal, got.describe()
        return
    assert got.api_refusal is None and got.failed_webhook is None, got.describe()
    assert got.allowed is allowed, got.describe()
    if not allowed:
        assert got.denied_by == ENGINES[engine], got.describe()


def test_a_webhook_without_the_subresource_misses_kubectl_debug(cluster, debug_pods):
    """Why the README's configuration lists pods/ephemeralcontainers: with `pods` alone the attack passes."""
    user = "winpod-test:opa-pods-only"
    api = cluster.api.as_user(user)
    webhook = opa_webhook_configuration(cluster.opa_url, cluster.ca_bundle, only_from(user))
    webhook["metadata"]["name"] = "winpod-guard-opa-pods-only"
    webhook["webhooks"][0]["name"] = "pods-only.opa.winpod-guard.io"
    rules = webhook["webhooks"][0]["rules"][0]
    rules["resources"] = [r for r in rules["resources"] if r != "pods/ephemeralcontainers"]
    cluster.api.apply(webhook)
    try:
        cluster.ensure_namespace("debug-app")
        created = outcome(api.create(_windows_pod("app-pods-only"), "debug-app", dry_run=False))
        assert created.allowed, created.describe()
        admin = _debugger(securityContext={"windowsOptions": {"runAsUserName": "ContainerAdministrator"}})
        got = debug(api, "debug-app", "app-pods-only", admin)
        assert got.allowed, f"expected the gap the README warns of, got {got.describe()}"
    finally:
        cluster.api.delete("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", webhook["metadata"]["name"])
