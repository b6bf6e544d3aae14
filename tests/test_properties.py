"""Properties of the decision API on generated pods (hypothesis, against the session's OPA).

Pods come in three families (SPEC 1 "Windows pod"): ``windows`` pods carry
one of the Windows-pod signals; ``unmarked`` pods carry none (Linux images, no
``windowsOptions``, only selectors, affinities and tolerations SPEC says are
not signals), so they are not Windows pods, and those without a hostPath
volume or a required node affinity are quiet (``is_quiet``: the objects the
policy's quiet shortcut skips); ``linux`` pods declare Linux
and may carry any Windows signal besides, and are never Windows pods.

Each property is a rewrite SPEC says cannot matter for the pods it is drawn
over - user names compare case-insensitively; Windows paths (every path of a
Windows pod, a path shaped like one on any pod) case-insensitively, and with
``/`` and ``\\`` as one separator (every path of a Windows pod, a path with a
drive letter on any pod); a declared-Linux pod may start a POSIX path with
``//``; a pod-level ``hostProcess``/``runAsUserName`` is every container's
effective value; a pod decides the same inside any workload, under any
``apiVersion``, in any review but DELETE and CONNECT (always allowed); every
Windows signal makes the same Windows pod; Windows signals do nothing to a pod
that declares Linux; what no rule reads does nothing to a quiet pod - so the
rewritten pod must get the same ``allowed`` as the original, and the
same findings (constraint and code; fields and messages name what was
rewritten). The config (``fixtures/configs/properties.yaml``) gives every rule
room to allow and to deny; the properties about Windows-pod signals also run
under it with ``assumeWindows`` or its own ``windowsImages`` and
``windowsRuntimeClasses``. WINPOD_PROPERTY_EXAMPLES sets the examples per
property (default 500).
"""

import contextlib
import copy
import json
import os
import re
from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, assume, event, find, given, settings
from hypothesis import strategies as st

from harness.config import load_config, validate_config
from harness.inputs import wrap_input, wrap_pod
from harness.kinds import WORKLOADS
from harness.tools import REPO_ROOT

CONFIG_FILE = REPO_ROOT / "fixtures" / "configs" / "properties.yaml"
CONFIG = load_config(CONFIG_FILE)
EXAMPLES = int(os.environ.get("WINPOD_PROPERTY_EXAMPLES", "500"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None)
# Those tests put a config of their own for the whole test, not per example,
# and put the module's back after it: the fixture is meant to outlive examples.
PROPERTY_UNDER_VARIANT = settings(PROPERTY, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Parameters of SPEC 1 "Windows pod" added to the users and hostpath constraints
# of properties.yaml: every pod is a Windows pod unless it declares Linux; or
# images and runtime classes of the unmarked pods below are Windows signals.
VARIANTS = {
    "properties.yaml": {},
    "assumeWindows": {"assumeWindows": True},
    "windowsImages": {"windowsImages": ["nginx:*", "registry.k8s.io/*"], "windowsRuntimeClasses": ["runc"]},
}

LISTS = ("containers", "initContainers", "ephemeralContainers")
NAMESPACES = ("tenant-a", "node-agents")
USERS = (None, "ContainerUser", "ContainerAdministrator", "NT AUTHORITY\\SYSTEM", "NT AUTHORITY\\LOCAL SERVICE",
         "CONTOSO\\alice", "CONTOSOEVIL\\bob")
# Every one matches a glob of SPEC's default windowsImages: by repository, by
# tag, and a digest-only reference by its repository.
WINDOWS_IMAGES = ("mcr.microsoft.com/windows/nanoserver:ltsc2022", "mcr.microsoft.com/windows/servercore:ltsc2022",
                  "registry.example.com/iis:10.0-servercore-ltsc2022",
                  "mcr.microsoft.com/windows@sha256:" + "0" * 64)
# None matches a glob of the default windowsImages (dotnet/runtime is not dotnet/framework).
LINUX_IMAGES = ("registry.k8s.io/pause:3.10", "nginx:1.27", "registry.example.com/app:1.0",
                "mcr.microsoft.com/dotnet/runtime:8.0")
IMAGES = (*WINDOWS_IMAGES, "registry.example.com/app:1.0", "registry.k8s.io/pause:3.10")
ROOTS = ("C:\\", "c:\\", "D:\\", "\\", "/", "//", "/var/log/", "\\\\.\\pipe\\", "\\\\?\\C:\\", "\\\\server\\", "")
SEGMENTS = ("allowed", "Allowed", "allowedevil", "data", "Windows", "logs", ".", "..", "csi-proxy-fs",
            "docker_engine", "x:stream", "")
# A "careful" pod draws from what the config allows (still in any case and
# spelling), so that both verdicts are common; test_generated_pods_reach_both_verdicts
# keeps that honest.
CAREFUL_USERS = (None, "ContainerUser", "containeruser", "CONTOSO\\alice")
CAREFUL_HOST_PROCESS_USERS = ("NT AUTHORITY\\SYSTEM", "nt authority\\local service", "contoso\\svc")
CAREFUL_IMAGES = ("mcr.microsoft.com/windows/nanoserver:ltsc2022",)
CAREFUL_ROOTS = ("C:\\", "c:/", "\\", "/var/log/", "\\\\.\\pipe\\")
CAREFUL_SEGMENTS = ("allowed", "ALLOWED", "data", "logs", "csi-proxy-fs", ".", "")
PLACEMENTS = st.sampled_from(("none", "pod", "containers"))
FAMILIES = ("windows", "unmarked", "linux")
ANY_FAMILY = st.sampled_from(FAMILIES)
VOLUME_COUNTS = st.integers(0, 2)
# The families whose pods may carry windowsOptions (user names, hostProcess).
WITH_OPTIONS = st.sampled_from(("windows", "linux"))


def required_affinity(key: str, operator: str, values: list[str] | None = None) -> dict:
    expression = {"key": key, "operator": operator, **({"values": values} if values else {})}
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [expression]}]}}}}


