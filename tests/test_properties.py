"""Properties of the decision API on generated Windows pods (hypothesis, against the session's OPA).

Each property is a rewrite SPEC says cannot matter - user names and Windows
paths compare case-insensitively, ``/`` and ``\\`` are the same separator, a
pod-level ``hostProcess``/``runAsUserName`` is every container's effective
value, and a pod decides the same inside any workload or review - so the
rewritten pod must get the same ``allowed`` as the original, and the same
findings (constraint and code; fields and messages name what was rewritten). The config
(``fixtures/configs/properties.yaml``) gives every rule room to allow and to
deny. WINPOD_PROPERTY_EXAMPLES sets the examples per property (default 500).
"""

import copy
import os

import pytest
from hypothesis import event, find, given, settings
from hypothesis import strategies as st

from harness.config import load_config
from harness.fixtures import wrap_input, wrap_pod
from harness.kinds import WORKLOADS
from harness.tools import REPO_ROOT

CONFIG = load_config(REPO_ROOT / "fixtures" / "configs" / "properties.yaml")
EXAMPLES = int(os.environ.get("WINPOD_PROPERTY_EXAMPLES", "500"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None)

LISTS = ("containers", "initContainers", "ephemeralContainers")
NAMESPACES = ("tenant-a", "node-agents")
USERS = (None, "ContainerUser", "ContainerAdministrator", "NT AUTHORITY\\SYSTEM", "NT AUTHORITY\\LOCAL SERVICE",
         "CONTOSO\\alice", "CONTOSOEVIL\\bob")
IMAGES = ("mcr.microsoft.com/windows/nanoserver:ltsc2022", "mcr.microsoft.com/windows/servercore:ltsc2022",
          "registry.example.com/app:1.0")
ROOTS = ("C:\\", "c:\\", "D:\\", "\\", "\\\\.\\pipe\\", "\\\\?\\C:\\", "\\\\server\\", "")
SEGMENTS = ("allowed", "Allowed", "allowedevil", "data", "Windows", "logs", ".", "..", "csi-proxy-fs",
            "docker_engine", "x:stream", "")
# A "careful" pod draws from what the config allows (still in any case and
# spelling), so that both verdicts are common; test_generated_pods_reach_both_verdicts
# keeps that honest.
CAREFUL_USERS = (None, "ContainerUser", "containeruser", "CONTOSO\\alice")
CAREFUL_HOST_PROCESS_USERS = ("NT AUTHORITY\\SYSTEM", "nt authority\\local service", "contoso\\svc")
CAREFUL_IMAGES = ("mcr.microsoft.com/windows/nanoserver:ltsc2022",)
CAREFUL_ROOTS = ("C:\\", "c:/", "\\", "\\\\.\\pipe\\")
CAREFUL_SEGMENTS = ("allowed", "ALLOWED", "data", "logs", "csi-proxy-fs", ".", "")
PLACEMENTS = st.sampled_from(("none", "pod", "containers"))
MARKERS = (
    {"os": {"name": "windows"}},
    {"nodeSelector": {"kubernetes.io/os": "windows"}},
    {"nodeSelector": {"beta.kubernetes.io/os": "windows"}},
    {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux", "windows"]}]}]}}}},
)


@pytest.fixture(scope="module")
def decide(opa_session):
    """Decisions under the properties config, one batch request per call."""
    with opa_session.config(CONFIG):
        yield opa_session.decide_many


# --- generated pods ------------------------------------------------------------------

def paths(roots: tuple[str, ...], segments: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda root, parts, separator, trailing: root + separator.join(parts) + trailing,
        st.sampled_from(roots),
        st.lists(st.sampled_from(segments), max_size=3),
        st.sampled_from(("\\", "/")),
        st.sampled_from(("", "\\")),
    )


def windows_options(**values) -> dict:
    options = {key: value for key, value in values.items() if value is not None}
    return {"windowsOptions": options} if options else {}


@st.composite
def pods(draw, host_process=PLACEMENTS, pod_user=None, container_users=None):
    """A Windows pod; ``host_process`` says where a ``hostProcess: true`` goes (nowhere, pod, every container)."""
    placement = draw(host_process)
    careful = draw(st.booleans())
    users = CAREFUL_USERS if placement == "none" else CAREFUL_HOST_PROCESS_USERS
    users = st.sampled_from(users if careful else USERS)
    images = st.sampled_from(CAREFUL_IMAGES if careful else IMAGES)
    volume_paths = paths(CAREFUL_ROOTS, CAREFUL_SEGMENTS) if careful else paths(ROOTS, SEGMENTS)
    volumes = [{"name": f"v{i}", "hostPath": {"path": draw(volume_paths)}} for i in range(draw(st.integers(0, 2)))]
    lists: dict[str, list] = {}
    for key, low, high in (("containers", 1, 2), ("initContainers", 0, 1), ("ephemeralContainers", 0, 1)):
        lists[key] = []
        for index in range(draw(st.integers(low, high))):
            container = {"name": f"{key[0]}{index}", "image": draw(images)}
            context = windows_options(runAsUserName=draw(users if container_users is None else container_users),
                                      hostProcess=True if placement == "containers" else None)
            non_root = draw(st.sampled_from((None, True, False)))
            if non_root is not None:
                context["runAsNonRoot"] = non_root
            if context:
                container["securityContext"] = context
            mounts = [{"name": v["name"], "mountPath": f"C:\\mnt\\{v['name']}",
                       "readOnly": careful or draw(st.booleans())}
                      for v in volumes if draw(st.booleans())]
            if mounts:
                container["volumeMounts"] = mounts
            lists[key].append(container)
    spec = {**copy.deepcopy(draw(st.sampled_from(MARKERS))), **{k: v for k, v in lists.items() if v}}
    pod_context = windows_options(runAsUserName=draw(users if pod_user is None else pod_user),
                                  hostProcess=True if placement == "pod" else None)
    if draw(st.booleans()):
        pod_context["runAsNonRoot"] = True
    if pod_context:
        spec["securityContext"] = pod_context
    if careful and placement != "none" or draw(st.booleans()):
        spec["hostNetwork"] = True
    if volumes:
        spec["volumes"] = volumes
    namespace = "node-agents" if careful and placement != "none" else draw(st.sampled_from(NAMESPACES))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "generated", "namespace": namespace},
            "spec": spec}


