"""Read Kubernetes manifests from files, trees and stdin as kubectl reads them, keeping where each came from.

Accepts multi-document YAML, JSON, Lists such as ``kubectl get ... -o json``,
and directories (recursively, ``*.yaml``, ``*.yml``, ``*.json``; symlinked
directories followed, a loop refused). A document that does not parse, a file
that cannot be read, is a ``DocumentError`` naming the source, the document
number and the line, and the rest is still read: an export with one bad
object still gets audited.

Lists are read as k8s.io/apimachinery's unstructured decoding and
k8s.io/cli-runtime's FlattenListVisitor read them (``kubectl apply -f``):
any object with an ``items`` key is a List, whatever its kind
(unstructuredJSONScheme.decode); ``items: null`` is an empty one; each item
must be an object, and one with neither kind nor apiVersion takes the List's
kind without its ``List`` suffix and the List's apiVersion (decodeToList). An
item that is itself a List (an ``items`` array, Unstructured.IsList) makes
kubectl fail (``meta.ExtractList`` on an Unstructured: "no Items field in this
object"), so it is refused rather than read as an object the policies allow.
Empty and ``null`` documents are skipped, as kubectl's StreamVisitor skips them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from harness import documents
from harness.documents import Document, DocumentError, ListEnd
from harness.errors import ManifestError

logger = logging.getLogger(__name__)

STDIN = "-"
SUFFIXES = (".yaml", ".yml", ".json")


def read(paths: Sequence[str], stdin: TextIO | None = None) -> tuple[list[Document], list[DocumentError]]:
    """Every object in ``paths`` (``-`` is stdin), Lists expanded, in input order."""
    found: list[Document] = []
    errors: list[DocumentError] = []
    for item in stream(paths, stdin):
        (errors if isinstance(item, DocumentError) else found).append(item)
    return found, errors


def stream(paths: Sequence[str], stdin: TextIO | None = None) -> Iterator[Document | DocumentError]:
    """``read``, one object at a time as it is read: memory holds one file's text and one object.

    The paths are walked before the first object is given: a path that does not
    exist, or stdin that is a terminal or closed, is a ManifestError at once."""
    files = [(path, _files(path) if path != STDIN else None) for path in paths]
    if STDIN in paths:
        stdin = _stdin(stdin)
    return _objects(files, stdin)


def parse(text: str, source: str) -> Iterator[Document | DocumentError]:
    """The objects of one text; a List gives its items."""
    deferred: list[Document] = []  # items without kind and apiVersion: the List's, read after them
    for found in documents.parse(text, source, lists=True):
        if isinstance(found, DocumentError):
            deferred.clear()
            yield found
        elif isinstance(found, ListEnd):
            yield from _inherit(deferred, found.obj)
            deferred.clear()
        elif found.item is not None:
            yield from _item(found, deferred)
        elif isinstance(found.obj, dict) and "items" in found.obj:
            yield from _whole_list(found)
        elif found.obj is not None:
            yield found


def _whole_list(document: Document) -> Iterator[Document | DocumentError]:
    """A List read as one value (its items given by a merge key, or ``items`` not an array)."""
    items = document.obj["items"]
    if items is None:
        return
    if not isinstance(items, list):
        yield DocumentError(document.source, document.number, document.line_of("items"),
                            f"items: expected an array of objects, got a {_type(items)} (kubectl: cannot unmarshal "
                            "into []json.RawMessage)")
        return
    deferred: list[Document] = []
    for element in document.elements("items"):
        yield from _item(element, deferred)
    head = {key: value for key, value in document.obj.items() if key != "items"}
    yield from _inherit(deferred, head)


def _item(item: Document, deferred: list[Document]) -> Iterator[Document | DocumentError]:
    obj = item.obj
    if not isinstance(obj, dict):
        yield DocumentError(item.source, item.number, item.line,
                            f"item {item.item}: expected an object, got a {_type(obj)} (kubectl refuses the List)")
    elif isinstance(obj.get("items"), list):
        yield DocumentError(item.source, item.number, item.line,
                            f"item {item.item}: a List inside a List, which kubectl refuses "
                            "(meta.ExtractList: no Items field in this object)")
    elif not _text(obj, "kind") and not _text(obj, "apiVersion"):
        deferred.append(item)
    else:
        yield item


def _inherit(deferred: list[Document], head: dict) -> Iterator[Document]:
    kind = _text(head, "kind")
    for item in deferred:
        item.obj["kind"] = kind.removesuffix("List")
        item.obj["apiVersion"] = _text(head, "apiVersion")
        yield item


def _text(obj: dict, key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _files(path: str) -> list[tuple[Path, str | None]]:
    try:
        return documents.files_under(Path(path), SUFFIXES)
    except documents.Unreadable as exc:
        raise ManifestError(str(exc)) from None


def _type(value: Any) -> str:
    return {dict: "mapping", list: "sequence", str: "string", type(None): "null"}.get(type(value), type(value).__name__)


def _objects(files: list[tuple[str, list[tuple[Path, str | None]] | None]],
             stdin: TextIO | None) -> Iterator[Document | DocumentError]:
    for path, found in files:
        if found is None:
            yield from _read_text("<stdin>", lambda: _stdin_bytes(stdin))
            continue
        if not found:
            logger.warning("%s: no %s files below it", path, "/".join(SUFFIXES))
        for file, problem in found:
            if problem is not None:
                yield DocumentError(str(file), 0, 0, problem)
            else:
                yield from _read_text(str(file), file.read_bytes)


def _read_text(source: str, read_bytes: Any) -> Iterator[Document | DocumentError]:
    try:
        data = read_bytes()
    except OSError as exc:
        yield DocumentError(source, 0, 0, f"cannot be read: {exc.strerror or exc}")
        return
    try:
        text = documents.text_of(data) if isinstance(data, bytes) else data
    except ValueError as exc:
        yield DocumentError(source, 0, 0, str(exc))
        return
    del data
    yield from parse(text, source)


def _stdin(stdin: TextIO | None) -> TextIO:
    stdin = stdin if stdin is not None else sys.stdin
    if stdin is None or stdin.closed:
        raise ManifestError("stdin is closed: name manifest files, or pipe them in")
    if stdin.isatty():
        raise ManifestError("stdin is a terminal: name manifest files, or pipe them in")
    return stdin


def _stdin_bytes(stdin: TextIO) -> bytes | str:
    # The bytes, when there are: kubectl reads stdin through the same byte order mark check as files.
    buffer = getattr(stdin, "buffer", None)
    return buffer.read() if buffer is not None else stdin.read()
