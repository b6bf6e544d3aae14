"""Read YAML and JSON documents, keeping where each value is: the one reader of configs, fixtures and manifests.

Every document gives its data and ``line_of(path)``, the line of any value in
it. A key given twice is refused: YAML loaders and Python's ``json`` keep the
last of two equal keys without a word, the API server's strict field
validation refuses such an object, and a reader that kept the other value
would judge a different object than the one that runs. The refusal is at the
line of the second key where the parser knows it.

Values are what kubectl gives (harness/goyaml.py says how and where from): a
YAML document is built from libyaml's events by ``_Builder``, one value at a
time, without recursion, so that depth, alias expansion and size are counted
and refused at their limits (``MAX_DEPTH``, go-yaml's alias ratio,
``MAX_DOCUMENT``) before they cost anything. With ``lists``, the items of a
List are given one by one as they are read, so that a 100,000-object export
is never held as objects all at once.

Line numbers cost little until asked for: a JSON document keeps its text and
finds a value by scanning it again, a YAML document keeps the line of each key
and element of its containers.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn, Protocol

import jsonschema
import yaml

from harness import goyaml
from harness.errors import yaml_problem

# Limits (README, "Limits"). kubectl's YAML and JSON stop at 10,000 levels; the
# harness's own walks of a value (copies, schemas, the JSON it sends) recurse,
# and Python's stack holds a few hundred levels of them, so the limit is lower
# and said. 3 MiB is the largest request body the API server takes
# (k8s.io/apiserver DefaultMaxRequestBodyBytes): no larger object can be created.
MAX_DEPTH = 200
MAX_DOCUMENT = 3 * 1024 * 1024

_START = re.compile(r"^---(\s.*)?$")  # a document may begin on its own marker's line: "--- {kind: Pod}"
_END = re.compile(r"^\.\.\.(\s.*)?$")
_FIELD_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_JSON_START = re.compile(r"\ufeff?\s*[\[{]")  # Windows PowerShell 5.1 writes UTF-8 with a byte order mark
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_COLON = re.compile(r"[ \t\n\r]*:[ \t\n\r]*")
_JSON_COMMA = re.compile(r"[ \t\n\r]*,?[ \t\n\r]*")
# Line breaks to YAML, not to JSON: inside a JSON string YAML folds or counts them.
_YAML_ONLY_BREAKS = ("\x85", "\u2028", "\u2029")
_BYTE_ORDER_MARKS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))

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
    """A document of a multi-document text that does not parse, the others being still read; ``number``
    0 for a whole file that cannot be read."""

    source: str
    number: int
    line: int
    message: str

    def __str__(self) -> str:
        if self.number == 0:
            return f"{self.source}: {self.message}"
        return f"{self.source} document {self.number} (line {self.line}): {self.message}"


class Unparsable(ValueError):
    """A text that is not the document it should be. ``column`` is None when the parser does not say
    where: ``line`` is then the document's first."""

    def __init__(self, line: int, column: int | None, syntax: str | None, problem: str, *, refused: bool = False):
        super().__init__(problem)
        self.line, self.column, self.syntax, self.problem = line, column, syntax, problem
        self.refused = refused  # well-formed, but what kubectl refuses or past a limit

    @property
    def message(self) -> str:
        return f"invalid {self.syntax or 'document'}: {self.problem}"


def field_steps(path: str) -> list[str | int]:
    """``spec.containers[0].image`` as keys and indexes."""
    return [int(index) if index else key for key, index in _FIELD_TOKEN.findall(path)]


@dataclass(frozen=True)
class ListEnd:
    """The end of a List whose items ``parse`` gave one by one: the List without its items, read last
    because ``kubectl get -o json`` writes ``kind`` after ``items``."""

    source: str
    number: int
    line: int
    obj: dict
    items: int


