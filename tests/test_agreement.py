"""Gatekeeper and the OPA decision API decide alike (SPEC 5).

Every (object, config) pair goes through the real ``gator test`` - the
templates generated from the current policies, the Constraints
``winpod constraints`` makes of the config - and through the OPA decision API
with the same config. Per object, the sets of (constraint, enforcementAction,
code, field, msg) must be equal.

gator is run once per config with all of its objects. An object without
``metadata.namespace`` gets ``default`` on both sides: gator has no request
namespace and treats such an object as matching every ``namespaces`` list,
where an API server would have sent the namespace (SPEC 3 takes ``default``).
"""

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from harness.config import default_config, load_config, validate_config
from harness.fixtures import load_fixtures
from harness.gatekeeper import Paths, constraint_documents, gator_test, render
from harness.inputs import manifest_of, wrap_pod
from harness.kinds import WORKLOADS
from harness.tools import REPO_ROOT

INDEX_ANNOTATION = "winpod-guard.test/agreement-index"
BUILT_IN = "built-in default"


@dataclass(frozen=True)
class Pair:
    """One object to judge under one config; configs are compared by name."""

    name: str
    obj: dict
    config_name: str
    config: dict


# --- the pairs ------------------------------------------------------------------------


def sample_objects() -> list[tuple[str, dict]]:
    """The example objects of gatekeeper/<rule>/samples."""
    found = sorted((REPO_ROOT / "gatekeeper").glob("*/samples/*/example_*.yaml"))
    return [(str(path.relative_to(REPO_ROOT)), yaml.safe_load(path.read_text(encoding="utf-8"))) for path in found]


def _pod(name: str, spec: dict, namespace: str | None = None, labels: dict | None = None) -> dict:
    metadata: dict = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


# Breaks all three rules at once: a HostProcess container next to an ordinary
# one running as ContainerAdministrator, which mounts C:\Windows.
EVERYTHING_WRONG = {
    "os": {"name": "windows"},
    "containers": [
        {
            "name": "agent",
            "image": "contoso.azurecr.io/agent:1",
            "securityContext": {"windowsOptions": {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\SYSTEM"}},
        },
        {
            "name": "app",
            "image": "mcr.microsoft.com/windows/servercore:ltsc2022",
            "securityContext": {"windowsOptions": {"runAsUserName": "ContainerAdministrator"}},
            "volumeMounts": [{"name": "windows", "mountPath": "C:\\host"}],
        },
    ],
    "volumes": [{"name": "windows", "hostPath": {"path": "C:\\Windows"}}],
}

MATCH_CONFIG = {
    "apiVersion": "winpod-guard/v1alpha1",
    "kind": "PolicyConfig",
    "constraints": [
        {"name": "hp-team-prefix", "rule": "hostprocess", "match": {"namespaces": ["team-*"], "excludedNamespaces": ["team-exempt"]}},
        {
            "name": "hp-web-warn",
            "rule": "hostprocess",
            "enforcementAction": "warn",
            "match": {
                "labelSelector": {
                    "matchLabels": {"tier": "web"},
                    "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "staging"]}],
                }
            },
        },
        {"name": "hp-core-group", "rule": "hostprocess", "enforcementAction": "dryrun", "match": {"kinds": [{"apiGroups": [""], "kinds": ["*"]}]}},
        {
            "name": "users-owned-dryrun",
            "rule": "users",
            "enforcementAction": "dryrun",
            "match": {
                "labelSelector": {
                    "matchExpressions": [
                        {"key": "env", "operator": "NotIn", "values": ["dev"]},
                        {"key": "owner", "operator": "Exists"},
                    ]
                }
            },
        },
        {"name": "users-apps-only", "rule": "users", "match": {"kinds": [{"apiGroups": ["apps"], "kinds": ["DaemonSet", "Deployment"]}]}},
        {
            "name": "hostpath-not-exempt",
            "rule": "hostpath",
            "match": {"labelSelector": {"matchExpressions": [{"key": "hostpath-exempt", "operator": "DoesNotExist"}]}},
        },
        {
            "name": "hostpath-any-group-warn",
            "rule": "hostpath",
            "enforcementAction": "warn",
            "match": {"kinds": [{"apiGroups": ["*"], "kinds": ["Pod", "CronJob"]}], "excludedNamespaces": ["kube-*"]},
        },
    ],
}

NAMESPACES = [None, "team-a", "team-exempt", "kube-system"]
LABEL_SETS = [{}, {"tier": "web", "env": "prod"}, {"env": "dev", "owner": "ops"}, {"tier": "web", "env": "staging", "hostpath-exempt": "yes"}]


def match_objects() -> list[tuple[str, dict]]:
    """EVERYTHING_WRONG as every governed kind, in every namespace, under every label set; and a Service."""
    objects = []
    for kind in WORKLOADS:
        for namespace in NAMESPACES:
            for number, labels in enumerate(LABEL_SETS):
                pod = _pod("everything-wrong", EVERYTHING_WRONG, namespace, labels)
                objects.append((f"{kind}/{namespace or '(none)'}/labels{number}", wrap_pod(pod, kind)))
    objects.append(("Service", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "team-a"}, "spec": {"ports": [{"port": 80}]}}))
    return objects