# SPEC 1 "Windows pod": each makes a pod a Windows pod on its own, unless it
# declares Linux. The image and windowsOptions signals come with the containers.
WINDOWS_SIGNALS = (
    {"os": {"name": "windows"}},
    {"nodeSelector": {"kubernetes.io/os": "windows"}},
    {"nodeSelector": {"beta.kubernetes.io/os": "windows"}},
    {"nodeSelector": {"node.kubernetes.io/windows-build": "10.0.20348"}},
    required_affinity("kubernetes.io/os", "In", ["linux", "windows"]),
    required_affinity("kubernetes.io/os", "NotIn", ["linux"]),
    required_affinity("node.kubernetes.io/windows-build", "In", ["10.0.17763", "10.0.20348"]),
    {"tolerations": [{"key": "os", "operator": "Equal", "value": "windows", "effect": "NoSchedule"}]},
    {"runtimeClassName": "windows-2022"},
)
# What SPEC 1 says is not a signal, and what says nothing of the OS at all.
NOT_SIGNALS = (
    {},
    {"nodeSelector": {"kubernetes.io/arch": "amd64"}},
    {"nodeSelector": {"beta.kubernetes.io/os": "linux"}},
    required_affinity("kubernetes.io/os", "Exists"),
    required_affinity("kubernetes.io/os", "In", ["linux"]),
    required_affinity("kubernetes.io/os", "NotIn", ["windows"]),
    required_affinity("node.kubernetes.io/windows-build", "DoesNotExist"),
    {"tolerations": [{"operator": "Exists"}]},
    {"tolerations": [{"key": "os", "operator": "Equal", "value": "linux", "effect": "NoSchedule"}]},
    {"runtimeClassName": "runc"},
)
# A signal only: gMSA credential specs exist on Windows only, and no rule reads them.
WINDOWS_OPTIONS_SIGNAL = {"securityContext": {"windowsOptions": {"gmsaCredentialSpecName": "webapp"}}}
LINUX_DECLARATIONS = ({"os": {"name": "linux"}}, {"nodeSelector": {"kubernetes.io/os": "linux"}})


@pytest.fixture(scope="module")
def decide(opa_session):
    """Decisions under the properties config, one batch request per call."""
    with opa_session.config(CONFIG):
        yield opa_session.decide_many


