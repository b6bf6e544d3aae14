"""``winpod bench`` (``make bench``): how fast a real OPA container answers.

Prints container cold start to healthy (median of 5), decisions per second
through ``decide`` (one request per object) and ``decide_many`` (the batch
endpoint) on a generated corpus of pod manifests, and OPA's own
``timer_rego_query_eval_ns`` for ``winpod.decision``: per object from
``decide`` with ``?metrics=true``, and per item of a batch (the batch's
evaluation time divided by its size). The per-object figure is taken in one
interleaved run beside harness/floor, the cheapest useful check, in a second
OPA container: each object is evaluated by the policy and by the floor one
right after the other, over several rounds, so that the decision / floor
ratio compares the two under the same load on a shared, noisy machine. A
figure, not a test: it exits 0 when a target is missed, and says so.
"""

import argparse
import json
import logging
import statistics
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from harness import manifests, vap_cost
from harness.cli import audit
from harness.cluster import bench as cluster_bench
from harness.config import default_config, load_config
from harness.inputs import wrap_pod
from harness.kinds import WORKLOADS
from harness.opa import BATCH_CHUNK, BATCH_PATH, DECISION_PATH, POLICIES, OpaServer
from harness.tools import REPO_ROOT

logger = logging.getLogger(__name__)

COLD_STARTS = 5
DECISION_ROUNDS = 3
RATIO_ROUNDS = 5
COLD_START_TARGET_S = 1.5
BATCH_RATE_TARGET = 5000
EVAL_P99_TARGET_US = 100
AUDIT_OBJECTS = 10_000
AUDIT_TARGET_S = 10.0
ADMISSION_OBJECTS = 300
FLOOR_POLICY = REPO_ROOT / "harness" / "floor"

NAMESPACES = ("default", "windows-debug", "csi-proxy", "legacy-app", "kube-system")
LINUX_IMAGE = "registry.k8s.io/pause:3.10"
NANOSERVER = "mcr.microsoft.com/windows/nanoserver:ltsc2022"
SERVERCORE = "mcr.microsoft.com/windows/servercore:ltsc2022"


def _container(name: str, image: str, **extra: object) -> dict:
    return {"name": name, "image": image, **extra}


def _windows(*containers: dict, security: dict | None = None, **extra: object) -> dict:
    spec: dict = {"os": {"name": "windows"}, "containers": list(containers), **extra}
    if security:
        spec["securityContext"] = security
    return spec


def _as_user(user: str) -> dict:
    return {"windowsOptions": {"runAsUserName": user}}


def _mount(volume: str, path: str, read_only: bool = False) -> dict:
    return {"name": volume, "mountPath": path, "readOnly": read_only}