def text_of(data: bytes) -> str:
    """The text of a file's bytes as kubectl reads them, or ValueError saying why it cannot be.

    kubectl reads files through ``unicode.BOMOverride(unicode.UTF8.NewDecoder())``
    (k8s.io/cli-runtime pkg/resource/visitor.go, FileVisitor.Visit): a UTF-8 or
    UTF-16 byte order mark says the encoding and goes, anything else is UTF-8.
    A UTF-32 mark is read by it as UTF-16 with NULs, which its YAML refuses, so
    it is refused here by name. Invalid UTF-8 kubectl turns into U+FFFD, so the
    object it sends is not the one written: refused, not guessed at.
    """
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise ValueError("UTF-32 (a UTF-32 byte order mark): kubectl reads only UTF-8 and UTF-16; save it as UTF-8")
    mark, encoding = next(((mark, encoding) for mark, encoding in _BYTE_ORDER_MARKS if data.startswith(mark)),
                          (b"", "utf-8"))
    body = data[len(mark):]
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as exc:
        line = body[:exc.start].count("\n".encode(encoding)) + 1
        name = "UTF-8" if encoding == "utf-8" else "UTF-16"
        raise ValueError(f"not valid {name}: line {line}, byte {len(mark) + exc.start}: {exc.reason}") from None


class Unreadable(ValueError):
    """A path to read that does not exist or cannot be read."""


