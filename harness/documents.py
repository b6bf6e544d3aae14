"""Read YAML and JSON documents, keeping where each value is: the one reader of configs, fixtures and manifests.

Every document gives its data and ``line_of(path)``, the line of any value in
it. A key given twice is refused: YAML loaders and Python's ``json`` keep the
last of two equal keys without a word, the API server's strict field
validation refuses such an object, and a reader that kept the other value
would judge a different object than the one that runs. The refusal is at the
line of the second key where the parser knows it.

Line numbers cost nothing until asked for: a JSON document keeps its text and
finds a value by scanning it again, a YAML document keeps its composed nodes.
A 10,000-object export is the size this is tuned for.
"""

from __future__ import annotations

import contextlib
import gc
import json
import re
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, NoReturn, Protocol

import jsonschema
import yaml

from harness.errors import yaml_problem

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
_STR = "tag:yaml.org,2002:str"

Steps = Sequence[str | int]  # keys and indexes from a document's root to one of its values


@dataclass(frozen=True)
class Document:
    """One value read from ``source``: ``number`` (1-based document number in it), ``item`` (index in a List)."""

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

    def line_of(self, path: str | Steps) -> int:
        """The line of ``path`` (``spec.containers[0].image``, or its steps): the line of its key, if it
        has one, or of the deepest part of it that exists."""
        if self.tree is None:
            return self.line
        return self.tree.line_of(field_steps(path) if isinstance(path, str) else path)

    def start_of(self, path: Steps) -> int:
        """The line the value at ``path`` starts on, or that of the deepest part of it that exists."""
        if self.tree is None:
            return self.line
        return self.tree.start_of(path)

    def elements(self, key: str) -> list[Document]:
        """The elements of the list under ``key`` (the ``items`` of a ``kind: List``), each a document of its own."""
        elements = self.tree.elements(key) if self.tree is not None else []
        found = []
        for index, item in enumerate(self.obj[key]):
            tree, line = elements[index] if index < len(elements) else (None, self.line)
            found.append(Document(self.source, self.number, line, item, item=index, tree=tree))
        return found


@dataclass(frozen=True)
class DocumentError:
    """A document of a multi-document text that does not parse, the others being still read."""

    source: str
    number: int
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source} document {self.number} (line {self.line}): {self.message}"


class Unparsable(ValueError):
    """A text that is not the document it should be. ``column`` is None when the parser does not say
    where: ``line`` is then the document's first."""

    def __init__(self, line: int, column: int | None, syntax: str | None, problem: str):
        super().__init__(problem)
        self.line, self.column, self.syntax, self.problem = line, column, syntax, problem

    @property
    def message(self) -> str:
        return f"invalid {self.syntax or 'document'}: {self.problem}"


def field_steps(path: str) -> list[str | int]:
    """``spec.containers[0].image`` as keys and indexes."""
    return [int(index) if index else key for key, index in _FIELD_TOKEN.findall(path)]


def parse(text: str, source: str) -> Iterator[Document | DocumentError]:
    """Every document of a (multi-document) YAML or JSON text, in order; one that does not parse is a
    DocumentError and the others are still read. libyaml reads the YAML, and JSON that YAML 1.1
    refuses is read as JSON: this is how manifests are read."""
    for number, (first_line, chunk) in enumerate(_chunks(text), start=1):
        try:
            yield load(chunk, source, fast=True, number=number, first_line=first_line)
        except Unparsable as exc:
            yield DocumentError(source, number, exc.line, exc.message)


def load_all(text: str, source: str) -> list[Document]:
    """Every document of a (multi-document) YAML text that holds a value; Unparsable at the first that
    does not parse. PyYAML's own parser reads it, as configs and fixtures always were: its error
    messages differ from libyaml's, and they are these files' output."""
    found = []
    for number, (first_line, chunk) in enumerate(_chunks(text), start=1):
        document = load(chunk, source, number=number, first_line=first_line)
        if document.obj is not None:
            found.append(document)
    return found