# --- rewrites ------------------------------------------------------------------------


def containers(pod: dict) -> list[dict]:
    return [c for key in LISTS for c in pod["spec"].get(key, [])]


def contexts(pod: dict) -> list[dict]:
    """Every securityContext that exists, pod-level first."""
    found = [pod["spec"]["securityContext"]] if "securityContext" in pod["spec"] else []
    return found + [c["securityContext"] for c in containers(pod) if "securityContext" in c]


def per_character(text: str, choices: list[bool], change) -> str:
    """``text`` with ``change`` applied to each character whose choice is true (choices run out as false)."""
    padded = choices + [False] * (len(text) - len(choices))
    return "".join(change(ch) if chosen else ch for ch, chosen in zip(text, padded, strict=False))


def flip_case(text: str, flips: list[bool]) -> str:
    return per_character(text, flips, str.swapcase)


def rewrite_user_names(pod: dict, flips: list[bool]) -> dict:
    pod = copy.deepcopy(pod)
    for context in contexts(pod):
        options = context.get("windowsOptions", {})
        if "runAsUserName" in options:
            options["runAsUserName"] = flip_case(options["runAsUserName"], flips)
    return pod


def rewrite_paths(pod: dict, rewrite) -> dict:
    pod = copy.deepcopy(pod)
    for volume in pod["spec"].get("volumes", []):
        volume["hostPath"]["path"] = rewrite(volume["hostPath"]["path"])
    return pod


def move_to_containers(pod: dict, option: str) -> dict:
    """The pod-level windowsOptions ``option`` set on every container that has none of its own instead."""
    pod = copy.deepcopy(pod)
    value = pod["spec"]["securityContext"]["windowsOptions"].pop(option)
    for container in containers(pod):
        options = container.setdefault("securityContext", {}).setdefault("windowsOptions", {})
        options.setdefault(option, value)
    return pod