def files_under(root: Path, suffixes: Sequence[str]) -> list[tuple[Path, str | None]]:
    """``root`` when it is a file, else each file under it named ``*<suffix>``, in sorted order,
    each with None or why it cannot be read; Unreadable when ``root`` itself cannot be.

    Nothing is skipped without a word: an unreadable directory, a dangling
    link, a link that leads back to a directory it is in, are errors; links to
    directories are followed."""
    try:
        info = root.stat()
    except FileNotFoundError:
        if root.is_symlink():
            raise Unreadable(f"{root}: a dangling symlink (to {os.readlink(root)})") from None
        raise Unreadable(f"{root}: no such file or directory") from None
    except OSError as exc:
        raise Unreadable(f"{root}: cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(info.st_mode):
        return [(root, None)]
    found: list[tuple[Path, str | None]] = []
    pending = [(root, ((info.st_dev, info.st_ino),))]
    while pending:
        directory, ancestors = pending.pop()
        try:
            with os.scandir(directory) as entries:
                names = sorted(entry.name for entry in entries)
        except OSError as exc:
            found.append((directory, f"a directory that cannot be read: {exc.strerror or exc}"))
            continue
        for name in names:
            path = directory / name
            try:
                info = path.stat()
            except FileNotFoundError:
                if path.is_symlink():
                    found.append((path, f"a dangling symlink (to {os.readlink(path)})"))
                continue
            except OSError as exc:
                found.append((path, f"cannot be read: {exc.strerror or exc}"))
                continue
            if stat.S_ISDIR(info.st_mode):
                identity = (info.st_dev, info.st_ino)
                if identity in ancestors:
                    found.append((path, f"a symlink loop: it leads back to {path.resolve()}, a directory it is in"))
                else:
                    pending.append((path, (*ancestors, identity)))
            elif path.suffix.lower() in suffixes:
                found.append((path, None if stat.S_ISREG(info.st_mode) else "not a regular file"))
    return sorted(found, key=lambda entry: entry[0].parts)


def parse(text: str, source: str, *, lists: bool = False) -> Iterator[Document | DocumentError | ListEnd]:
    """Every document of a (multi-document) YAML or JSON text, in order; one that does not parse is a
    DocumentError and the others are still read. A document that is JSON is read as JSON (kubectl
    reads a text that starts with ``{`` as JSON), the others by libyaml: this is how manifests are read.

    With ``lists``, a document that is a mapping with an ``items`` sequence gives each item as a
    Document (``item`` its index) as soon as it is read, then a ListEnd; an error after some items
    is a DocumentError after them."""
    for number, (first_line, chunk) in enumerate(_chunks(text), start=1):
        try:
            yield from _values(chunk, source, number, first_line, fast=True, lists=lists)
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
    (document,) = _values(text, source, number, first_line, fast=fast, lists=False)
    return document


def load_json(text: str, source: str) -> Document:
    """``text`` as one JSON value, read as JSON (not as the YAML it also is); Unparsable when it is not."""
    start = _JSON_SPACE.match(text, 1 if text.startswith("\ufeff") else 0).end()
    try:
        obj, end = _json_decode(text, start, 1, _recursion_depth())
    except _JsonNotRead as exc:
        raise _unparsable(exc.__cause__, 1) from exc
    if _JSON_SPACE.match(text, end).end() != len(text):
        raise Unparsable(1 + _breaks(text, 0, end), None, "JSON", "more than one JSON value")
    return Document(source, 1, 1, obj)


def _unparsable(exc: Exception, first_line: int) -> Unparsable:
    if isinstance(exc, Unparsable):
        return exc
    if isinstance(exc, yaml.YAMLError):
        mark, problem = yaml_problem(exc)
        refused = isinstance(exc, _Refusal)
        if mark is None:
            return Unparsable(first_line, None, "YAML", problem, refused=refused)
        return Unparsable(first_line + mark.line, mark.column + 1, "YAML", problem, refused=refused)
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


# --- keys given twice --------------------------------------------------------------


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


def _values(chunk: str, source: str, number: int, first_line: int, *, fast: bool,
            lists: bool) -> Iterator[Document | ListEnd]:
    """The document of one chunk: JSON when it is JSON, else YAML; with ``lists``, a List's items one by one."""
    not_json = None
    if _JSON_START.match(chunk) and not any(c in chunk for c in _YAML_ONLY_BREAKS):
        try:
            yield from _JsonTree.documents(chunk, source, number, first_line, lists)
            return
        except _JsonNotRead as exc:
            # YAML that looks like JSON ({kind: Pod}), or a key given twice, which YAML places.
            not_json = exc
    try:
        yield from _yaml_documents(chunk, source, number, first_line, fast, lists)
    except Unparsable as exc:
        # Neither JSON nor YAML: JSON's word on what looks like JSON.
        if not exc.refused and not_json is not None and isinstance(not_json.__cause__, json.JSONDecodeError):
            raise _unparsable(not_json.__cause__, first_line) from not_json
        raise


def _yaml_documents(chunk: str, source: str, number: int, first_line: int, fast: bool,
                    lists: bool) -> Iterator[Document | ListEnd]:
    # libyaml's parser when PyYAML has it (five times faster than PyYAML's own); its events are
    # built into values here, iteratively: libyaml's composer and PyYAML's constructor recurse.
    parser = yaml.cyaml.CParser(chunk) if fast and hasattr(yaml, "cyaml") else yaml.SafeLoader(chunk)
    try:
        with collector_paused():
            parser.get_event()  # the stream's start
            event = parser.get_event()
            if isinstance(event, yaml.StreamEndEvent):
                yield Document(source, number, first_line, None)
                return
            builder = _Builder(parser.get_event, first_line - 1)
            event = parser.get_event()
            if lists and isinstance(event, yaml.MappingStartEvent):
                for value, tree, item in builder.list_or_value(event):
                    if item is None:
                        yield Document(source, number, tree.line, value, tree=tree)
                    elif isinstance(item, str):
                        yield ListEnd(source, number, tree.line, value, int(item))
                    else:
                        yield Document(source, number, tree.line, value, item=item, tree=tree)
            else:
                value, tree = builder.value(event)
                yield Document(source, number, tree.line, value, tree=tree)
            parser.get_event()  # the document's end
            event = parser.get_event()
            if not isinstance(event, yaml.StreamEndEvent):
                raise Unparsable(first_line + event.start_mark.line, event.start_mark.column + 1, "YAML",
                                 "expected a single document in the stream, but found another document")
    except (yaml.YAMLError, goyaml.Refused) as exc:
        raise _unparsable(exc, first_line) from exc
    finally:
        if hasattr(parser, "dispose"):
            parser.dispose()


class _Refusal(yaml.MarkedYAMLError):
    """What kubectl's YAML refuses (goyaml), or a limit, at the mark of the node at fault."""

    def __init__(self, problem: str, mark: yaml.Mark):
        super().__init__(problem=problem, problem_mark=mark)


_NO_KEY = object()
_MERGE = object()
_SCALAR, _ALIAS = yaml.ScalarEvent, yaml.AliasEvent
_OPENING = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSING = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


@dataclass(slots=True)
class _Anchor:
    value: Any
    line: int
    decodes: int  # nodes decoded to build it, aliases inside it expanded: what each alias of it costs
    height: int
    lines: dict[int, Any]


@dataclass(slots=True)
class _Open:
    """A mapping or sequence being built."""

    value: dict | list
    lines: dict | list  # per key (key line, value line), per element its line
    line: int
    anchor: str | None
    decoded: int  # the builder's count when it opened
    height: int = 1
    key: Any = _NO_KEY
    key_mark: yaml.Mark | None = None
    key_line: int = 0
    explicit: set | None = None  # keys written in the mapping (merged ones may be overwritten)


class _Builder:
    """The values of one YAML document's events, as kubectl's YAML decodes them (harness/goyaml.py),
    with the line of every key and element kept per container."""

    def __init__(self, next_event: Callable[[], yaml.Event], shift: int):
        self.next_event = next_event
        self.shift = shift
        self.anchors: dict[str, _Anchor] = {}
        self.opened: set[str] = set()
        self.decoded = 0
        self.aliased = 0
        self.lines: dict[int, Any] = {}
        self.start_index = 0  # where the object being built starts, for MAX_DOCUMENT

    def value(self, event: yaml.Event, depth: int = 0) -> tuple[Any, _LineTree]:
        """The value of the node that ``event`` starts, and its tree; the builder's lines start anew."""
        self.lines = {}
        self.start_index = event.start_mark.index
        value, line = self._node(event, depth)
        try:
            value = goyaml.json_value(value)
        except goyaml.Refused as exc:
            raise _Refusal(str(exc), event.start_mark) from None
        return value, _LineTree(value, line, self.lines)

    def list_or_value(self, event: yaml.MappingStartEvent) -> Iterator[tuple[Any, _LineTree, int | str | None]]:
        """A top-level mapping: with an ``items`` sequence, (item, tree, index) per item and then
        (the mapping without it, tree, "count"); else (the mapping, tree, None)."""
        self.lines = {}
        self.start_index = event.start_mark.index
        root = self._open(event, 0)
        root_lines = self.lines
        count = -1
        while True:
            event = self.next_event()
            if isinstance(event, yaml.MappingEndEvent):
                break
            if root.key == "items" and isinstance(event, yaml.SequenceStartEvent) and count < 0:
                self._check_key(root, "items")
                count = 0
                while not isinstance(event := self.next_event(), yaml.SequenceEndEvent):
                    value, tree = self.value(event, 2)
                    yield value, tree, count
                    count += 1
                self.lines = root_lines
                self.start_index = event.end_mark.index
                root.key = _NO_KEY
                continue
            value, line = self._node(event, 1, root)
            self._add(root, value, line, event)
        self._close(root)
        tree = _LineTree(root.value, root.line, root_lines)
        yield (root.value, tree, str(count)) if count >= 0 else (root.value, tree, None)

    def _node(self, event: yaml.Event, depth: int, parent: _Open | None = None) -> tuple[Any, int]:
        """The value of the node ``event`` starts (in ``parent``) and its line: an explicit stack, no recursion."""
        stack: list[_Open] = []
        base = depth
        while True:
            kind = type(event)
            if kind is _SCALAR:
                value = self._scalar(event, stack[-1] if stack else parent)
                line, height = self.shift + event.start_mark.line + 1, 0
            elif kind is _ALIAS:
                value, line, height = self._alias(event, base + len(stack))
            elif kind in _OPENING:
                stack.append(self._open(event, base + len(stack)))
                event = self.next_event()
                continue
            elif kind in _CLOSING:
                done = stack.pop()
                self._close(done)
                value, line, height = done.value, done.line, done.height
            else:
                raise _Refusal(f"unexpected {kind.__name__}", event.start_mark)
            if not stack:
                return value, line
            self._add(stack[-1], value, line, event, height)
            event = self.next_event()

    def _open(self, event: yaml.Event, depth: int) -> _Open:
        if depth + 1 > MAX_DEPTH:
            raise _Refusal(f"nested deeper than {MAX_DEPTH} levels, the limit (README, Limits)", event.start_mark)
        self.decoded += 1
        self._check_aliasing(event)
        is_map = isinstance(event, yaml.MappingStartEvent)
        value: dict | list = {} if is_map else []
        lines: dict | list = {} if is_map else []
        self.lines[id(value)] = lines
        if event.anchor is not None:
            self.opened.add(event.anchor)
        return _Open(value, lines, self.shift + event.start_mark.line + 1, event.anchor, self.decoded - 1,
                     explicit=set() if is_map else None)

    def _close(self, done: _Open) -> None:
        if done.anchor is not None:
            self.opened.discard(done.anchor)
            self.anchors[done.anchor] = _Anchor(done.value, done.line, self.decoded - done.decoded, done.height,
                                                self.lines)

    def _scalar(self, event: yaml.ScalarEvent, parent: _Open | None) -> Any:
        text, tag, plain = event.value, event.tag, event.implicit[0]
        if text == "<<" and parent is not None and parent.explicit is not None and parent.key is _NO_KEY \
                and goyaml.is_merge(text, tag, plain):
            return _MERGE  # decode.go reads a merge key's value without decoding the key
        self.decoded += 1
        self._check_aliasing(event)
        if tag is None and (not plain or (text and text[0] not in goyaml.HINTED)):
            value: Any = text  # most keys and values: a string whatever else it could be
        else:
            try:
                value = goyaml.scalar(text, tag, plain)
            except goyaml.Refused as exc:
                raise _Refusal(str(exc), event.start_mark) from None
        if event.anchor is not None:
            self.anchors[event.anchor] = _Anchor(value, self.shift + event.start_mark.line + 1, 1, 0, self.lines)
        return value

    def _alias(self, event: yaml.AliasEvent, depth: int) -> tuple[Any, int, int]:
        anchor = self.anchors.get(event.anchor)
        if anchor is None:
            if event.anchor in self.opened:
                raise _Refusal(f"anchor '{event.anchor}' value contains itself", event.start_mark)
            raise _Refusal(f"unknown anchor '{event.anchor}' referenced", event.start_mark)
        if depth + anchor.height > MAX_DEPTH:
            raise _Refusal(f"nested deeper than {MAX_DEPTH} levels, the limit (README, Limits)", event.start_mark)
        self.decoded += 1 + anchor.decodes
        self.aliased += anchor.decodes
        self._check_aliasing(event)
        # The alias's own line for the value, its anchor's for what is inside it.
        return self._copy(anchor.value, anchor.lines), self.shift + event.start_mark.line + 1, anchor.height

    def _check_aliasing(self, event: yaml.Event) -> None:
        if self.aliased > 100 and goyaml.excessive_aliasing(self.aliased, self.decoded):
            raise _Refusal(f"document contains excessive aliasing ({self.aliased:,} of {self.decoded:,} nodes "
                           "from aliases: kubectl's YAML refuses it, README, Limits)", event.start_mark)
        if event.end_mark.index - self.start_index > MAX_DOCUMENT:
            raise _Refusal(f"larger than {MAX_DOCUMENT // 1024 // 1024} MiB, the limit (README, Limits)",
                           event.start_mark)

    def _copy(self, value: Any, lines: dict[int, Any]) -> Any:
        """A fresh copy of an anchored value, as decoding an alias builds one, with its lines."""
        if isinstance(value, dict):
            copied: Any = {key: self._copy(item, lines) for key, item in value.items()}
        elif isinstance(value, list):
            copied = [self._copy(item, lines) for item in value]
        else:
            return value
        self.lines[id(copied)] = lines.get(id(value), {} if isinstance(value, dict) else [])
        return copied

    def _add(self, parent: _Open, value: Any, line: int, event: yaml.Event, height: int = 0) -> None:
        parent.height = max(parent.height, height + 1)
        if parent.explicit is None:
            parent.value.append(self._json_value(value, event))
            parent.lines.append(line)
        elif parent.key is _NO_KEY:
            if value is _MERGE:
                parent.key = _MERGE
                return
            try:
                parent.key = goyaml.key(value)
            except goyaml.Refused as exc:
                raise _Refusal(str(exc), event.start_mark) from None
            parent.key_mark = event.start_mark
            parent.key_line = line
        elif parent.key is _MERGE:
            parent.key = _NO_KEY
            self._merge(parent, value, event)
        else:
            key, parent.key = parent.key, _NO_KEY
            self._check_key(parent, key)
            parent.value[key] = self._json_value(value, event)
            parent.lines[key] = (parent.key_line, line)

    @staticmethod
    def _json_value(value: Any, event: yaml.Event) -> Any:
        if type(value) is not float:
            return value
        try:
            return goyaml.json_value(value)
        except goyaml.Refused as exc:
            raise _Refusal(str(exc), event.start_mark) from None

    def _check_key(self, parent: _Open, key: str) -> None:
        if key in parent.explicit:
            raise _Refusal(f"duplicate key {key!r}", parent.key_mark)
        parent.explicit.add(key)

    def _merge(self, parent: _Open, value: Any, event: yaml.Event) -> None:
        # decode.go merge: a mapping, or a sequence of mappings of which the earlier win;
        # an alias must name a mapping.
        if isinstance(value, dict):
            sources = [value]
        elif isinstance(value, list) and not isinstance(event, yaml.AliasEvent) \
                and all(isinstance(item, dict) for item in value):
            sources = value[::-1]
        else:
            raise _Refusal("map merge requires map or sequence of maps as the value", event.start_mark)
        for source in sources:
            lines = self.lines.get(id(source), {})
            for key, item in source.items():
                parent.value[key] = item
                parent.lines[key] = lines.get(key, (parent.line, parent.line))


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
class _LineTree:
    """Where a YAML value and the values in it are: per container (by identity), the lines of its keys
    and values or of its elements, as the builder found them."""

    root: Any
    line: int
    lines: dict[int, Any]

    def line_of(self, steps: Steps) -> int:
        return self._walk(steps)[0]

    def start_of(self, steps: Steps) -> int:
        return self._walk(steps)[1]

    def _walk(self, steps: Steps) -> tuple[int, int]:
        value, named, start = self.root, self.line, self.line
        for step in steps:
            lines = self.lines.get(id(value))
            if isinstance(step, str) and isinstance(value, dict) and isinstance(lines, dict) and step in lines \
                    and step in value:
                named, start = lines[step]
            elif isinstance(step, int) and isinstance(value, list) and isinstance(lines, list) \
                    and 0 <= step < min(len(lines), len(value)):
                named = start = lines[step]
            else:
                break
            value = value[step]
        return named, start

    def elements(self, key: str) -> list[tuple[_Tree, int]]:
        items = self.root.get(key) if isinstance(self.root, dict) else None
        lines = self.lines.get(id(items))
        if not isinstance(items, list) or not isinstance(lines, list):
            return []
        return [(_LineTree(item, line, self.lines), line) for item, line in zip(items, lines, strict=False)]


def _after(text: str, end: int, closer: str) -> int:
    """Past the separator after a JSON value that ends at ``end``: the next value, or ``closer``."""
    at = _JSON_SPACE.match(text, end).end()
    if text[at] == ",":
        at = _JSON_SPACE.match(text, at + 1).end()
        if text[at] != closer:
            return at
    elif text[at] == closer:
        return at
    raise json.JSONDecodeError(f"Expecting ',' delimiter or '{closer}'", text, at)


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
    def documents(cls, chunk: str, source: str, number: int, first_line: int,
                  lists: bool) -> Iterator[Document | ListEnd]:
        """The document of a chunk that holds one JSON value; with ``lists``, a List's items one by one.
        _JsonNotRead when the chunk is not JSON and nothing of it was given."""
        start = _JSON_SPACE.match(chunk, 1 if chunk.startswith("\ufeff") else 0).end()
        if lists and chunk[start] == "{":
            yield from cls._list_or_value(chunk, start, source, number, first_line)
            return
        with collector_paused():
            obj, end = _json_decode(chunk, start, first_line, _recursion_depth())
        if _JSON_SPACE.match(chunk, end).end() != len(chunk):
            raise _JsonNotRead("more than one JSON value")
        tree = cls(chunk, start, 0, first_line)
        yield Document(source, number, tree.line, obj, tree=tree)

    @classmethod
    def _list_or_value(cls, text: str, start: int, source: str, number: int,
                       first_line: int) -> Iterator[Document | ListEnd]:
        """The object at ``start``; with an ``items`` array, each item as it is read, then a ListEnd."""
        head: dict = {}
        items = -1
        at = _JSON_SPACE.match(text, start + 1).end()
        line, previous = first_line, 0
        depth = _recursion_depth()
        with collector_paused():
            try:
                while text[at] != "}":
                    if text[at] != '"':
                        raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, at)
                    key, after = _json_string(text, at + 1)
                    colon = _JSON_COLON.match(text, after)
                    if colon is None:
                        raise json.JSONDecodeError("Expecting ':' delimiter", text, after)
                    at = colon.end()
                    if key in head or (key == "items" and items >= 0):
                        raise DuplicateJsonKey(f"duplicate key {key!r}")
                    if key == "items" and text[at] == "[":
                        items = 0
                        at = _JSON_SPACE.match(text, at + 1).end()
                        while text[at] != "]":
                            obj, end = _json_decode(text, at, first_line, depth, 2)
                            line += _breaks(text, previous, at)
                            previous = at
                            yield Document(source, number, line, obj, item=items, tree=cls(text, at, at, line))
                            items += 1
                            at = _after(text, end, "]")
                        at = _after(text, at + 1, "}")
                        continue
                    head[key], end = _json_decode(text, at, first_line, depth, 1)
                    at = _after(text, end, "}")
                if _JSON_SPACE.match(text, at + 1).end() != len(text):
                    raise json.JSONDecodeError("Extra data", text, at + 1)
            except (ValueError, IndexError) as exc:
                if isinstance(exc, Unparsable):
                    raise
                if items <= 0:
                    if isinstance(exc, _JsonNotRead):
                        raise
                    raise _JsonNotRead(str(exc)) from exc
                problem = exc.args[0] if isinstance(exc, DuplicateJsonKey) else f"{exc} (after {items} items)"
                raise Unparsable(first_line + _breaks(text, 0, min(at, len(text))), None, "JSON", problem) from exc
        tree = cls(text, start, 0, first_line)
        if items < 0:
            yield Document(source, number, tree.line, head, tree=tree)
        else:
            yield ListEnd(source, number, tree.line, head, items)

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


