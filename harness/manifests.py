"""Read Kubernetes manifests from files, trees and stdin, keeping where each came from.

Accepts multi-document YAML, JSON, ``kind: List`` (and ``*List``) exports such as
``kubectl get ... -o json``, and directories (recursively, ``*.yaml``, ``*.yml``,
``*.json``). A document that does not parse is returned as a ``DocumentError``
naming the source, the document number and the line, and the other documents are
still read: an export with one bad object still gets audited.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, Protocol, TextIO

import yaml

from harness.errors import ManifestError, yaml_problem
from harness.unique import DuplicateKeyError, strict_loader, unique_pairs

logger = logging.getLogger(__name__)

STDIN = "-"
SUFFIXES = (".yaml", ".yml", ".json")

# libyaml when PyYAML has it: a 10,000-object export composes about six times faster.
# JSON documents skip it: the json module reads them some forty times faster still.
_LOADER = strict_loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader))
_START = re.compile(r"^---(\s.*)?$")  # a document may begin on its own marker's line: "--- {kind: Pod}"
_END = re.compile(r"^\.\.\.(\s.*)?$")
_FIELD_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_JSON_START = re.compile(r"\ufeff?\s*[\[{]")  # Windows PowerShell 5.1 writes UTF-8 with a byte order mark
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_COLON = re.compile(r"[ \t\n\r]*:[ \t\n\r]*")
_JSON_COMMA = re.compile(r"[ \t\n\r]*,?[ \t\n\r]*")
_YAML_FLOAT = re.compile(r"-?[0-9]+\.[0-9]*(?:[eE][-+][0-9]+)?")
# Line breaks to YAML, not to JSON: inside a JSON string YAML folds or counts them.
_YAML_ONLY_BREAKS = ("\x85", "\u2028", "\u2029")


@dataclass(frozen=True)
class Document:
    """One object: ``source`` and ``number`` (1-based document number in it), ``item`` (index in a List)."""

    source: str
    number: int
    line: int
    obj: Any
    item: int | None = None
    tree: _Tree | None = field(default=None, repr=False, compare=False)

    @property
    def where(self) -> str:
        item = f" item {self.item}" if self.item is not None else ""
        return f"{self.source} document {self.number}{item} (line {self.line})"

    def line_of(self, field_path: str) -> int:
        """The line of ``field_path`` (``spec.containers[0].image``), or of the deepest part of it that exists."""
        if self.tree is None:
            return self.line
        return self.tree.line_of([int(index) if index else key for key, index in _FIELD_TOKEN.findall(field_path)])


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
    with _collector_paused():
        for source, text in _sources(paths, stdin):
            for item in parse(text, source):
                (errors if isinstance(item, DocumentError) else documents).append(item)
    # What was read lives until the report is written, and as YAML it is
    # millions of nodes kept for line numbers: out of the collector's sight,
    # so that each later collection does not walk it all again.
    gc.freeze()
    return documents, errors


def parse(text: str, source: str) -> Iterator[Document | DocumentError]:
    """The documents of one text; a List document yields its items."""
    for number, (first_line, chunk) in enumerate(_chunks(text), start=1):
        try:
            tree, obj = _load(chunk, first_line)
        except (yaml.YAMLError, ValueError) as exc:
            line, message = _located(exc)
            yield DocumentError(source, number, first_line + line, message)
            continue
        line = tree.line if tree is not None else first_line
        if _is_list(obj):
            elements = tree.elements("items") if tree is not None else []
            for index, item in enumerate(obj["items"]):
                item_tree, item_line = elements[index] if index < len(elements) else (None, line)
                yield Document(source, number, item_line, item, item=index, tree=item_tree)
        else:
            yield Document(source, number, line, obj, tree=tree)


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
    if "---" not in text and "..." not in text and not text.lstrip().startswith("#"):
        # No line can be a marker and the first one with anything on it is not a
        # comment: one document, the whole text (an export has 400,000 lines).
        if text.strip():
            yield 1, text
        return
    lines = text.splitlines(keepends=True)
    # A chunk is ``head`` (its marker line, blanked) and ``lines[begin:end]``: only
    # the lines that could be markers are looked at.
    start, head, begin = 1, [], 0
    for end in [n for n, line in enumerate(lines) if line.startswith(("---", "..."))]:
        bare = lines[end].rstrip("\r\n")
        if _START.match(bare):
            yield from _non_empty(start, head + lines[begin:end])
            # Blank out the marker, keep what follows it (and its columns).
            start, head, begin = end + 1, ["   " + lines[end][3:]], end + 1
        elif _END.match(bare):
            yield from _non_empty(start, head + lines[begin:end])
            start, head, begin = end + 2, [], end + 1
    yield from _non_empty(start, head + lines[begin:])


def _non_empty(start: int, lines: list[str]) -> Iterable[tuple[int, str]]:
    if any(line.strip() and not line.lstrip().startswith("#") for line in lines):
        yield start, "".join(lines)


def _load(chunk: str, first_line: int) -> tuple[_Tree | None, Any]:
    if _JSON_START.match(chunk) and not any(c in chunk for c in _YAML_ONLY_BREAKS):
        try:
            return _JsonTree.load(chunk, first_line)
        except ValueError:
            # YAML that looks like JSON ({kind: Pod}), JSON that YAML reads
            # differently (NaN), or a key given twice, which YAML places.
            pass
    loader = _LOADER(chunk)
    try:
        with _collector_paused():
            node = loader.get_single_node()
            obj = loader.construct_document(node) if node is not None else None
        return (_YamlTree(node, first_line - 1) if node is not None else None), obj
    except yaml.YAMLError as exc:
        # JSON that YAML 1.1 refuses is still JSON (a key given twice is refused by both).
        if chunk.lstrip().startswith(("{", "[")) and not isinstance(exc, DuplicateKeyError):
            return None, json.loads(chunk, object_pairs_hook=unique_pairs)
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


class _Tree(Protocol):
    """Where a parsed value and the values in it are in the text."""

    @property
    def line(self) -> int: ...

    def line_of(self, steps: Sequence[str | int]) -> int:
        """The line of the value ``steps`` (keys and indexes) below: the line of its key, if it has one,
        or of the deepest step that exists."""

    def elements(self, key: str) -> list[tuple[_Tree, int]]:
        """Every element of the sequence under ``key``, with its line; [] when there is none."""


@dataclass(slots=True)
class _YamlTree:
    node: yaml.Node
    shift: int  # lines of the file before the chunk the node was composed from

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1 + self.shift

    def line_of(self, steps: Sequence[str | int]) -> int:
        node, mark = self.node, self.node.start_mark
        for step in steps:
            found = _yaml_step(node, step)
            if found is None:
                break
            node, mark = found
        return mark.line + 1 + self.shift

    def elements(self, key: str) -> list[tuple[_Tree, int]]:
        found = _yaml_step(self.node, key)
        if found is None or not isinstance(found[0], yaml.SequenceNode):
            return []
        trees = [_YamlTree(node, self.shift) for node in found[0].value]
        return [(tree, tree.line) for tree in trees]


def _yaml_step(node: yaml.Node, step: str | int) -> tuple[yaml.Node, yaml.Mark] | None:
    """The node under a key (str) or at an index (int), and the mark of what names it."""
    if isinstance(step, str) and isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == step:
                return value_node, key_node.start_mark
    elif isinstance(step, int) and isinstance(node, yaml.SequenceNode) and step < len(node.value):
        return node.value[step], node.value[step].start_mark
    return None


@dataclass(slots=True)
class _JsonTree:
    """A value of a JSON text, by its offset. Only what a finding points at is looked
    at; lines are counted from an anchor whose line is known (the start of the
    document or of its List item), so a finding costs the size of its object."""

    text: str
    offset: int
    anchor: int
    anchor_line: int

    @classmethod
    def load(cls, chunk: str, first_line: int) -> tuple[_JsonTree, Any]:
        """The tree and the value of a chunk that holds one JSON value; ValueError when it does not."""
        start = _JSON_SPACE.match(chunk, 1 if chunk.startswith("\ufeff") else 0).end()
        with _collector_paused():
            obj, end = _STRICT_JSON.raw_decode(chunk, start)
        if _JSON_SPACE.match(chunk, end).end() != len(chunk):
            raise ValueError("more than one JSON value")
        return cls(chunk, start, 0, first_line), obj

    @property
    def line(self) -> int:
        return self.anchor_line + _breaks(self.text, self.anchor, self.offset)

    def line_of(self, steps: Sequence[str | int]) -> int:
        offset = named = self.offset
        for step in steps:
            found = _json_step(self.text, offset, step)
            if found is None:
                break
            named, offset = found
        return self.anchor_line + _breaks(self.text, self.anchor, named)

    def elements(self, key: str) -> list[tuple[_Tree, int]]:
        text = self.text
        found = _json_step(text, self.offset, key)
        if found is None or text[found[1]] != "[":
            return []
        elements: list[tuple[_Tree, int]] = []
        line, previous = self.anchor_line, self.anchor
        at = _JSON_SPACE.match(text, found[1] + 1).end()
        with _collector_paused():
            while text[at] != "]":
                line += _breaks(text, previous, at)
                elements.append((_JsonTree(text, at, at, line), line))
                previous = at
                at = _JSON_COMMA.match(text, _json_value(text, at)[1]).end()
        return elements


def _json_step(text: str, offset: int, step: str | int) -> tuple[int, int] | None:
    """Where the key (str) or element (int) of the object or array at ``offset`` starts, and where its value does.

    The text was parsed once already, so every value in it is well-formed; the
    values before the one wanted are skipped by parsing them again, in C.
    """
    opening = text[offset]
    at = _JSON_SPACE.match(text, offset + 1).end()
    if isinstance(step, str) and opening == "{":
        while text[at] == '"':
            key, after = _json_string(text, at + 1)
            value_at = _JSON_COLON.match(text, after).end()
            if key == step:
                return at, value_at
            at = _JSON_COMMA.match(text, _json_value(text, value_at)[1]).end()
    elif isinstance(step, int) and opening == "[":
        for _ in range(step):
            if text[at] == "]":
                return None
            at = _JSON_COMMA.match(text, _json_value(text, at)[1]).end()
        if text[at] != "]":
            return at, at
    return None


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    # An export is hundreds of thousands of dicts and lists (and as YAML, nodes
    # and marks) built in one go, none in a cycle: the cyclic collector walking
    # them again and again as they accumulate costs as much as the parse, four
    # times as much for YAML.
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _breaks(text: str, start: int, end: int) -> int:
    """Line breaks between two offsets as YAML counts them: ``\\r\\n``, ``\\r`` and ``\\n`` (JSON's only ones)."""
    return text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)