@contextlib.contextmanager
def under_variant(opa_session, name: str) -> Iterator[None]:
    """``VARIANTS[name]`` for the block, then the properties config again."""
    parameters = VARIANTS[name]
    config = copy.deepcopy(CONFIG)
    for constraint in config["constraints"]:
        if constraint["rule"] in ("users", "hostpath"):
            constraint["parameters"].update(parameters)
    opa_session.put_config(validate_config(config, f"{CONFIG_FILE} with {parameters} on users and hostpath"))
    try:
        yield
    finally:
        opa_session.put_config(CONFIG)


@pytest.fixture
def variant(request, opa_session, decide):
    """Decisions under ``VARIANTS[request.param]`` for one test."""
    with under_variant(opa_session, request.param):
        yield decide


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


def merged(base: dict, over: dict) -> dict:
    """``base`` with ``over`` on top: mappings merge key by key, anything else ``over`` replaces."""
    result = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


@st.composite
def pods(draw, family=ANY_FAMILY, host_process=PLACEMENTS, pod_user=None, container_users=None,
         volume_count=VOLUME_COUNTS):
    """A pod of ``family``; ``host_process`` says where a ``hostProcess: true`` goes (nowhere, pod, every container).

    An unmarked pod has no windowsOptions, so no hostProcess and no user names
    whatever ``host_process``, ``pod_user`` and ``container_users`` say.
    """
    kind = draw(family)
    unmarked = kind == "unmarked"
    placement = "none" if unmarked else draw(host_process)
    careful = draw(st.booleans())
    if unmarked:
        users = pod_user = container_users = st.none()
        # Once a signal or assumeWindows makes it a Windows pod, only pause runs as a non-admin.
        images = st.just("registry.k8s.io/pause:3.10") if careful else st.sampled_from(LINUX_IMAGES)
    else:
        users = st.sampled_from((CAREFUL_USERS if placement == "none" else CAREFUL_HOST_PROCESS_USERS)
                                if careful else USERS)
        images = st.sampled_from(CAREFUL_IMAGES if careful else IMAGES + (LINUX_IMAGES if kind == "linux" else ()))
    volume_paths = paths(CAREFUL_ROOTS, CAREFUL_SEGMENTS) if careful else paths(ROOTS, SEGMENTS)
    volumes = [{"name": f"v{i}", "hostPath": {"path": draw(volume_paths)}} for i in range(draw(volume_count))]
    mount_root = "C:\\mnt\\" if kind == "windows" else "/mnt/"
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
            mounts = [{"name": v["name"], "mountPath": mount_root + v["name"],
                       "readOnly": careful or draw(st.booleans())}
                      for v in volumes if draw(st.booleans())]
            if mounts:
                container["volumeMounts"] = mounts
            lists[key].append(container)
    if kind == "windows":
        # One signal of the list, or only a Windows image (SPEC's default windowsImages).
        marker = draw(st.sampled_from((*WINDOWS_SIGNALS, None)))
        if marker is None:
            marker = {}
            lists["containers"][0]["image"] = draw(st.sampled_from(WINDOWS_IMAGES))
    elif unmarked:
        marker = draw(st.sampled_from(NOT_SIGNALS))
    else:
        # The declaration wins where it and a Windows signal name the same field.
        marker = merged(draw(st.sampled_from(({}, *WINDOWS_SIGNALS))), draw(st.sampled_from(LINUX_DECLARATIONS)))
    spec = {**copy.deepcopy(marker), **{k: v for k, v in lists.items() if v}}
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
    # The name says the family, for hypothesis' statistics; no rule reads it.
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"generated-{kind}", "namespace": namespace},
            "spec": spec}


def family_of(pod: dict) -> str:
    return pod["metadata"]["name"].removeprefix("generated-")


QUIET_WORDS = ("windows", "hostpath", "nanoserver", "servercore", "ltsc20", "dotnet/framework")


def is_quiet(pod: dict) -> bool:
    """What lib.winpod.pods.is_quiet looks for: no required node affinity, and none
    of the words a Windows signal or a hostPath needs anywhere in the spec, in any case."""
    text = json.dumps(pod["spec"]).lower()
    affinity = pod["spec"].get("affinity", {}).get("nodeAffinity", {})
    return "requiredDuringSchedulingIgnoredDuringExecution" not in affinity and not any(w in text for w in QUIET_WORDS)


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