class _JsonNotRead(ValueError):
    """A chunk that does not read as JSON before anything of it was given: it is read as YAML."""


class _JsonRefused(ValueError):
    """A JSON value kubectl's JSON refuses (a non-finite or out-of-range number)."""


def _recursion_depth() -> int:
    """The interpreter's recursion depth at the caller, C-level calls counted as well as frames:
    found by recursing to the limit once."""
    def down(depth: int) -> int:
        try:
            return down(depth + 1)
        except RecursionError:
            return depth

    return sys.getrecursionlimit() - down(0) - 1


def _json_decode(text: str, at: int, first_line: int, depth: int, level: int = 0) -> tuple[Any, int]:
    """The JSON value at ``at``, ``level`` containers below its document's root, and where it ends;
    Unparsable for what kubectl refuses or a limit, _JsonNotRead (a ValueError) for text that is not JSON.
    ``depth`` is the caller's ``_recursion_depth()``."""
    # CPython's scanner takes one level of the interpreter's recursion limit per array or
    # object it enters: a limit just MAX_DEPTH above the caller bounds the depth in C, at no
    # cost per value. Four levels more for raw_decode's frame and the call of unique_pairs at
    # the innermost object (a document whose innermost containers are arrays may so go two
    # levels deeper).
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + MAX_DEPTH + 4 - level)
    try:
        obj, end = _STRICT_JSON.raw_decode(text, at)
    except RecursionError:
        raise Unparsable(first_line + _breaks(text, 0, at), None, "JSON",
                         f"nested deeper than {MAX_DEPTH} levels, the limit (README, Limits)", refused=True) from None
    except _JsonRefused as exc:
        raise Unparsable(first_line + _breaks(text, 0, at), None, "JSON", str(exc), refused=True) from None
    except ValueError as exc:
        raise _JsonNotRead(str(exc)) from exc
    finally:
        sys.setrecursionlimit(previous)
    if end - at > MAX_DOCUMENT:
        raise Unparsable(first_line + _breaks(text, 0, at), None, "JSON",
                         f"larger than {MAX_DOCUMENT // 1024 // 1024} MiB, the limit (README, Limits)", refused=True)
    return obj, end