def _yaml_float(literal: str) -> float | str:
    # These documents were always read as YAML 1.1, where a number with an exponent but
    # no dot, or an unsigned exponent (1e3, 1.5e3), is a string: JSON reads them the same way.
    return float(literal) if _YAML_FLOAT.fullmatch(literal) else literal


def _not_json(literal: str) -> NoReturn:
    raise ValueError(f"{literal} is not JSON")


_JSON = json.JSONDecoder(parse_float=_yaml_float, parse_constant=_not_json)
# The first read of a document also refuses a key given twice; the scans for
# line numbers after it skip values already known to be well-formed.
_STRICT_JSON = json.JSONDecoder(parse_float=_yaml_float, parse_constant=_not_json, object_pairs_hook=unique_pairs)
_json_value = _JSON.scan_once
_json_string = json.decoder.scanstring


def _located(exc: Exception) -> tuple[int, str]:
    """(0-based line within the chunk, message) of a document that does not parse."""
    if isinstance(exc, yaml.YAMLError):
        mark, problem = yaml_problem(exc)
        return (mark.line if mark else 0), f"invalid YAML: {problem}"
    if isinstance(exc, json.JSONDecodeError):
        return exc.lineno - 1, f"invalid JSON: {exc.msg}"
    return 0, f"invalid document: {exc}"
