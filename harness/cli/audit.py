"""``winpod audit``: what already runs, or is about to, judged by the real decision API.

Reads cluster exports (``kubectl get pods,deploy,ds,sts,rs,job,cronjob -A -o json``),
multi-document YAML, JSON and manifest trees; reports a table, JSON or SARIF.
``--inventory`` lists every HostProcess workload whatever the config says.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import logging
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path, PurePath
from typing import Any, TextIO

from harness import __version__, manifests
from harness.cli.options import add_server_arguments, prepare_output, serving, write_output
from harness.config import load_config
from harness.errors import HarnessError, ManifestError, OpaError
from harness.kinds import is_governed, name, namespace
from harness.opa import BATCH_CHUNK, OpaClient, map_batches

logger = logging.getLogger(__name__)

INVENTORY_PATH = "winpod/inventory"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVELS = {"deny": "error", "warn": "warning", "dryrun": "note"}
# Objects read, decided and dropped at a time: a few batch requests' worth, so that
# the batch endpoint's workers stay busy while memory holds one round.
ROUND = 4 * BATCH_CHUNK
_CONTAINER = re.compile(r"^(.*?)\.(containers|initContainers|ephemeralContainers)\[(\d+)\]")


@dataclass(frozen=True)
class Finding:
    source: str
    document: int
    item: int | None
    line: int
    namespace: str
    kind: str
    name: str
    container: str
    rule: str
    code: str
    constraint: str
    enforcementAction: str  # noqa: N815 - the decision API's field name
    field: str
    msg: str


@dataclass
class Audit:
    scanned: int
    skipped: Counter
    findings: list[Finding]
    errors: list[manifests.DocumentError]

    @property
    def with_violations(self) -> int:
        return len({(f.source, f.document, f.item) for f in self.findings})

    def exit_code(self) -> int:
        if self.errors:
            return 2
        return 1 if any(f.enforcementAction == "deny" for f in self.findings) else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="audit cluster exports and manifest trees",
        description="Evaluate every object of a cluster export or manifest tree through the OPA decision API. "
        "Exit 0 when clean, 1 on findings at deny level, 2 on input errors.",
    )
    parser.add_argument("paths", nargs="*", default=[manifests.STDIN], metavar="FILE|DIR|-",
                        help="kubectl -o json/yaml output, manifests or directories of them (default: stdin)")
    parser.add_argument("--config", help="winpod-guard PolicyConfig (default: the built-in config)")
    parser.add_argument("--format", choices=("table", "json", "sarif"), default="table")
    parser.add_argument("-o", "--output", help="write the report to this file instead of stdout")
    parser.add_argument("--inventory", action="store_true",
                        help="list every HostProcess workload with its namespace, accounts and images")
    add_server_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.inventory and args.format == "sarif":
        raise HarnessError("--inventory lists workloads, not findings: use --format table or json")
    config = load_config(args.config) if args.config else None
    prepare_output(args.output)
    found = _reported(manifests.stream(args.paths))
    first = next(found, None)
    if first is None:
        raise ManifestError(f"no Kubernetes objects in {' '.join(args.paths)}")
    found = itertools.chain([first], found)
    out = io.StringIO()
    with serving(args, config) as opa:
        if args.inventory:
            errors: list[manifests.DocumentError] = []
            rows = inventory(opa, found, errors)
            if args.format == "table":
                _inventory_table(rows, out)
            else:
                json.dump({"hostProcessWorkloads": rows}, out, indent=2)
                out.write("\n")
            code = 0
        else:
            result = audit(opa, found)
            errors = result.errors
            {"table": write_table, "json": write_json, "sarif": write_sarif}[args.format](result, out)
            code = result.exit_code()
    write_output(args.output, out.getvalue())
    return 2 if errors else code


def _reported(found: Iterator[manifests.Document | manifests.DocumentError]) -> Iterator[
        manifests.Document | manifests.DocumentError]:
    """What ``found`` gives, each error said on stderr as it is read."""
    for item in found:
        if isinstance(item, manifests.DocumentError):
            print(f"winpod audit: {item}", file=sys.stderr)
        yield item


def _rounds(found: Iterable[manifests.Document | manifests.DocumentError],
            errors: list[manifests.DocumentError]) -> Iterator[list[manifests.Document]]:
    """The documents of ``found`` a round at a time (errors to ``errors``): a round is decided and
    dropped before the next is read, so memory holds one round, not the export."""
    batch: list[manifests.Document] = []
    for item in found:
        if isinstance(item, manifests.DocumentError):
            errors.append(item)
            continue
        batch.append(item)
        if len(batch) == ROUND:
            yield batch
            batch = []
    if batch:
        yield batch


def audit(opa: OpaClient, found: Iterable[manifests.Document | manifests.DocumentError]) -> Audit:
    result = Audit(scanned=0, skipped=Counter(), findings=[], errors=[])
    for batch in _rounds(found, result.errors):
        _decide(opa, batch, result)
    return result


def _decide(opa: OpaClient, batch: list[manifests.Document], result: Audit) -> None:
    """One round into ``result``; what it read is no longer referenced once this returns."""
    governed = [d for d in batch if is_governed(d.obj)]
    result.skipped.update(_kind(d.obj) for d in batch if not is_governed(d.obj))
    batch.clear()
    result.scanned += len(governed)
    for document, decision in zip(governed, opa.decide_many([d.obj for d in governed]), strict=True):
        for violation in decision["violations"]:
            result.findings.append(_finding(document, violation))


def inventory(opa: OpaClient, found: Iterable[manifests.Document | manifests.DocumentError],
              errors: list[manifests.DocumentError] | None = None) -> list[dict]:
    """Every governed object with a HostProcess container, its accounts and images."""
    rows = []
    for batch in _rounds(found, errors if errors is not None else []):
        governed = [d for d in batch if is_governed(d.obj)]
        entries = map_batches([d.obj for d in governed], lambda part, _: _inventory_entries(opa, part))
        rows += [{
            "namespace": namespace(document.obj), "kind": document.obj["kind"], "name": name(document.obj),
            "source": document.source, "line": document.line,
            "hostNetwork": entry["hostNetwork"], "containers": entry["containers"],
        } for document, entry in zip(governed, entries, strict=True) if entry["containers"]]
    return sorted(rows, key=lambda r: (r["namespace"], r["kind"], r["name"], r["source"], r["line"]))


def _inventory_entries(opa: OpaClient, objects: list[dict]) -> list[dict]:
    answer = opa.evaluate(INVENTORY_PATH, {"items": objects}).result
    entries = answer.get("items") if isinstance(answer, dict) else None
    if (
        not isinstance(entries, list)
        or len(entries) != len(objects)
        or not all(isinstance(e, dict) and isinstance(e.get("containers"), list) for e in entries)
    ):
        raise OpaError(f"{INVENTORY_PATH}: expected {{items: [{{hostNetwork, containers}}]}} for "
                       f"{len(objects)} objects, got {json.dumps(answer)[:200]}")
    return entries


# --- reports ---------------------------------------------------------------------


def write_table(result: Audit, out: TextIO) -> None:
    by_object: dict[tuple, list[Finding]] = {}
    for f in sorted(result.findings, key=lambda f: (f.namespace, f.kind, f.name, f.source, f.line, f.field, f.code)):
        by_object.setdefault((f.namespace, f.kind, f.name, f.source, f.document, f.item), []).append(f)
    current = None
    for (ns, kind, obj_name, source, _, _), findings in by_object.items():
        if ns != current:
            current = ns
            out.write(f"namespace {ns}\n")
        out.write(f"  {kind}/{obj_name}  ({source}:{findings[0].line})\n")
        for f in findings:
            container = f"container {f.container}" if f.container else "pod"
            out.write(f"    {f.enforcementAction:<6} {f.rule:<11} {f.constraint}  {container}  {f.field}\n")
            out.write(f"           {f.msg}\n")
    for error in result.errors:
        out.write(f"error: {error}\n")
    out.write(_summary(result) + "\n")


def write_json(result: Audit, out: TextIO) -> None:
    json.dump({
        "summary": {
            "scanned": result.scanned,
            "withViolations": result.with_violations,
            "byRule": dict(sorted(Counter(f.rule for f in result.findings).items())),
            "skipped": dict(sorted(result.skipped.items())),
            "errors": len(result.errors),
        },
        "findings": [asdict(f) for f in result.findings],
        "errors": [asdict(e) for e in result.errors],
    }, out, indent=2)
    out.write("\n")


def write_sarif(result: Audit, out: TextIO) -> None:
    codes = sorted({f.code for f in result.findings})
    results = [{
        "ruleId": f.code,
        "ruleIndex": codes.index(f.code),
        "level": SARIF_LEVELS.get(f.enforcementAction, "error"),
        "message": {"text": f"{f.msg} (constraint {f.constraint}, {f.enforcementAction})"},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": _uri(f.source)},
                "region": {"startLine": f.line},
            },
            "logicalLocations": [{"fullyQualifiedName": f"{f.kind}/{f.namespace}/{f.name}:{f.field}"}],
        }],
        "properties": {"constraint": f.constraint, "enforcementAction": f.enforcementAction,
                       "rule": f.rule, "field": f.field},
    } for f in result.findings]
    json.dump({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "winpod-guard",
                "version": __version__,
                "rules": [{"id": code, "name": code, "shortDescription": {"text": code}} for code in codes],
            }},
            "results": results,
        }],
    }, out, indent=2)
    out.write("\n")


def _summary(result: Audit) -> str:
    by_rule = Counter(f.rule for f in result.findings)
    parts = [f"{result.scanned} objects scanned", f"{result.with_violations} with violations"]
    if by_rule:
        parts.append("by rule: " + ", ".join(f"{rule} {n}" for rule, n in sorted(by_rule.items())))
    if result.skipped:
        skipped = ", ".join(f"{kind} {n}" for kind, n in sorted(result.skipped.items()))
        parts.append(f"{sum(result.skipped.values())} skipped ({skipped})")
    if result.errors:
        parts.append(f"{len(result.errors)} unreadable documents")
    return "; ".join(parts)


def _inventory_table(rows: list[dict], out: TextIO) -> None:
    for row in rows:
        out.write(f"{row['namespace']}  {row['kind']}/{row['name']}  hostNetwork={str(row['hostNetwork']).lower()}"
                  f"  ({row['source']}:{row['line']})\n")
        for c in row["containers"]:
            out.write(f"    {c['name']}  user={c['user'] or '<image default>'}  image={c['image']}\n")
    out.write(f"{len(rows)} HostProcess workloads\n")


# --- helpers -----------------------------------------------------------------------


def _finding(document: manifests.Document, violation: dict) -> Finding:
    return Finding(
        source=document.source,
        document=document.number,
        item=document.item,
        line=document.line_of(violation["field"]),
        namespace=namespace(document.obj),
        kind=document.obj["kind"],
        name=name(document.obj),
        container=_container(document.obj, violation["field"]),
        rule=violation["rule"],
        code=violation["code"],
        constraint=violation["constraint"],
        enforcementAction=violation["enforcementAction"],
        field=violation["field"],
        msg=violation["msg"],
    )


def _container(obj: Any, field: str) -> str:
    """The name of the container a field points into, or "" for pod-level fields."""
    match = _CONTAINER.match(field)
    if not match:
        return ""
    value = obj
    for part in match.group(1).split("."):
        value = value.get(part) if isinstance(value, dict) else None
    containers = value.get(match.group(2)) if isinstance(value, dict) else None
    index = int(match.group(3))
    if isinstance(containers, list) and index < len(containers) and isinstance(containers[index], dict):
        name = containers[index].get("name")
        if isinstance(name, str):
            return name
    return f"{match.group(2)}[{index}]"


def _kind(obj: Any) -> str:
    kind = obj.get("kind") if isinstance(obj, dict) else None
    return kind if isinstance(kind, str) and kind else "<no kind>"


def _uri(source: str) -> str:
    if source == "<stdin>":
        return "stdin"
    path = Path(source)
    try:
        path = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        pass
    return PurePath(path).as_posix()