PARAMETER_CONFIG = {
    "apiVersion": "winpod-guard/v1alpha1",
    "kind": "PolicyConfig",
    "constraints": [
        {
            "name": "hp-allowed",
            "rule": "hostprocess",
            "parameters": {
                "allowHostProcess": True,
                "allowedUserNames": ["NT AUTHORITY\\LOCAL SERVICE", "CONTOSO\\*"],
                "allowedImages": ["mcr.microsoft.com/windows/*"],
            },
        },
        {
            "name": "users-contoso",
            "rule": "users",
            "parameters": {
                "allowedUserNames": ["ContainerUser", "CONTOSO\\*"],
                "nonAdminImages": ["mcr.microsoft.com/windows/nanoserver", "registry.local:5000/*"],
            },
        },
        {
            "name": "hostpath-narrow",
            "rule": "hostpath",
            "parameters": {
                "allowedHostPaths": [
                    {"pathPrefix": "C:\\data", "readOnly": True},
                    {"pathPrefix": "\\\\.\\pipe\\csi-proxy-*"},
                    {"pathPrefix": "/var/log"},
                ],
            },
        },
        {"name": "hostpath-admins-ok", "rule": "hostpath", "enforcementAction": "warn", "parameters": {"allowedHostPaths": [{"pathPrefix": "C:\\"}], "denyAdminUsers": False}},
    ],
}


def _host_process_pod(
    name: str, user: str | None, *, host_network: bool = True, image: str = "mcr.microsoft.com/windows/nanoserver:ltsc2022",
    extra: list | None = None, host_process: object = True,
) -> dict:
    options: dict = {"hostProcess": host_process}
    if user is not None:
        options["runAsUserName"] = user
    spec = {"hostNetwork": host_network, "securityContext": {"windowsOptions": options}, "containers": [{"name": "main", "image": image}]}
    spec["containers"] += extra or []
    return _pod(name, spec, "default")


def _user_pod(name: str, user: str | None, image: str = "mcr.microsoft.com/windows/servercore:ltsc2022", non_root: bool | None = None) -> dict:
    context: dict = {}
    if user is not None:
        context["windowsOptions"] = {"runAsUserName": user}
    if non_root is not None:
        context["runAsNonRoot"] = non_root
    return _pod(name, {"os": {"name": "windows"}, "containers": [{"name": "main", "image": image, "securityContext": context}]}, "default")


def _volume_pod(name: str, path: str, *, read_only: bool = False, windows: bool = True, user: str = "ContainerUser") -> dict:
    spec: dict = {
        "containers": [
            {"name": "main", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022",
             "volumeMounts": [{"name": "host", "mountPath": "/host", "readOnly": read_only}]}
        ],
        "volumes": [{"name": "host", "hostPath": {"path": path}}],
    }
    if windows:
        spec["os"] = {"name": "windows"}
        spec["securityContext"] = {"windowsOptions": {"runAsUserName": user}}
    return _pod(name, spec, "default")