def rewrite_paths(pod: dict, rewrite, applies=lambda path: True) -> dict:
    """``pod`` with ``rewrite`` applied to each hostPath path for which ``applies`` is true."""
    pod = copy.deepcopy(pod)
    for volume in pod["spec"].get("volumes", []):
        if applies(volume["hostPath"]["path"]):
            volume["hostPath"]["path"] = rewrite(volume["hostPath"]["path"])
    return pod


def has_drive_letter(path: str) -> bool:
    return re.match(r"[A-Za-z]:", path) is not None


def has_windows_shape(path: str) -> bool:
    """SPEC 2 "Path matching": Windows semantics on any pod, from the path alone."""
    return has_drive_letter(path) or path.startswith("\\") or "\\" in path


def is_posix(path: str) -> bool:
    return not has_windows_shape(path)


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


def review(pod: dict, shape: str, operation: str | None, **request: object) -> dict:
    """``pod`` in the AdmissionReview or Gatekeeper review shape, with ``operation`` (None: no operation)."""
    wrapped = wrap_input(pod, shape)
    body = wrapped["request" if shape == "admissionreview" else "review"]
    del body["operation"]
    body.update({"operation": operation} if operation else {}, **request)
    return wrapped


def debug_review(pod: dict, shape: str) -> dict:
    """What ``kubectl debug`` sends: an UPDATE of ``pods/ephemeralcontainers`` adding the pod's ephemeral containers."""
    old = copy.deepcopy(pod)
    old["spec"].pop("ephemeralContainers", None)
    return review(pod, shape, "UPDATE", subResource="ephemeralcontainers", oldObject=old)


def api_version(obj: dict, version: object) -> dict:
    """``obj`` with apiVersion ``version``; ``None`` removes it."""
    obj = copy.deepcopy(obj)
    obj.pop("apiVersion")
    if version is not None:
        obj["apiVersion"] = version
    return obj


def speak_of_windows(pod: dict, where: str) -> dict:
    """``pod`` with ``windows`` and ``hostpath`` in its spec where no rule reads: an env value, an emptyDir's name."""
    pod = copy.deepcopy(pod)
    first = pod["spec"]["containers"][0]
    if where in ("env", "both"):
        first.setdefault("env", []).append({"name": "NOTE", "value": "not a windows pod, no hostpath"})
    if where in ("volume", "both"):
        pod["spec"].setdefault("volumes", []).append({"name": "windows-hostpath-scratch", "emptyDir": {}})
        first.setdefault("volumeMounts", []).append({"name": "windows-hostpath-scratch", "mountPath": "/scratch"})
    return pod


def with_windows_signals(pod: dict, signal: dict, image: str | None, options: dict) -> dict:
    """``pod`` with ``signal`` beside its own fields (its own win), every image ``image`` (None: kept), and
    each windowsOptions of ``options`` on every container whose effective value it would not change."""
    pod = copy.deepcopy(pod)
    pod["spec"] = merged(signal, pod["spec"])
    pod_options = pod["spec"].get("securityContext", {}).get("windowsOptions", {})
    for container in containers(pod):
        if image is not None:
            container["image"] = image
        own = container.setdefault("securityContext", {}).setdefault("windowsOptions", {})
        for key, value in options.items():
            if key not in own and key not in pod_options:
                own[key] = value
        if not own:
            del container["securityContext"]["windowsOptions"]
            if not container["securityContext"]:
                del container["securityContext"]
    return pod


# Wrong types where the quick look (lib.winpod.fast.well_typed) reads, so
# that generated pods take both of its ways: [path in the spec, value].
WRONG_TYPES = (
    (["securityContext"], "x"), (["securityContext", "windowsOptions"], []), (["os"], "windows"),
    (["os", "name"], 1), (["nodeSelector"], []), (["nodeSelector", "kubernetes.io/os"], True),
    (["tolerations"], {}), (["tolerations", 0], "x"), (["tolerations", 0, "value"], 1), (["runtimeClassName"], 1),
    (["volumes"], {}), (["volumes", 0], "x"), (["volumes", 0, "hostPath"], "C:\\"), (["volumes", 0, "hostPath", "path"], 1),
    (["containers"], "x"), (["containers", 0], []), (["containers", 0, "image"], 5),
    (["containers", 0, "securityContext"], []), (["containers", 0, "volumeMounts"], {}),
    (["containers", 0, "volumeMounts", 0], "x"), (["containers", 0, "volumeMounts", 0, "subPath"], 1),
    (["affinity", "nodeAffinity"], "x"),
)