def load(text: str, source: str, *, fast: bool = False, number: int = 1, first_line: int = 1) -> Document:
    """``text`` as one YAML document (a second one is Unparsable), starting at ``first_line`` of ``source``;
    ``fast`` as for ``parse``."""
    try:
        tree, obj = _load(text, first_line, fast)
    except (yaml.YAMLError, ValueError) as exc:
        raise _unparsable(exc, first_line) from exc
    return Document(source, number, tree.line if tree is not None else first_line, obj, tree=tree)


def load_json(text: str, source: str) -> Document:
    """``text`` as one JSON value, read as JSON (not as the YAML it also is); Unparsable when it is not."""
    try:
        return Document(source, 1, 1, json.loads(text, object_pairs_hook=unique_pairs))
    except ValueError as exc:
        raise _unparsable(exc, 1) from exc


def _unparsable(exc: Exception, first_line: int) -> Unparsable:
    if isinstance(exc, yaml.YAMLError):
        mark, problem = yaml_problem(exc)
        if mark is None:
            return Unparsable(first_line, None, "YAML", problem)
        return Unparsable(first_line + mark.line, mark.column + 1, "YAML", problem)
    if isinstance(exc, json.JSONDecodeError):
        return Unparsable(first_line + exc.lineno - 1, exc.colno, "JSON", exc.msg)
    return Unparsable(first_line, None, None, str(exc))


# --- validation ----------------------------------------------------------------


@cache
def schema(name: str) -> dict:
    """A JSON Schema shipped with the harness: ``schema.json`` (configs), ``fixture.schema.json``."""
    return json.loads(resources.files("harness").joinpath(name).read_text(encoding="utf-8"))


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema(name))


@dataclass(frozen=True)
class SchemaProblem:
    """The first thing wrong with a value by its JSON Schema: ``path`` leads to the field at fault,
    which for a missing or an unknown key is that key."""

    path: list[str | int]
    error: jsonschema.ValidationError


def schema_problem(schema: str | dict, data: object) -> SchemaProblem | None:
    """The first problem a schema (shipped by ``name``, or built) finds in ``data``, by path (indexes in
    order, keys sorted), or None: one problem per message, the same one every run."""
    validator = _validator(schema) if isinstance(schema, str) else jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: _path_key(e.absolute_path))
    if not errors:
        return None
    error = errors[0]
    path = list(error.absolute_path)
    if error.validator == "required":
        path.append(next(key for key in error.validator_value if key not in error.instance))
    elif error.validator == "additionalProperties":
        allowed = error.schema.get("properties", {})
        path.append(sorted(str(key) for key in error.instance if key not in allowed)[0])
    return SchemaProblem(path, error)


def _path_key(path: Iterable[str | int]) -> tuple:
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in path)


# --- duplicate keys --------------------------------------------------------------


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A YAML mapping names a key twice; the mark is the second one's."""


class DuplicateJsonKey(ValueError):
    """A JSON object names a key twice (``json`` gives no position)."""


