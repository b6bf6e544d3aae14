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
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote_from_bytes

from harness import __version__, manifests
from harness.cli.options import (
    add_config_argument,
    add_report_arguments,
    add_server_arguments,
    prepare_output,
    serving,
    write_output,
)
from harness.cluster import live
from harness.config import load_config
from harness.errors import HarnessError, ManifestError, OpaError
from harness.kinds import is_governed, name, namespace
from harness.opa import BATCH_CHUNK, OpaClient, map_batches
from harness.report import visible

logger = logging.getLogger(__name__)

INVENTORY_PATH = "winpod/inventory"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVELS = {"deny": "error", "warn": "warning", "dryrun": "note"}
_SARIF_SEVERITY = {"error": 0, "warning": 1, "note": 2}
# GitHub code scanning's hard limit on one run (it shows the 5,000 most severe):
# docs.github.com, "SARIF results exceed one or more limits".
SARIF_MAX_RESULTS = 25_000
SARIF_UNREADABLE = "winpod.unreadable"
SARIF_CAPPED = "winpod.results-capped"
SARIF_SRCROOT = "%SRCROOT%"
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
    parser.add_argument("paths", nargs="*", metavar="FILE|DIR|-",
                        help="kubectl -o json/yaml output, manifests or directories of them "
                             "(default: stdin; none with --cluster)")
    add_config_argument(parser, "winpod-guard PolicyConfig (default: the built-in config)")
    add_report_arguments(parser, ("table", "json", "sarif"), "table")
    parser.add_argument("--inventory", action="store_true",
                        help="list every HostProcess workload with its namespace, accounts and images")
    live.add_arguments(parser)
    add_server_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.inventory and args.format == "sarif":
        raise HarnessError("--inventory lists workloads, not findings: use --format table or json")
    if args.cluster and args.paths:
        raise HarnessError(f"--cluster audits what the cluster holds; audit {' '.join(args.paths)} "
                           "in a run of its own (without --cluster)")
    args.paths = args.paths or [manifests.STDIN]
    config = load_config(args.config) if args.config else None
    prepare_output(args.output)
    found = iter(live.read(args.kubeconfig, args.context)) if args.cluster else _reported(manifests.stream(args.paths))
    first = next(found, None)
    if first is None and not args.cluster:
        raise ManifestError(f"no Kubernetes objects in {' '.join(args.paths)}")
    found = itertools.chain([first] if first is not None else [], found)
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
#
# Every value that comes from the input (names, images, messages, file names)
# goes through report.visible, so no control character of a manifest reaches
# a terminal, a CI log or a code-scanning page as itself.


def write_table(result: Audit, out: TextIO) -> None:
    lines = []
    by_object: dict[tuple, list[Finding]] = {}
    for f in sorted(result.findings, key=lambda f: (f.namespace, f.kind, f.name, f.source, f.line, f.field, f.code)):
        by_object.setdefault((f.namespace, f.kind, f.name, f.source, f.document, f.item), []).append(f)
    current = None
    for (ns, kind, obj_name, source, _, _), findings in by_object.items():
        if ns != current:
            current = ns
            lines.append(f"namespace {ns}")
        lines.append(f"  {kind}/{obj_name}  ({source}:{findings[0].line})")
        for f in findings:
            container = f"container {f.container}" if f.container else "pod"
            lines.append(f"    {f.enforcementAction:<6} {f.rule:<11} {f.constraint}  {container}  {f.field}")
            lines.append(f"           {f.msg}")
    lines.extend(f"error: {error}" for error in result.errors)
    lines.append(_summary(result))
    out.writelines(visible(line) + "\n" for line in lines)


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
    """One run: a result per finding and per unreadable document, at most SARIF_MAX_RESULTS of them.

    Over the cap the most severe are kept (unreadable documents and deny
    first, as GitHub shows the most severe first), and the run says how many
    were left out and where the whole report is. One run rather than several:
    GitHub refuses runs of one tool that share a category, and a split by count
    would move findings between categories from one upload to the next.
    """
    entries = [_sarif_unreadable(error) for error in result.errors]
    entries += [_sarif_finding(f) for f in result.findings]
    kept = sorted(entries, key=lambda entry: _SARIF_SEVERITY[entry["level"]])[:SARIF_MAX_RESULTS]
    rule_ids = sorted({entry["ruleId"] for entry in kept})
    for entry in kept:
        entry["ruleIndex"] = rule_ids.index(entry["ruleId"])
    invocation: dict[str, Any] = {"executionSuccessful": not result.errors}
    if len(kept) < len(entries):
        left_out = len(entries) - len(kept)
        invocation["toolExecutionNotifications"] = [{
            "level": "warning",
            "descriptor": {"id": SARIF_CAPPED},
            "message": {"text": (
                f"{left_out:,} of {len(entries):,} results left out: GitHub code scanning refuses a run of more "
                f"than {SARIF_MAX_RESULTS:,} results. The {len(kept):,} most severe are here; "
                "`winpod audit --format json` reports them all.")},
        }]
    json.dump({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "winpod-guard",
                "version": __version__,
                "rules": [_sarif_rule(rule_id) for rule_id in rule_ids],
            }},
            "originalUriBaseIds": {SARIF_SRCROOT: {"uri": Path.cwd().resolve().as_uri() + "/"}},
            "invocations": [invocation],
            "results": kept,
            "properties": {"results": len(entries), "resultsLeftOut": len(entries) - len(kept)},
        }],
    }, out, indent=2)
    out.write("\n")