# Pod specs: clean and violating, Linux and Windows, each rule family and its
# awkward corners (string "true", init and ephemeral containers, pipes).
POD_SPECS: dict[str, Callable[[], dict]] = {
    "linux-clean": lambda: {"containers": [_container("app", LINUX_IMAGE)]},
    "linux-hostpath": lambda: {
        "containers": [_container("app", LINUX_IMAGE, volumeMounts=[_mount("etc", "/host/etc")])],
        "volumes": [{"name": "etc", "hostPath": {"path": "/etc"}}],
    },
    "linux-hostpath-readonly-log": lambda: {
        "containers": [_container("app", LINUX_IMAGE, volumeMounts=[_mount("log", "/var/log", True)])],
        "volumes": [{"name": "log", "hostPath": {"path": "/var/log/", "type": "Directory"}}],
    },
    "windows-container-user": lambda: _windows(_container("app", SERVERCORE),
                                              security=_as_user("ContainerUser")),
    "windows-nanoserver-default-user": lambda: _windows(_container("app", NANOSERVER)),
    "windows-servercore-presumed-admin": lambda: _windows(_container("app", SERVERCORE)),
    "windows-container-administrator": lambda: _windows(
        _container("app", SERVERCORE, securityContext=_as_user("ContainerAdministrator"))),
    "windows-run-as-non-root": lambda: _windows(_container("app", SERVERCORE),
                                               security={"runAsNonRoot": True}),
    "windows-admin-init-container": lambda: _windows(
        _container("app", NANOSERVER), security=_as_user("ContainerUser"),
        initContainers=[_container("init", SERVERCORE, securityContext=_as_user("nt authority\\system"))]),
    "windows-ephemeral-admin": lambda: _windows(
        _container("app", NANOSERVER), security=_as_user("ContainerUser"),
        ephemeralContainers=[_container("debug", SERVERCORE, securityContext=_as_user("ContainerAdministrator"))]),
    "hostprocess-pod-level": lambda: _windows(
        _container("agent", NANOSERVER), hostNetwork=True,
        security={"windowsOptions": {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\LOCAL SERVICE"}}),
    "hostprocess-string-true": lambda: _windows(
        _container("agent", SERVERCORE, securityContext={"windowsOptions": {"hostProcess": "true"}})),
    "hostprocess-mixed": lambda: _windows(
        _container("agent", NANOSERVER, securityContext={
            "windowsOptions": {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\SYSTEM"}}),
        _container("app", NANOSERVER), hostNetwork=True),
    "windows-hostpath-system": lambda: _windows(
        _container("app", NANOSERVER, volumeMounts=[_mount("win", "C:\\host")]),
        security=_as_user("ContainerUser"), volumes=[{"name": "win", "hostPath": {"path": "C:\\Windows"}}]),
    "windows-hostpath-docker-pipe": lambda: _windows(
        _container("app", NANOSERVER, volumeMounts=[_mount("pipe", "\\\\.\\pipe\\docker_engine")]),
        security=_as_user("ContainerUser"),
        volumes=[{"name": "pipe", "hostPath": {"path": "\\\\.\\pipe\\docker_engine"}}]),
    "windows-hostpath-csi-pipe": lambda: _windows(
        _container("node", NANOSERVER, volumeMounts=[_mount("csi", "\\\\.\\pipe\\csi-proxy-filesystem-v1")]),
        security=_as_user("ContainerUser"),
        volumes=[{"name": "csi", "hostPath": {"path": "\\\\.\\pipe\\csi-proxy-filesystem-v1"}}]),
    "windows-hostpath-dotdot": lambda: _windows(
        _container("app", NANOSERVER, volumeMounts=[_mount("up", "C:\\data", True)]),
        security=_as_user("ContainerUser"), volumes=[{"name": "up", "hostPath": {"path": "C:\\data\\..\\Windows"}}]),
}


def corpus(count: int) -> list[dict]:
    """``count`` manifests cycling through every governed kind, pod spec and namespace."""
    kinds = list(WORKLOADS)
    specs = list(POD_SPECS.items())
    objects = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        variant, make_spec = specs[(i // len(kinds)) % len(specs)]
        namespace = NAMESPACES[(i // (len(kinds) * len(specs))) % len(NAMESPACES)]
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": f"bench-{i}-{variant}", "namespace": namespace, "labels": {"app": variant}},
               "spec": make_spec()}
        objects.append(wrap_pod(pod, kind))
    return objects


def write_export(path: Path, count: int) -> None:
    """``count`` corpus objects in one List, in kubectl's layout: JSON (keys sorted, four spaces) for a
    .json path, else YAML; written an item at a time."""
    objects = corpus(count)
    with path.open("w", encoding="utf-8") as out:
        if path.suffix == ".json":
            out.write('{\n    "apiVersion": "v1",\n    "items": [\n')
            for index, obj in enumerate(objects):
                text = json.dumps(obj, indent=4, sort_keys=True)
                out.write(textwrap.indent(text, " " * 8) + (",\n" if index < count - 1 else "\n"))
            out.write('    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')
            return
        out.write("apiVersion: v1\nitems:\n")
        for obj in objects:
            text = yaml.dump(obj, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), default_flow_style=False)
            out.write("- " + textwrap.indent(text, "  ")[2:])
        out.write('kind: List\nmetadata:\n  resourceVersion: ""\n')


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="how fast a real OPA container answers (a developer command)",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--count", type=_positive, default=1000, help="manifests in the corpus (default 1000)")
    parser.add_argument("--policies", type=Path, default=POLICIES, metavar="DIR")
    example_config = REPO_ROOT / "winpod-config.yaml"
    parser.add_argument("--config", type=lambda value: Path(value) if value else None, metavar="FILE",
                        default=example_config if example_config.is_file() else None,
                        help="config to decide under (default: winpod-config.yaml if present; '' for the built-in)")
    parser.add_argument("--image", help="OPA image (default: as `winpod serve`)")
    parser.add_argument("--export", type=Path, metavar="FILE",
                        help="only write --count objects to FILE as kubectl get -o json (FILE.json) or -o yaml "
                             "(FILE.yaml) writes a List, for measuring audit (README, Limits)")
    parser.set_defaults(func=run, error_prefix="bench")


def run(args: argparse.Namespace) -> int:
    if args.export:
        write_export(args.export, args.count)
        return 0
    rows, header = _run(args)
    print(header)
    _print_table(rows)
    return 0


def _run(args: argparse.Namespace) -> tuple[list[tuple[str, str, str, str]], str]:
    config = load_config(args.config) if args.config else None
    objects = corpus(args.count)

    # The first start may resolve (pull or build) the image: not part of a cold start.
    with OpaServer.docker(args.image) as opa:
        description = opa.description
    starts = []
    for _ in range(COLD_STARTS):
        began = time.perf_counter()
        with OpaServer.docker(args.image):
            starts.append(time.perf_counter() - began)

    with OpaServer.docker(args.image) as opa:
        opa.load_policies(args.policies)
        if config is not None:
            opa.put_config(config)
        for obj in objects[:50]:
            opa.decide(obj)

        began = time.perf_counter()
        single = [opa.decide(obj) for obj in objects]
        decide_rate = len(objects) / (time.perf_counter() - began)

        batch_times = []
        for _ in range(DECISION_ROUNDS):
            began = time.perf_counter()
            batched = opa.decide_many(objects)
            batch_times.append(time.perf_counter() - began)
        batch_rate = len(objects) / statistics.median(batch_times)
        agree = sum(a == b for a, b in zip(single, batched, strict=True))

        with OpaServer.docker(args.image) as floor:
            floor.load_policies(FLOOR_POLICY)
            for obj in objects[:50]:
                floor.decide(obj)
            rounds = _interleaved(opa, floor, objects, RATIO_ROUNDS)

        per_item = []
        for start in range(0, len(objects), BATCH_CHUNK):
            part = objects[start : start + BATCH_CHUNK]
            metrics = opa.evaluate(BATCH_PATH, {"items": part}, metrics=True).metrics
            per_item.append(metrics["timer_rego_query_eval_ns"] / len(part))

        audit_seconds, audit_findings = _audit(opa, AUDIT_OBJECTS)

    admission_rows = cluster_bench.rows(objects[:ADMISSION_OBJECTS], config, args.image)

    denied = sum(not d["allowed"] for d in single)
    cold = statistics.median(starts)
    per_object = sorted(t for policy_times, _ in rounds for t in policy_times)
    floor_times = sorted(t for _, times in rounds for t in times)
    p50, p99 = _percentile(per_object, 50) / 1000, _percentile(per_object, 99) / 1000
    floor_p50, floor_p99 = _percentile(floor_times, 50) / 1000, _percentile(floor_times, 99) / 1000
    spread = {pct: [_percentile(sorted(policy_times), pct) / _percentile(sorted(times), pct)
                    for policy_times, times in rounds] for pct in (50, 99)}
    header = (f"winpod-guard bench: {description}; {len(objects)} manifests ({len(WORKLOADS)} kinds x "
              f"{len(POD_SPECS)} pod specs x {len(NAMESPACES)} namespaces; {denied} denied); "
              f"policies {args.policies}; config {args.config or 'built-in default'}")
    rows = [
        ("container cold start to healthy, median of 5", f"{cold:.2f} s",
         f"<= {COLD_START_TARGET_S} s", _verdict(cold <= COLD_START_TARGET_S)),
        ("  (min .. max)", f"{min(starts):.2f} .. {max(starts):.2f} s", "", ""),
        ("decide: one request per object", f"{decide_rate:,.0f} /s", "", ""),
        (f"decide_many: batches of {BATCH_CHUNK}, median of {DECISION_ROUNDS}", f"{batch_rate:,.0f} /s",
         f">= {BATCH_RATE_TARGET:,} /s", _verdict(batch_rate >= BATCH_RATE_TARGET)),
        ("decide_many agrees with decide", f"{agree}/{len(objects)}", f"{len(objects)}/{len(objects)}",
         _verdict(agree == len(objects))),
        (f"rego eval per object (decide ?metrics), interleaved with the floor, {RATIO_ROUNDS} rounds: p50",
         f"{p50:.0f} us", "", ""),
        ("rego eval per object p99", f"{p99:.0f} us",
         f"<= {EVAL_P99_TARGET_US} us", _verdict(p99 <= EVAL_P99_TARGET_US)),
        ("  floor: the same for harness/floor (one field, no config) p50", f"{floor_p50:.0f} us", "", ""),
        ("  floor p99", f"{floor_p99:.0f} us", "", ""),
        ("decision / floor ratio of the p50s", f"{p50 / floor_p50:.1f}x", "", ""),
        ("  per round (min .. max)", f"{min(spread[50]):.1f} .. {max(spread[50]):.1f}x", "", ""),
        ("decision / floor ratio of the p99s", f"{p99 / floor_p99:.1f}x", "", ""),
        ("  per round (min .. max)", f"{min(spread[99]):.1f} .. {max(spread[99]):.1f}x", "", ""),
        ("rego eval per batch item (batch eval / size) mean", f"{statistics.mean(per_item) / 1000:.0f} us", "", ""),
        (f"winpod audit of a {AUDIT_OBJECTS:,}-object export (read + decide)", f"{audit_seconds:.1f} s",
         f"<= {AUDIT_TARGET_S:.0f} s", _verdict(audit_seconds <= AUDIT_TARGET_S)),
        ("  findings", f"{audit_findings:,}", "", ""),
        *admission_rows,
        *_cel_cost_rows(config),
    ]
    return rows, header


def _cel_cost_rows(config: dict | None) -> list[tuple[str, str, str, str]]:
    """Per ValidatingAdmissionPolicy of ``config`` (None: the built-in), its worst actual CEL cost over the
    fixture corpus against the API server's limits (``winpod vap --cost``'s figures)."""
    report, costs = vap_cost.measure(config or default_config())
    bounds = vap_cost.limits(report)
    rows = []
    for item in costs:
        worst = item.worst_expression
        rows.append((f"VAP CEL cost {item.name}: worst policy total over the corpus ({item.worst_total_case})",
                     f"{item.worst_total:,}", f"<= {bounds.per_policy:,}",
                     _verdict(item.worst_total <= bounds.per_policy)))
        rows.append((f"  worst expression ({worst.label}, {worst.worst_case})",
                     f"{worst.worst:,}", f"<= {bounds.per_expression:,}",
                     _verdict(worst.worst <= bounds.per_expression)))
    return rows


def _interleaved(opa: OpaServer, floor: OpaServer, objects: list[dict],
                 rounds: int) -> list[tuple[list[int], list[int]]]:
    """Per round, OPA's evaluation time of every object under the policy and under the floor (ns).

    Each object goes to one server and then at once to the other, first one
    order and then the other on alternate rounds, so that whatever else the
    machine is doing weighs on both sides of the ratio alike.
    """
    def eval_ns(server: OpaServer, obj: dict) -> int:
        return server.evaluate(DECISION_PATH, obj, metrics=True).metrics["timer_rego_query_eval_ns"]

    measured = []
    for number in range(rounds):
        policy_times, floor_times = [], []
        for obj in objects:
            if number % 2:
                floor_times.append(eval_ns(floor, obj))
                policy_times.append(eval_ns(opa, obj))
            else:
                policy_times.append(eval_ns(opa, obj))
                floor_times.append(eval_ns(floor, obj))
        measured.append((policy_times, floor_times))
    return measured


def _audit(opa: OpaServer, count: int) -> tuple[float, int]:
    """Seconds to read a ``kubectl get -o json``-style export of ``count`` objects and audit it."""
    export = json.dumps({"apiVersion": "v1", "kind": "List", "items": corpus(count)}, indent=2)
    with tempfile.TemporaryDirectory(prefix="winpod-bench-") as directory:
        path = Path(directory) / "export.json"
        path.write_text(export)
        began = time.perf_counter()
        result = audit.audit(opa, manifests.stream([str(path)]))
        return time.perf_counter() - began, len(result.findings)


def _positive(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _percentile(ordered: list[int], pct: int) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, -(-pct * len(ordered) // 100))
    return ordered[rank - 1]


def _verdict(met: bool) -> str:
    return "ok" if met else "MISSED"


def _print_table(rows: list[tuple[str, str, str, str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    print(f"{'measure':<{widths[0]}}  {'value':>{widths[1]}}  {'target':<{widths[2]}}")
    for measure, value, target, verdict in rows:
        print(f"{measure:<{widths[0]}}  {value:>{widths[1]}}  {target:<{widths[2]}}  {verdict}".rstrip())