def move_to_pod(pod: dict, option: str) -> dict:
    """The ``option`` every container sets (to one value) set once at pod level instead."""
    pod = copy.deepcopy(pod)
    values = {c["securityContext"]["windowsOptions"].pop(option) for c in containers(pod)}
    [value] = values
    pod["spec"].setdefault("securityContext", {}).setdefault("windowsOptions", {})[option] = value
    return pod


def same_verdict(decide, original: dict, *variants: object) -> None:
    """The variants get the original's ``allowed`` and the same findings: (constraint, code) pairs.

    Pairs, not counts or fields: a pod-level hostProcess moved into every
    container is reported at each container instead of once at pod level.
    """
    decisions = decide([original, *variants])
    event("allowed" if decisions[0]["allowed"] else "denied")
    for variant, decision in zip(variants, decisions[1:], strict=True):
        assert (decision["allowed"], findings(decision)) == (decisions[0]["allowed"], findings(decisions[0])), (
            f"original: {decisions[0]}\nvariant: {decision}\noriginal pod: {original}\nvariant: {variant}")


def findings(decision: dict) -> set[tuple[str, str]]:
    return {(v["constraint"], v["code"]) for v in decision["violations"]}


# --- properties ------------------------------------------------------------------------


@PROPERTY
@given(pod=pods(), flips=st.lists(st.booleans(), max_size=30))
def test_user_name_case_does_not_matter(decide, pod, flips):
    same_verdict(decide, pod, rewrite_user_names(pod, flips))


@PROPERTY
@given(pod=pods(), flips=st.lists(st.booleans(), max_size=30))
def test_windows_path_case_does_not_matter(decide, pod, flips):
    same_verdict(decide, pod, rewrite_paths(pod, lambda path: flip_case(path, flips)))


@PROPERTY
@given(pod=pods(), swaps=st.lists(st.booleans(), max_size=30))
def test_slash_and_backslash_are_one_separator(decide, pod, swaps):
    table = {"/": "\\", "\\": "/"}
    same_verdict(decide, pod, rewrite_paths(pod, lambda path: per_character(path, swaps, lambda ch: table.get(ch, ch))))


@PROPERTY
@given(pod=pods(host_process=st.sampled_from(("pod", "containers"))))
def test_host_process_at_pod_level_or_in_every_container(decide, pod):
    at_pod = "hostProcess" in pod["spec"].get("securityContext", {}).get("windowsOptions", {})
    same_verdict(decide, pod, move_to_containers(pod, "hostProcess") if at_pod else move_to_pod(pod, "hostProcess"))


@PROPERTY
@given(pod=pods(pod_user=st.sampled_from(USERS[1:] + CAREFUL_USERS[1:] + CAREFUL_HOST_PROCESS_USERS)))
def test_pod_level_user_moved_into_the_containers(decide, pod):
    same_verdict(decide, pod, move_to_containers(pod, "runAsUserName"))


@PROPERTY
@given(user=st.sampled_from(USERS[1:] + CAREFUL_USERS[1:] + CAREFUL_HOST_PROCESS_USERS), data=st.data())
def test_one_user_in_every_container_moved_to_pod_level(decide, user, data):
    pod = data.draw(pods(pod_user=st.none(), container_users=st.just(user)))
    same_verdict(decide, pod, move_to_pod(pod, "runAsUserName"))


@PROPERTY
@given(pod=pods())
def test_every_workload_and_review_decides_like_the_pod(decide, pod):
    wrapped = [wrap_pod(pod, kind) for kind in WORKLOADS if kind != "Pod"]
    same_verdict(decide, pod, *wrapped, wrap_input(pod, "admissionreview"), wrap_input(pod, "gatekeeper"))


@pytest.mark.parametrize("allowed", [True, False])
def test_generated_pods_reach_both_verdicts(decide, allowed):
    # The properties mean something only if the generator produces pods of
    # either verdict; find() fails when it cannot produce one.
    find(pods(), lambda pod: decide([pod])[0]["allowed"] is allowed, settings=settings(max_examples=2000,
                                                                                      deadline=None))