def _sarif_finding(f: Finding) -> dict:
    return {
        "ruleId": f.code,
        "level": SARIF_LEVELS.get(f.enforcementAction, "error"),
        "message": {"text": visible(f"{f.msg} (constraint {f.constraint}, {f.enforcementAction})")},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": _artifact_location(f.source),
                "region": {"startLine": f.line},
            },
            "logicalLocations": [{"fullyQualifiedName": visible(f"{f.kind}/{f.namespace}/{f.name}:{f.field}")}],
        }],
        "properties": {"constraint": f.constraint, "enforcementAction": f.enforcementAction,
                       "rule": f.rule, "field": visible(f.field)},
    }


def _sarif_unreadable(error: manifests.DocumentError) -> dict:
    location: dict[str, Any] = {"artifactLocation": _artifact_location(error.source)}
    if isinstance(error.line, int) and error.line >= 1:
        location["region"] = {"startLine": error.line}
    return {
        "ruleId": SARIF_UNREADABLE,
        "level": "error",
        "message": {"text": visible(f"document {error.number} was not audited: {error.message}")},
        "locations": [{"physicalLocation": location}],
    }


def _sarif_rule(rule_id: str) -> dict:
    text = rule_id if rule_id != SARIF_UNREADABLE else "a document that could not be read, so it was not audited"
    return {"id": rule_id, "name": rule_id, "shortDescription": {"text": text}}


def _artifact_location(source: str) -> dict:
    """Where ``source`` is as SARIF 3.4 wants it: an RFC 3986 URI, percent-encoded, relative to
    %SRCROOT% (the working directory) when it is below it, else an absolute ``file:`` URI."""
    if source == "<stdin>":  # manifests.read's name for stdin
        return {"uri": "stdin"}
    path = Path(source).resolve()
    try:
        relative = path.relative_to(Path.cwd().resolve())
    except ValueError:
        return {"uri": path.as_uri()}
    # From the file name's own bytes, so a name that is not UTF-8 still names its file;
    # ':' is encoded too, or a first segment like "a:b" would read as a scheme.
    return {"uri": quote_from_bytes(os.fsencode(relative.as_posix()), safe="/"), "uriBaseId": SARIF_SRCROOT}


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
    lines = []
    for row in rows:
        lines.append(f"{row['namespace']}  {row['kind']}/{row['name']}  hostNetwork={str(row['hostNetwork']).lower()}"
                     f"  ({row['source']}:{row['line']})")
        for c in row["containers"]:
            lines.append(f"    {c['name']}  user={c['user'] or '<image default>'}  image={c['image']}")
    lines.append(f"{len(rows)} HostProcess workloads")
    out.writelines(visible(str(line)) + "\n" for line in lines)


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