def unique_pairs(pairs: list[tuple[str, Any]]) -> dict:
    """``object_pairs_hook`` for ``json``: the object, or DuplicateJsonKey."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateJsonKey(f"duplicate key {key!r}")
            seen.add(key)
    return result


def _refuse_duplicate_keys(loader: yaml.constructor.BaseConstructor, node: yaml.MappingNode) -> None:
    """Raise DuplicateKeyError at the second of two equal keys of ``node``.

    Keys YAML cannot hash (a list as a key) are left to the loader's own error.
    """
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        if key_node.tag == _STR and isinstance(key_node, yaml.ScalarNode):
            key: Any = key_node.value  # what constructing it gives, without the cost: nearly every key
        else:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue
        if key in seen:
            raise DuplicateKeyError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)


def _strict_loader(base: type) -> type:
    """A subclass of the YAML loader ``base`` whose mappings refuse duplicate keys."""

    class Strict(base):
        pass

    def construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict:
        _refuse_duplicate_keys(loader, node)
        return loader.construct_mapping(node, deep=deep)

    Strict.__name__ = Strict.__qualname__ = f"Strict{base.__name__}"
    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return Strict


# libyaml when PyYAML has it: a 10,000-object export composes about six times faster.
# JSON documents skip it: the json module reads them some forty times faster still.
_FAST_LOADER = _strict_loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader))
_LOADER = _strict_loader(yaml.SafeLoader)


# --- documents of a text -----------------------------------------------------------


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


def _load(chunk: str, first_line: int, fast: bool) -> tuple[_Tree | None, Any]:
    if _JSON_START.match(chunk) and not any(c in chunk for c in _YAML_ONLY_BREAKS):
        try:
            return _JsonTree.load(chunk, first_line)
        except ValueError:
            # YAML that looks like JSON ({kind: Pod}), JSON that YAML reads
            # differently (NaN), or a key given twice, which YAML places.
            pass
    loader = (_FAST_LOADER if fast else _LOADER)(chunk)
    try:
        with collector_paused():
            node = loader.get_single_node()
            obj = loader.construct_document(node) if node is not None else None
        return (_YamlTree(node, first_line - 1) if node is not None else None), obj
    except yaml.YAMLError as exc:
        # JSON that YAML 1.1 refuses is still JSON (a key given twice is refused by both).
        if fast and chunk.lstrip().startswith(("{", "[")) and not isinstance(exc, DuplicateKeyError):
            return None, json.loads(chunk, object_pairs_hook=unique_pairs)
        raise
    finally:
        loader.dispose()


class _Tree(Protocol):
    """Where a parsed value and the values in it are in the text."""

    @property
    def line(self) -> int: ...

    def line_of(self, steps: Steps) -> int:
        """The line of the value ``steps`` (keys and indexes) below: the line of its key, if it has one,
        or of the deepest step that exists."""

    def start_of(self, steps: Steps) -> int:
        """The line the value ``steps`` below starts on, or the deepest step that exists."""

    def elements(self, key: str) -> list[tuple[_Tree, int]]:
        """Every element of the sequence under ``key``, with its line; [] when there is none."""


@dataclass(slots=True)
class _YamlTree:
    node: yaml.Node
    shift: int  # lines of the file before the chunk the node was composed from

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1 + self.shift

    def line_of(self, steps: Steps) -> int:
        return self._walk(steps)[1].line + 1 + self.shift

    def start_of(self, steps: Steps) -> int:
        return self._walk(steps)[0].start_mark.line + 1 + self.shift

    def _walk(self, steps: Steps) -> tuple[yaml.Node, yaml.Mark]:
        node, mark = self.node, self.node.start_mark
        for step in steps:
            found = _yaml_step(node, step)
            if found is None:
                break
            node, mark = found
        return node, mark

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
        with collector_paused():
            obj, end = _STRICT_JSON.raw_decode(chunk, start)
        if _JSON_SPACE.match(chunk, end).end() != len(chunk):
            raise ValueError("more than one JSON value")
        return cls(chunk, start, 0, first_line), obj

    @property
    def line(self) -> int:
        return self.anchor_line + _breaks(self.text, self.anchor, self.offset)

    def line_of(self, steps: Steps) -> int:
        return self.anchor_line + _breaks(self.text, self.anchor, self._walk(steps)[0])

    def start_of(self, steps: Steps) -> int:
        return self.anchor_line + _breaks(self.text, self.anchor, self._walk(steps)[1])

    def _walk(self, steps: Steps) -> tuple[int, int]:
        """Where what names the value at ``steps`` (or the deepest step that exists) starts, and where the value does."""
        offset = named = self.offset
        for step in steps:
            found = _json_step(self.text, offset, step)
            if found is None:
                break
            named, offset = found
        return named, offset

    def elements(self, key: str) -> list[tuple[_Tree, int]]:
        text = self.text
        found = _json_step(text, self.offset, key)
        if found is None or text[found[1]] != "[":
            return []
        elements: list[tuple[_Tree, int]] = []
        line, previous = self.anchor_line, self.anchor
        at = _JSON_SPACE.match(text, found[1] + 1).end()
        with collector_paused():
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
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many acyclic objects are built."""
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