def with_wrong_type(pod: dict, where: tuple[list, object]) -> dict:
    """``pod`` with the value at ``where``'s path replaced (lists and mappings made on the way)."""
    path, value = where
    pod = copy.deepcopy(pod)
    node = pod["spec"]
    for key, following in zip(path, path[1:], strict=False):
        if isinstance(node, list):
            if not node:
                node.append({} if isinstance(following, str) else [])
            node = node[0]
        else:
            if not isinstance(node.get(key), dict | list):
                node[key] = [] if isinstance(following, int) else {}
            node = node[key]
    if isinstance(node, list):
        node[:1] = [value]
    else:
        node[path[-1]] = value
    return pod


def decide_without_shortcuts(opa_session, objects: list[dict]) -> list[dict]:
    """The batch decision with every shortcut of lib.winpod.fast replaced by the slow path it stands for."""
    query = ("x := data.winpod.batch with data.lib.winpod.fast.is_quiet as false"
             " with data.lib.winpod.fast.problems as data.lib.winpod.shapes.problems")
    response = requests.post(f"{opa_session.url}/v1/query", json={"query": query, "input": {"items": objects}},
                             timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["result"][0]["x"]["decisions"]


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
@given(pod=pods(family=WITH_OPTIONS), flips=st.lists(st.booleans(), max_size=30))
def test_user_name_case_does_not_matter(decide, pod, flips):
    event(family_of(pod))
    same_verdict(decide, pod, rewrite_user_names(pod, flips))


@PROPERTY
@given(pod=pods(), flips=st.lists(st.booleans(), max_size=30))
def test_windows_path_case_does_not_matter(decide, pod, flips):
    # Every path of a Windows pod has Windows semantics; on other pods, a path
    # shaped like one (and flipping case keeps the shape).
    event(family_of(pod))
    applies = (lambda path: True) if family_of(pod) == "windows" else has_windows_shape
    same_verdict(decide, pod, rewrite_paths(pod, lambda path: flip_case(path, flips), applies))


@PROPERTY
@given(pod=pods(), swaps=st.lists(st.booleans(), max_size=30))
def test_slash_and_backslash_are_one_separator(decide, pod, swaps):
    # Off a Windows pod only a drive letter keeps a path Windows whatever its
    # separators: "\data" has Windows semantics there, "/data" POSIX.
    event(family_of(pod))
    table = {"/": "\\", "\\": "/"}
    applies = (lambda path: True) if family_of(pod) == "windows" else has_drive_letter
    same_verdict(decide, pod, rewrite_paths(
        pod, lambda path: per_character(path, swaps, lambda ch: table.get(ch, ch)), applies))


@PROPERTY
@given(pod=pods(family=st.just("linux")))
def test_a_declared_linux_pod_may_start_a_posix_path_with_two_slashes(decide, pod):
    # SPEC 2 POSIX: "//" collapses, and a leading "//" is refused only off a declared-Linux pod.
    same_verdict(decide, pod, rewrite_paths(pod, lambda path: "/" + path, lambda path: path.startswith("/")
                                            and is_posix(path)))


@PROPERTY
@given(pod=pods(family=WITH_OPTIONS, host_process=st.sampled_from(("pod", "containers"))))
def test_host_process_at_pod_level_or_in_every_container(decide, pod):
    event(family_of(pod))
    at_pod = "hostProcess" in pod["spec"].get("securityContext", {}).get("windowsOptions", {})
    same_verdict(decide, pod, move_to_containers(pod, "hostProcess") if at_pod else move_to_pod(pod, "hostProcess"))


@PROPERTY
@given(pod=pods(family=WITH_OPTIONS,
                pod_user=st.sampled_from(USERS[1:] + CAREFUL_USERS[1:] + CAREFUL_HOST_PROCESS_USERS)))
def test_pod_level_user_moved_into_the_containers(decide, pod):
    event(family_of(pod))
    same_verdict(decide, pod, move_to_containers(pod, "runAsUserName"))


@PROPERTY
@given(user=st.sampled_from(USERS[1:] + CAREFUL_USERS[1:] + CAREFUL_HOST_PROCESS_USERS), data=st.data())
def test_one_user_in_every_container_moved_to_pod_level(decide, user, data):
    pod = data.draw(pods(family=WITH_OPTIONS, pod_user=st.none(), container_users=st.just(user)))
    event(family_of(pod))
    same_verdict(decide, pod, move_to_pod(pod, "runAsUserName"))


@PROPERTY
@given(pod=pods())
def test_every_workload_and_review_decides_like_the_pod(decide, pod):
    # SPEC 1 "Objects": every operation but DELETE and CONNECT, none at all
    # included, is decided on the object; kubectl debug's UPDATE of
    # pods/ephemeralcontainers too.
    event(family_of(pod))
    shapes = ("admissionreview", "gatekeeper")
    wrapped = [wrap_pod(pod, kind) for kind in WORKLOADS if kind != "Pod"]
    reviews = [review(pod, shape, operation) for shape in shapes for operation in ("CREATE", "UPDATE", None)]
    debugs = [debug_review(pod, shape) for shape in shapes]
    # SPEC 3: the object's namespace, else the request's, else default (which
    # properties.yaml treats like tenant-a: every namespace but node-agents alike).
    namespace = pod["metadata"]["namespace"]
    homeless = copy.deepcopy(pod)
    del homeless["metadata"]["namespace"]
    namespaces = [wrap_input(pod, shape, namespace="elsewhere") for shape in shapes]
    namespaces += [wrap_input(homeless, shape, namespace=namespace) for shape in shapes]
    namespaces += [homeless] if namespace == "tenant-a" else []
    same_verdict(decide, pod, *wrapped, *reviews, *debugs, *namespaces)


@PROPERTY
@given(pod=pods(), kind=st.sampled_from(list(WORKLOADS)),
       version=st.sampled_from((None, "", "v1", "core/v1", "apps/v1beta2", "extensions/v1beta1", "batch/v1beta1",
                                "v1beta1", "not/a/version", 1)))
def test_any_api_version_decides_like_the_pod(decide, pod, kind, version):
    # SPEC 1 "Objects": governed by kind name, whatever the apiVersion.
    event(family_of(pod))
    same_verdict(decide, pod, api_version(wrap_pod(pod, kind), version))


@PROPERTY
@given(pod=pods(), kind=st.sampled_from(list(WORKLOADS)), shape=st.sampled_from(("admissionreview", "gatekeeper")),
       operation=st.sampled_from(("DELETE", "CONNECT")))
def test_delete_and_connect_are_allowed(decide, pod, kind, shape, operation):
    event(family_of(pod))
    [decision] = decide([review(wrap_pod(pod, kind), shape, operation)])
    assert decision == {"allowed": True, "violations": []}, f"{operation} {kind}: {decision}\npod: {pod}"


@PROPERTY_UNDER_VARIANT
@pytest.mark.parametrize(("variant", "unmarked_is_windows"), [("properties.yaml", False), ("assumeWindows", True)],
                         indirect=["variant"])
@given(pod=pods(family=st.just("unmarked")))
def test_every_windows_signal_makes_the_same_windows_pod(variant, unmarked_is_windows, pod):
    # An unmarked pod has no windowsOptions and only Linux images, so adding a
    # signal that is not an image or a user changes one thing: it is now a
    # Windows pod (users read, image default users presumed, Windows paths);
    # under assumeWindows it was one already.
    signalled = [merged(pod, {"spec": signal}) for signal in (*WINDOWS_SIGNALS, WINDOWS_OPTIONS_SIGNAL)]
    same_verdict(variant, *signalled, *([pod] if unmarked_is_windows else []))


@PROPERTY
@given(pod=pods(family=st.just("windows")), signal=st.sampled_from((*WINDOWS_SIGNALS, WINDOWS_OPTIONS_SIGNAL)))
def test_a_second_windows_signal_changes_nothing(decide, pod, signal):
    same_verdict(decide, pod, merged(pod, {"spec": signal}))


@PROPERTY
@given(pod=pods(family=st.just("unmarked")), image=st.sampled_from(WINDOWS_IMAGES))
def test_a_windows_image_alone_makes_a_windows_pod(decide, pod, image):
    # "A servercore image and nothing else": the image is the pod's only
    # signal, and an OS name beside it changes nothing.
    pod = copy.deepcopy(pod)
    pod["spec"]["containers"][0]["image"] = image
    same_verdict(decide, pod, merged(pod, {"spec": {"os": {"name": "windows"}}}))


@PROPERTY_UNDER_VARIANT
@pytest.mark.parametrize("variant", ["properties.yaml", "assumeWindows"], indirect=True)
@given(pod=pods(family=st.just("linux"), host_process=st.just("none")),
       signal=st.sampled_from(WINDOWS_SIGNALS), image=st.sampled_from((None, *WINDOWS_IMAGES)),
       options=st.sampled_from(({}, {"gmsaCredentialSpecName": "webapp"}, {"runAsUserName": "ContainerUser"})))
def test_windows_signals_do_nothing_to_a_declared_linux_pod(variant, pod, signal, image, options):
    # With no HostProcess container, hostprocess has nothing to read; users
    # reads only Windows pods, which this one never is; hostpath reads the
    # image default user only on a Windows pod, and ContainerUser is no admin.
    same_verdict(variant, pod, with_windows_signals(pod, signal, image, options))


@PROPERTY_UNDER_VARIANT
@pytest.mark.parametrize("variant", ["properties.yaml", "assumeWindows"], indirect=True)
@given(pod=pods(family=st.just("linux")))
def test_a_declared_linux_pod_has_no_users_findings(variant, pod):
    [decision] = variant([pod])
    event("allowed" if decision["allowed"] else "denied")
    assert [v for v in decision["violations"] if v["rule"] == "users"] == [], f"{decision}\npod: {pod}"


@PROPERTY_UNDER_VARIANT
@pytest.mark.parametrize("variant", list(VARIANTS), indirect=True)
@given(pod=pods(family=st.just("unmarked"), volume_count=st.just(0)), kind=st.sampled_from(list(WORKLOADS)),
       where=st.sampled_from(("env", "volume", "both")))
def test_the_quiet_shortcut_never_changes_a_decision(variant, pod, kind, where):
    # The rewrite makes the spec speak of Windows and hostPath where no rule
    # reads (metadata would not do: the shortcut reads the spec only).
    assume(is_quiet(pod))
    rewritten = speak_of_windows(pod, where)
    assert not is_quiet(rewritten)
    same_verdict(variant, wrap_pod(pod, kind), wrap_pod(rewritten, kind))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("allowed", [True, False])
def test_generated_pods_reach_both_verdicts(decide, family, allowed):
    # The properties mean something only if the generator produces pods of
    # every family and either verdict; find() fails when it cannot produce one.
    find(pods(family=st.just(family)), lambda pod: decide([pod])[0]["allowed"] is allowed,
         settings=settings(max_examples=2000, deadline=None))


@pytest.mark.parametrize("allowed", [True, False])
def test_generated_quiet_pods_reach_both_verdicts(decide, opa_session, allowed):
    # Quiet pods are allowed under properties.yaml; under assumeWindows an
    # image not in nonAdminImages presumes ContainerAdministrator.
    with under_variant(opa_session, "properties.yaml" if allowed else "assumeWindows"):
        find(pods(family=st.just("unmarked"), volume_count=st.just(0)),
             lambda pod: is_quiet(pod) and decide([pod])[0]["allowed"] is allowed,
             settings=settings(max_examples=2000, deadline=None))


@PROPERTY
@given(batch=st.lists(st.tuples(pods(), st.sampled_from(list(WORKLOADS)), st.none() | st.sampled_from(WRONG_TYPES)),
                      min_size=1, max_size=8))
def test_the_shortcuts_never_change_a_decision(decide, opa_session, batch):
    # lib.winpod.fast, replaced by the slow path it stands for through OPA's
    # function mocking (with ... as): quiet and not, every family and kind,
    # well typed and not; the whole decision, messages included, is the same.
    objects = [wrap_pod(pod if wrong is None else with_wrong_type(pod, wrong), kind) for pod, kind, wrong in batch]
    for pod, _, wrong in batch:
        event("wrong-typed" if wrong is not None else "quiet" if is_quiet(pod) else "not quiet")
    assert decide(objects) == decide_without_shortcuts(opa_session, objects)
