"""Read Kubernetes manifests from files, trees and stdin, keeping where each came from.

Accepts multi-document YAML, JSON, ``kind: List`` (and ``*List``) exports such as
``kubectl get ... -o json``, and directories (recursively, ``*.yaml``, ``*.yml``,
``*.json``). A document that does not parse is returned as a ``DocumentError``
naming the source, the document number and the line, and the other documents are
still read: an export with one bad object still gets audited.
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from harness import documents
from harness.documents import Document, DocumentError, collector_paused
from harness.errors import ManifestError

logger = logging.getLogger(__name__)

STDIN = "-"
SUFFIXES = (".yaml", ".yml", ".json")


def read(paths: Sequence[str], stdin: TextIO | None = None) -> tuple[list[Document], list[DocumentError]]:
    """Every object in ``paths`` (``-`` is stdin), Lists expanded, in input order."""
    stdin = stdin or sys.stdin
    if STDIN in paths and stdin.isatty():
        raise ManifestError("stdin is a terminal: name manifest files, or pipe them in")
    found: list[Document] = []
    errors: list[DocumentError] = []
    with collector_paused():
        for source, text in _sources(paths, stdin):
            for item in parse(text, source):
                (errors if isinstance(item, DocumentError) else found).append(item)
    # What was read lives until the report is written, and as YAML it is
    # millions of nodes kept for line numbers: out of the collector's sight,
    # so that each later collection does not walk it all again.
    gc.freeze()
    return found, errors


def parse(text: str, source: str) -> Iterator[Document | DocumentError]:
    """The documents of one text; a List document yields its items."""
    for found in documents.parse(text, source):
        if isinstance(found, Document) and _is_list(found.obj):
            yield from found.elements("items")
        else:
            yield found


def _sources(paths: Sequence[str], stdin: TextIO) -> Iterator[tuple[str, str]]:
    for path in paths:
        if path == STDIN:
            yield "<stdin>", stdin.read()
            continue
        root = Path(path)
        if root.is_dir():
            files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not files:
                logger.warning("%s: no %s files below it", path, "/".join(SUFFIXES))
        elif root.is_file():
            files = [root]
        else:
            raise ManifestError(f"{path}: no such file or directory")
        for file in files:
            try:
                yield str(file), file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ManifestError(f"{file}: cannot be read: {exc}") from exc


def _is_list(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("kind"), str)
        and obj["kind"].endswith("List")
        and isinstance(obj.get("items"), list)
    )
