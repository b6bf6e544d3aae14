"""Read Kubernetes manifests from files, trees and stdin, keeping where each came from.

Accepts multi-document YAML, JSON, ``kind: List`` (and ``*List``) exports such as
``kubectl get ... -o json``, and directories (recursively, ``*.yaml``, ``*.yml``,
``*.json``). A document that does not parse is returned as a ``DocumentError``
naming the source, the document number and the line, and the other documents are
still read: an export with one bad object still gets audited.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from harness.errors import ManifestError, yaml_problem

logger = logging.getLogger(__name__)

STDIN = "-"
SUFFIXES = (".yaml", ".yml", ".json")

# libyaml when PyYAML has it: a 10,000-object export composes about six times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_START = re.compile(r"^---(\s.*)?$")  # a document may begin on its own marker's line: "--- {kind: Pod}"
_END = re.compile(r"^\.\.\.(\s.*)?$")
_FIELD_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class Document:
    """One object: ``source`` and ``number`` (1-based document number in it), ``item`` (index in a List)."""

    source: str
    number: int
    line: int
    obj: Any
    item: int | None = None
    node: yaml.Node | None = field(default=None, repr=False, compare=False)

    @property
    def where(self) -> str:
        item = f" item {self.item}" if self.item is not None else ""
        return f"{self.source} document {self.number}{item} (line {self.line})"

    def line_of(self, field_path: str) -> int:
        """The line of ``field_path`` (``spec.containers[0].image``), or of the deepest part of it that exists."""
        node, line = self.node, self.line
        for key, index in _FIELD_TOKEN.findall(field_path):
            nxt = _child(node, key, int(index) if index else None)
            if nxt is None:
                break
            node, line = nxt
        return line


@dataclass(frozen=True)
class DocumentError:
    source: str
    number: int
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source} document {self.number} (line {self.line}): {self.message}"


def read(paths: Sequence[str], stdin: TextIO | None = None) -> tuple[list[Document], list[DocumentError]]:
    """Every object in ``paths`` (``-`` is stdin), Lists expanded, in input order."""
    stdin = stdin or sys.stdin
    if STDIN in paths and stdin.isatty():
        raise ManifestError("stdin is a terminal: name manifest files, or pipe them in")
    documents: list[Document] = []
    errors: list[DocumentError] = []
    for source, text in _sources(paths, stdin):
        for item in parse(text, source):
            (errors if isinstance(item, DocumentError) else documents).append(item)
    return documents, errors


def parse(text: str, source: str) -> Iterator[Document | DocumentError]:
    """The documents of one text; a List document yields its items."""
    for number, (first_line, chunk) in enumerate(_chunks(text), start=1):
        try:
            node, obj = _load(chunk)
        except (yaml.YAMLError, ValueError) as exc:
            line, message = _located(exc)
            yield DocumentError(source, number, first_line + line, message)
            continue
        node = _offset(node, first_line)
        line = node.start_mark.line + 1 if node is not None else first_line
        if _is_list(obj):
            found = _child(node, "items", None)
            items_node = found[0] if found else None
            for index, item in enumerate(obj["items"]):
                item_found = _child(items_node, None, index)
                item_node, item_line = item_found if item_found else (None, line)
                yield Document(source, number, item_line, item, item=index, node=item_node)
        else:
            yield Document(source, number, line, obj, node=node)


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


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """(1-based first line, text) per YAML document that holds anything but comments."""
    lines = text.splitlines(keepends=True)
    start, current = 1, []
    for number, line in enumerate(lines, start=1):
        bare = line.rstrip("\r\n")
        if _START.match(bare):
            yield from _non_empty(start, current)
            # Blank out the marker, keep what follows it (and its columns).
            start, current = number, ["   " + line[3:]]
        elif _END.match(bare):
            yield from _non_empty(start, current)
            start, current = number + 1, []
        else:
            current.append(line)
    yield from _non_empty(start, current)


def _non_empty(start: int, lines: list[str]) -> Iterable[tuple[int, str]]:
    if any(line.strip() and not line.lstrip().startswith("#") for line in lines):
        yield start, "".join(lines)


def _load(chunk: str) -> tuple[yaml.Node | None, Any]:
    loader = _LOADER(chunk)
    try:
        node = loader.get_single_node()
        return node, loader.construct_document(node) if node is not None else None
    except yaml.YAMLError:
        # JSON that YAML 1.1 refuses (tabs, for one) is still JSON.
        if chunk.lstrip().startswith(("{", "[")):
            return None, json.loads(chunk)
        raise
    finally:
        loader.dispose()


def _is_list(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("kind"), str)
        and obj["kind"].endswith("List")
        and isinstance(obj.get("items"), list)
    )


def _child(node: yaml.Node | None, key: str | None, index: int | None) -> tuple[yaml.Node, int] | None:
    """The child node and the line that names it (the key's line for a mapping entry)."""
    if key is not None and isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                if index is None:
                    return value_node, key_node.start_mark.line + 1
                return _child(value_node, None, index)
        return None
    if index is not None and isinstance(node, yaml.SequenceNode) and index < len(node.value):
        child = node.value[index]
        return child, child.start_mark.line + 1
    return None


def _offset(node: yaml.Node | None, first_line: int) -> yaml.Node | None:
    """Shift a chunk's marks so lines count from the start of the file."""
    if node is None or first_line == 1:
        return node
    stack = [node]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.start_mark = _shifted(current.start_mark, first_line - 1)
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                stack.extend((key_node, value_node))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return node


def _shifted(mark: yaml.Mark, lines: int) -> yaml.Mark:
    return yaml.Mark(mark.name, mark.index, mark.line + lines, mark.column, mark.buffer, mark.pointer)


def _located(exc: Exception) -> tuple[int, str]:
    """(0-based line within the chunk, message) of a document that does not parse."""
    if isinstance(exc, yaml.YAMLError):
        mark, problem = yaml_problem(exc)
        return (mark.line if mark else 0), f"invalid YAML: {problem}"
    if isinstance(exc, json.JSONDecodeError):
        return exc.lineno - 1, f"invalid JSON: {exc.msg}"
    return 0, f"invalid document: {exc}"
