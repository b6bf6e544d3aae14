"""``winpod check``: decisions for a repository's manifests, the command a CI job runs.

Reads files, directories and stdin (multi-document YAML, JSON, ``kind: List``),
asks a real OPA server for each object's decision and exits 1 when any is
denied. A document that does not parse, or is not a Kubernetes object, is an
input error (exit 2) reported with its file and document number before OPA
starts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from harness import manifests
from harness.cli.options import add_server_arguments, serving
from harness.config import load_config
from harness.errors import HarnessError, ManifestError
from harness.inputs import verdict
from harness.kinds import identity, metadata
from harness.report import json_text, visible


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="decide arbitrary manifests; exit 1 when any is denied",
        description="Ask the decision API about every object in FILE (multi-document YAML, JSON, kind: List; "
        "directories recursively; - for stdin). Exit 0: all allowed; 1: some denied; 2: usage or input error.",
    )
    parser.add_argument("files", nargs="*", default=[manifests.STDIN], metavar="FILE",
                        help="manifest files or directories, or - for stdin (the default)")
    parser.add_argument("--config", metavar="FILE", help="the config to decide with (default: the built-in one)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="report format (default: text)")
    add_server_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    documents = read_objects(args.files)
    config = load_config(args.config) if args.config else None
    with serving(args, config) as opa:
        decisions = opa.decide_many(document.obj for document in documents)
    sys.stdout.write((as_json if args.format == "json" else as_text)(documents, decisions))
    return 1 if any(not decision["allowed"] for decision in decisions) else 0


def read_objects(paths: Sequence[str]) -> list[manifests.Document]:
    """Every object under ``paths``, or a ManifestError naming each document that is not one."""
    documents, errors = manifests.read(paths)
    problems = [(error.source, error.number, str(error)) for error in errors]
    for document in documents:
        if not isinstance(document.obj, dict):
            problems.append((document.source, document.number, f"{document.where}: expected a Kubernetes object "
                             f"(a mapping), got a {type(document.obj).__name__}"))
        elif not isinstance(document.obj.get("kind"), str) or not document.obj["kind"]:
            problems.append((document.source, document.number,
                             f"{document.where}: expected a Kubernetes object, it has no kind"))
    if problems:
        raise ManifestError("\n".join(text for _, _, text in sorted(problems)))
    if not documents:
        raise HarnessError(f"no Kubernetes objects in {' '.join(paths)}")
    return documents


def as_text(documents: Sequence[manifests.Document], decisions: Sequence[dict]) -> str:
    lines = []
    for document, decision in zip(documents, decisions, strict=True):
        lines.append(f"{document.where}: {identity(document.obj)}: {verdict(decision['allowed'])}")
        for v in decision["violations"]:
            lines.append(f"    {v.get('enforcementAction')} {v.get('code')} [{v.get('constraint')}] "
                         f"{v.get('field')}: {v.get('msg')}")
    denied = sum(not d["allowed"] for d in decisions)
    lines.append(f"{len(decisions)} objects: {len(decisions) - denied} allowed, {denied} denied")
    return "\n".join(visible(line) for line in lines) + "\n"


def as_json(documents: Sequence[manifests.Document], decisions: Sequence[dict]) -> str:
    denied = sum(not d["allowed"] for d in decisions)
    objects = [
        {
            "source": document.source,
            "document": document.number,
            "item": document.item,
            "line": document.line,
            "kind": document.obj.get("kind"),
            "namespace": metadata(document.obj).get("namespace"),
            "name": metadata(document.obj).get("name"),
            "allowed": decision["allowed"],
            "violations": decision["violations"],
        }
        for document, decision in zip(documents, decisions, strict=True)
    ]
    summary = {"objects": len(decisions), "allowed": len(decisions) - denied, "denied": denied}
    return json_text({"summary": summary, "objects": objects})