def parameter_objects() -> list[tuple[str, dict]]:
    pods = [
        _host_process_pod("hp-local-service", "NT AUTHORITY\\LOCAL SERVICE"),
        _host_process_pod("hp-local-service-lower", "nt authority\\local service"),
        _host_process_pod("hp-contoso", "CONTOSO\\bob"),
        _host_process_pod("hp-contosoevil", "CONTOSOEVIL\\bob"),
        _host_process_pod("hp-system", "NT AUTHORITY\\SYSTEM"),
        _host_process_pod("hp-no-user", None),
        _host_process_pod("hp-no-host-network", "NT AUTHORITY\\LOCAL SERVICE", host_network=False),
        _host_process_pod("hp-other-image", "NT AUTHORITY\\LOCAL SERVICE", image="docker.io/library/busybox:1"),
        _host_process_pod(
            "hp-mixed", "NT AUTHORITY\\LOCAL SERVICE",
            extra=[{"name": "side", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022",
                    "securityContext": {"windowsOptions": {"hostProcess": False}}}],
        ),
        _host_process_pod("hp-string-true", "NT AUTHORITY\\LOCAL SERVICE", host_process="true"),
        _user_pod("user-container-user", "ContainerUser"),
        _user_pod("user-containeruser-lower", "containeruser"),
        _user_pod("user-admin", "ContainerAdministrator"),
        _user_pod("user-contoso", "CONTOSO\\alice"),
        _user_pod("user-default-servercore", None),
        _user_pod("user-default-nanoserver", None, image="mcr.microsoft.com/windows/nanoserver:ltsc2022"),
        _user_pod("user-default-nanoserver-digest", None, image="mcr.microsoft.com/windows/nanoserver@sha256:" + "a" * 64),
        _user_pod("user-default-local-registry", None, image="registry.local:5000/apps/web:2"),
        _user_pod("user-default-non-root", None, non_root=True),
        _volume_pod("path-data-ro", "C:\\data\\logs", read_only=True),
        _volume_pod("path-data-rw", "C:\\data\\logs"),
        _volume_pod("path-database", "C:\\database"),
        _volume_pod("path-data-case", "c:/DATA//x/./y", read_only=True),
        _volume_pod("path-dotdot", "C:\\data\\..\\Windows", read_only=True),
        _volume_pod("path-no-drive", "\\data\\x", read_only=True),
        _volume_pod("path-csi-pipe", "\\\\.\\pipe\\csi-proxy-filesystem-v1"),
        _volume_pod("path-docker-pipe", "\\\\.\\pipe\\docker_engine"),
        _volume_pod("path-unc", "\\\\server\\share\\data", read_only=True),
        _volume_pod("path-stream", "C:\\data\\x:stream", read_only=True),
        _volume_pod("path-linux-log", "/var/log/pods", windows=False),
        _volume_pod("path-linux-logger", "/var/logger", windows=False),
        _volume_pod("path-linux-dotdot", "/var/log/../../etc", windows=False),
        _volume_pod("path-admin-ssh", "C:\\Users\\Administrator\\.ssh", user="ContainerAdministrator"),
    ]
    return [(pod["metadata"]["name"], pod) for pod in pods]


def fixture_pairs() -> list[Pair]:
    """Every case of the fixture corpus, under the config it names."""
    suite = load_fixtures([REPO_ROOT / "fixtures"], root=REPO_ROOT)
    result = []
    for case in suite.cases:
        if case.config is None:
            config_name, config = BUILT_IN, default_config()
        else:
            config_name, config = str(case.config.relative_to(REPO_ROOT)), suite.configs[case.config]
        manifest = manifest_of(case.input)
        if manifest is not None:
            result.append(Pair(case.id, manifest, config_name, config))
    return result


def pairs() -> list[Pair]:
    """Every (object, config) pair the test covers: the fixture corpus, then the samples and ours under four configs."""
    everything = sample_objects() + match_objects() + parameter_objects()
    configs = [
        (BUILT_IN, default_config()),
        ("winpod-config.yaml", load_config(REPO_ROOT / "winpod-config.yaml")),
        ("match", validate_config(MATCH_CONFIG, "MATCH_CONFIG")),
        ("parameters", validate_config(PARAMETER_CONFIG, "PARAMETER_CONFIG")),
    ]
    ours = [Pair(name, obj, config_name, config) for config_name, config in configs for name, obj in everything]
    return fixture_pairs() + ours


def groups(all_pairs: list[Pair]) -> dict[str, list[Pair]]:
    grouped: dict[str, list[Pair]] = {}
    for pair in all_pairs:
        grouped.setdefault(pair.config_name, []).append(pair)
    for name, members in grouped.items():
        assert all(p.config == members[0].config for p in members), f"two different configs are both called {name!r}"
    return grouped


GROUPS = groups(pairs())


# --- running both ------------------------------------------------------------------------


def _index_holder(metadata: dict) -> str:
    """Where the index goes: the annotations, unless a malformed-annotations fixture made them no mapping."""
    return "annotations" if isinstance(metadata.get("annotations", {}), dict) else "labels"


def prepared(obj: dict, index: int) -> dict:
    """``obj`` with the namespace both sides assume and an index that finds it in gator's output."""
    result = copy.deepcopy(obj)
    metadata = result.setdefault("metadata", {})
    metadata.setdefault("namespace", "default")
    metadata.setdefault(_index_holder(metadata), {})[INDEX_ANNOTATION] = str(index)
    return result