def _json_int(literal: str) -> int | float:
    # k8s.io/apimachinery's JSON: an integer that fits int64 is one, any other number a float64,
    # and one out of float64's range refused (a 5,000-digit number too, before Python's
    # int-from-string limit is reached).
    if len(literal.lstrip("-")) <= 19:
        number = int(literal)
        if -(1 << 63) <= number < 1 << 63:
            return number
    return _json_float(literal)


def _json_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        shown = literal if len(literal) <= 40 else f"{literal[:20]}...({len(literal)} digits)"
        raise _JsonRefused(f"the number {shown} is out of float64's range: kubectl refuses it "
                           "(json: cannot unmarshal number)")
    return number


def _json_constant(literal: str) -> NoReturn:
    raise _JsonRefused(f"{literal} is not JSON: kubectl refuses it")


_JSON = json.JSONDecoder(parse_float=_json_float, parse_int=_json_int, parse_constant=_json_constant)
# The first read of a document also refuses a key given twice; the scans for
# line numbers after it skip values already known to be well-formed.
_STRICT_JSON = json.JSONDecoder(parse_float=_json_float, parse_int=_json_int, parse_constant=_json_constant,
                                object_pairs_hook=unique_pairs)
_json_value = _JSON.scan_once
_json_string = json.decoder.scanstring