def readable_by_gator(obj: dict) -> dict:
    """``obj`` as gator can read it: with a string apiVersion naming a version.

    gator refuses an object whose apiVersion is missing, empty, not a string
    or has more than one slash ("resource x has no version"); the API server
    never sends Gatekeeper one. SPEC 1 governs by kind name whatever the
    apiVersion, so such an object is handed to gator as ``v1`` and its
    decision compared with OPA's on the object as written.
    """
    api_version = obj.get("apiVersion")
    if isinstance(api_version, str) and api_version and api_version.count("/") <= 1 and not api_version.endswith("/"):
        return obj
    return {**obj, "apiVersion": "v1"}


def gatekeeper_answers(results: list[dict], count: int) -> list[set]:
    answers: list[set] = [set() for _ in range(count)]
    for result in results:
        metadata = (result.get("violatingObject") or {}).get("metadata", {})
        annotations = metadata.get(_index_holder(metadata), {})
        if INDEX_ANNOTATION not in annotations:
            raise AssertionError(f"gator reported a violation on an object the test did not send: {json.dumps(result)[:500]}")
        details = (result.get("metadata") or {}).get("details") or {}
        answers[int(annotations[INDEX_ANNOTATION])].add(
            (result["constraint"]["metadata"]["name"], result["enforcementAction"],
             details.get("code"), details.get("field"), result["msg"])
        )
    return answers


def opa_answers(decisions: list[dict]) -> list[set]:
    return [
        {(v["constraint"], v["enforcementAction"], v["code"], v["field"], v["msg"]) for v in decision["violations"]}
        for decision in decisions
    ]


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> Path:
    """The templates as generated from the policies now, whatever gatekeeper/templates holds."""
    directory = tmp_path_factory.mktemp("templates")
    paths = Paths()
    files, _ = render(paths, bump=None)
    for rule_template in (path for path in files if path.parent == paths.gatekeeper / "templates"):
        (directory / rule_template.name).write_text(files[rule_template], encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def timings(request):
    """Collects per-config timings and prints them once the module is done (the issue asks how long gator takes)."""
    collected: list[tuple[str, int, int, float, float]] = []
    yield collected
    if not collected:
        return
    lines = [
        f"agreement: {sum(c[1] for c in collected)} objects ({sum(c[2] for c in collected)} with violations) "
        f"under {len(collected)} configs; gator {sum(c[3] for c in collected):.2f} s ({len(collected)} runs), "
        f"OPA batch {sum(c[4] for c in collected):.2f} s"
    ]
    lines += [
        f"  {name}: {count} objects ({violating} with violations), gator {gator_s:.2f} s, OPA {opa_s:.2f} s"
        for name, count, violating, gator_s, opa_s in collected
    ]
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)


@pytest.mark.gator
@pytest.mark.parametrize("config_name", list(GROUPS))
def test_gatekeeper_and_opa_agree(config_name, opa, templates, timings, tmp_path):
    members = GROUPS[config_name]
    config = members[0].config
    objects = [prepared(pair.obj, index) for index, pair in enumerate(members)]
    constraints = tmp_path / "constraints.yaml"
    constraints.write_text("---\n".join(text for _, text in constraint_documents(config)), encoding="utf-8")
    objects_file = tmp_path / "objects.yaml"
    # JSON documents: exactly the types the OPA side gets, no YAML 1.1 guessing.
    objects_file.write_text(
        "".join(f"---\n{json.dumps(readable_by_gator(obj), ensure_ascii=False)}\n" for obj in objects), encoding="utf-8"
    )

    started = time.perf_counter()
    from_gatekeeper = gatekeeper_answers(gator_test([templates, constraints, objects_file]), len(objects))
    gator_seconds = time.perf_counter() - started
    started = time.perf_counter()
    opa.put_config(config)
    from_opa = opa_answers(opa.decide_many(objects))
    opa_seconds = time.perf_counter() - started
    timings.append((config_name, len(objects), sum(1 for answer in from_opa if answer), gator_seconds, opa_seconds))

    by_name = {entry["name"]: entry for entry in config["constraints"]}
    disagreements = []
    for pair, obj, gk, op in zip(members, objects, from_gatekeeper, from_opa, strict=True):
        if gk == op:
            continue
        involved = sorted({answer[0] for answer in gk ^ op})
        disagreements.append(
            f"object {pair.name} under config {config_name}:\n{json.dumps(obj, indent=1)}\n"
            f"only Gatekeeper: {json.dumps(sorted(gk - op, key=str), indent=1)}\n"
            f"only OPA: {json.dumps(sorted(op - gk, key=str), indent=1)}\n"
            f"both: {json.dumps(sorted(gk & op, key=str), indent=1)}\n"
            f"constraint(s): {json.dumps([by_name[name] for name in involved if name in by_name], indent=1)}"
        )
    assert not disagreements, f"{len(disagreements)} of {len(objects)} objects judged differently:\n\n" + "\n\n".join(disagreements[:10])
