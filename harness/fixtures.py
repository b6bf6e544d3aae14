"""Fixture files: load, validate and expand them into cases the decision API can judge.

The format is documented in ``fixtures/README.md``. Every authoring mistake is a
``FixtureError`` naming the file (and line), the case and the field, raised
before any case is sent to OPA.
"""

from __future__ import annotations

import copy
import fnmatch
import itertools
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jsonpatch
import yaml

from harness.config import load_config
from harness.errors import ConfigError, FixtureError, yaml_problem
from harness.inputs import SHAPES, pod_spec_field, verdict, wrap_input, wrap_pod
from harness.kinds import WORKLOADS
from harness.unique import refuse_duplicate_keys

logger = logging.getLogger(__name__)

API_VERSION = "winpod-guard/v1alpha1"
KIND = "Fixture"
BUILTIN = "builtin"

# DESIGN.md "Violation codes": the set is closed, so a typo in a fixture is an
# authoring error rather than an expectation that can never be met.
CODES = frozenset(
    {
        "hostprocess.not-allowed",
        "hostprocess.mixed",
        "hostprocess.host-network",
        "hostprocess.user",
        "hostprocess.image",
        "hostprocess.inherit-user",
        "hostprocess.malformed",
        "users.not-allowed",
        "users.malformed",
        "hostpath.not-allowed",
        "hostpath.writable",
        "hostpath.admin-user",
        "hostpath.subpath",
        "hostpath.malformed",
    }
)
ACTIONS = ("deny", "warn", "dryrun")

_FILE_KEYS = {"apiVersion", "kind", "description", "base", "config", "shape", "workload", "cases"}
_CASE_KEYS = {"name", "description", "base", "patch", "config", "shape", "workload", "requestNamespace", "expect"}
_EXPECT_KEYS = {"allowed", "violations"}
_VIOLATION_KEYS = {"code", "constraint", "enforcementAction", "field"}


# --- the model -------------------------------------------------------------------


@dataclass(frozen=True)
class ViolationPattern:
    """One expected violation; keys left out match any value."""

    code: str
    constraint: str | None = None
    enforcement_action: str | None = None
    field: str | None = None

    def matches(self, violation: dict) -> bool:
        wanted = {
            "code": self.code,
            "constraint": self.constraint,
            "enforcementAction": self.enforcement_action,
            "field": self.field,
        }
        return all(value is None or violation.get(key) == value for key, value in wanted.items())

    def describe(self) -> str:
        details = [f"{key}={value}" for key, value in (("constraint", self.constraint),
                   ("action", self.enforcement_action), ("field", self.field)) if value is not None]
        return self.code + (f" ({', '.join(details)})" if details else "")


@dataclass(frozen=True)
class Expectation:
    """``allowed``, and when ``violations`` is not None, exactly the violations that must fire."""

    allowed: bool
    violations: tuple[ViolationPattern, ...] | None = None

    def mismatches(self, decision: object) -> list[str]:
        """What about ``decision`` disagrees with the expectation (empty when it agrees)."""
        if not _is_decision(decision):
            return [f"the decision is not {{allowed: bool, violations: [...]}}: {decision!r}"]
        verdict_problem = [] if decision["allowed"] is self.allowed else \
            [f"expected {verdict(self.allowed)}, got {verdict(decision['allowed'])}"]
        return verdict_problem + self.violation_mismatches(decision)

    def violation_mismatches(self, decision: dict) -> list[str]:
        """Expected violations that did not fire, and fired ones nobody expected."""
        if self.violations is None or not _is_decision(decision):
            return []
        actual = [v for v in decision["violations"] if isinstance(v, dict)]
        problems = [f"missing violation {p.describe()}" for p in self.violations
                    if not any(p.matches(v) for v in actual)]
        problems += [f"unexpected violation {describe_violation(v)}" for v in actual
                     if not any(p.matches(v) for p in self.violations)]
        return problems

    def describe(self) -> str:
        if self.violations is None:
            return verdict(self.allowed)
        return f"{verdict(self.allowed)} [{', '.join(p.describe() for p in self.violations)}]"


@dataclass(frozen=True)
class Case:
    """One fixture case after patching, wrapping and expansion: what to send and what to expect."""

    file: Path
    display: str
    name: str
    line: int
    description: str
    input: object = field(compare=False, repr=False)
    config: Path | None  # None: the built-in config of the policies
    expect: Expectation

    @property
    def id(self) -> str:
        return f"{self.display}::{self.name}"


@dataclass
class Suite:
    """The cases of some fixture files, and the validated configs they name."""

    cases: list[Case]
    configs: dict[Path, dict]
    sources: set[Path]  # every file the cases were built from, for --watch

    def groups(self) -> Iterator[tuple[Path | None, list[Case]]]:
        """Cases grouped by config, in first-seen order: one config load and one batch per group."""
        grouped: dict[Path | None, list[Case]] = {}
        for case in self.cases:
            grouped.setdefault(case.config, []).append(case)
        yield from grouped.items()

    def select(self, pattern: str | None) -> Suite:
        """The cases whose id matches ``pattern``: a glob when it has wildcards, else a substring."""
        if not pattern:
            return self
        if any(ch in pattern for ch in "*?["):
            keep = [c for c in self.cases if fnmatch.fnmatchcase(c.id.lower(), pattern.lower())]
        else:
            keep = [c for c in self.cases if pattern.lower() in c.id.lower()]
        return Suite(keep, self.configs, self.sources)


def describe_violation(violation: dict) -> str:
    return (
        f"{violation.get('code')} (constraint={violation.get('constraint')}, "
        f"action={violation.get('enforcementAction')}, field={violation.get('field')})"
    )


def _is_decision(decision: object) -> bool:
    return isinstance(decision, dict) and isinstance(decision.get("allowed"), bool) \
        and isinstance(decision.get("violations"), list)


# --- YAML with line numbers ------------------------------------------------------


class _Mapping(dict):
    """A mapping that remembers its lines (its start, each key's), for error messages."""

    line = 0
    key_lines: dict


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records lines and refuses a key given twice (YAML keeps the last silently)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    mapping = _Mapping()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    yield mapping
    refuse_duplicate_keys(loader, node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _plain(value: object) -> object:
    """``value`` without line bookkeeping: what goes into manifests and patches."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _read_yaml(path: Path, display: str) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureError(f"{display}: cannot read: {exc}") from exc
    try:
        documents = list(yaml.load_all(text, Loader=_LineLoader))  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark, problem = yaml_problem(exc)
        line = f":{mark.line + 1}" if mark else ""
        raise FixtureError(f"{display}{line}: not valid YAML: {problem}") from exc
    documents = [doc for doc in documents if doc is not None]
    if len(documents) != 1:
        raise FixtureError(f"{display}: expected one YAML document, got {len(documents)}")
    return documents[0]


# --- loading ---------------------------------------------------------------------


class _Loader:
    """Loads fixture files; caches base manifests and configs that several files share."""

    def __init__(self, root: Path, default_config: Path | None):
        self.root = root
        self.default_config = default_config
        self.bases: dict[Path, object] = {}
        self.configs: dict[Path, dict] = {}
        self.sources: set[Path] = set()
        if default_config is not None:
            self.configs[default_config] = load_config(default_config)
            self.sources.add(default_config)

    def display(self, path: Path) -> str:
        """``path`` relative to the root when it lies under it, else absolute: the file part of case ids."""
        return path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else path.as_posix()

    def load_file(self, path: Path, explicit: bool) -> list[Case]:
        display = self.display(path)
        document = _read_yaml(path, display)
        if not _is_fixture(document):
            if explicit or (isinstance(document, dict) and "cases" in document):
                raise FixtureError(
                    f"{display}:{getattr(document, 'line', 1)}: expected a fixture "
                    f"(apiVersion: {API_VERSION}, kind: {KIND}), got {_kind_of(document)}"
                )
            logger.debug("%s is not a fixture file, skipped", display)
            return []
        self.sources.add(path)
        return _FileLoader(self, path, display, document).cases()


class _FileLoader:
    def __init__(self, loader: _Loader, path: Path, display: str, document: _Mapping):
        self.loader = loader
        self.path = path
        self.display = display
        self.document = document

    def fail(self, node: object, case: str | None, field_name: str, problem: str, key: object = None) -> FixtureError:
        """The error for ``field_name`` of ``node``, on the line of ``key`` when given."""
        line = getattr(node, "key_lines", {}).get(key) or getattr(node, "line", None) or self.document.line
        where = f"{self.display}:{line}: " + (f"case {case!r}: " if case else "")
        return FixtureError(f"{where}field {field_name}: {problem}")

    def cases(self) -> list[Case]:
        doc = self.document
        self.check_keys(doc, _FILE_KEYS, None, "")
        cases = doc.get("cases")
        if not isinstance(cases, list) or not cases:
            raise self.fail(doc, None, "cases", f"expected a non-empty list of cases, got {_show(cases)}")
        seen: dict[str, int] = {}
        result: list[Case] = []
        for index, raw in enumerate(cases):
            if not isinstance(raw, dict):
                raise self.fail(doc, None, f"cases[{index}]", f"expected a mapping, got {_show(raw)}")
            name = raw.get("name")
            if not isinstance(name, str) or not name.strip() or name != name.strip() or "::" in name:
                raise self.fail(raw, None, f"cases[{index}].name",
                                f"expected a non-empty name without surrounding blanks or '::', got {_show(name)}")
            if name in seen:
                raise self.fail(raw, name, "name", f"expected a unique case name, cases[{seen[name]}] has it too")
            seen[name] = index
            result.extend(self.case(raw, name))
        return result

    def check_keys(self, node: dict, allowed: set[str], case: str | None, prefix: str) -> None:
        for key in node:
            if key not in allowed:
                raise self.fail(node, case, f"{prefix}{key}",
                                f"unknown key; expected one of {', '.join(sorted(allowed))}", key)

    def setting(self, raw: _Mapping, key: str, default: object = None) -> tuple[object, _Mapping]:
        """A case's ``key``, else the file's default, else ``default``; and the mapping it came from."""
        for node in (raw, self.document):
            if key in node:
                return node[key], node
        return default, raw

    def case(self, raw: _Mapping, name: str) -> list[Case]:
        self.check_keys(raw, _CASE_KEYS, name, "")
        description = raw.get("description", "")
        if not isinstance(description, str):
            raise self.fail(raw, name, "description", f"expected a string, got {_show(description)}", "description")
        manifest = self.patch(self.base(raw, name), raw, name)
        odd = _non_json(manifest)
        if odd is not None:
            value, pointer = odd
            raise self.fail(raw, name, "patch" if "patch" in raw else "base", "expected JSON values only (quote dates "
                            f"and the like), got {value!r} at {pointer or '/'}", "patch" if "patch" in raw else "base")
        config = self.config(raw, name)
        shapes = self.choices(raw, name, "shape", "manifest", SHAPES)
        workloads = self.choices(raw, name, "workload", "Pod", tuple(WORKLOADS))
        namespace = raw.get("requestNamespace")
        if namespace is not None:
            if not isinstance(namespace, str) or not namespace:
                raise self.fail(raw, name, "requestNamespace", f"expected a namespace name, got {_show(namespace)}",
                                "requestNamespace")
            if "manifest" in shapes:
                raise self.fail(raw, name, "requestNamespace", "expected only shapes admissionreview and gatekeeper "
                                "with it: a bare manifest has no request namespace", "requestNamespace")
        if workloads != ["Pod"] and (not isinstance(manifest, dict) or manifest.get("kind") != "Pod"):
            raise self.fail(self.setting(raw, "workload")[1], name, "workload",
                            f"expected the patched base to be a Pod to wrap it, got {_kind_of(manifest)}", "workload")
        expect = self.expect(raw, name)
        expanded = []
        several = len(shapes) * len(workloads) > 1
        for workload, shape in itertools.product(workloads, shapes):
            labels = [item for item, many in ((workload, len(workloads) > 1), (shape, len(shapes) > 1)) if many]
            expanded.append(
                Case(
                    file=self.path,
                    display=self.display,
                    name=f"{name}[{','.join(labels)}]" if several else name,
                    line=raw.line,
                    description=description,
                    input=wrap_input(wrap_pod(manifest, workload) if workload != "Pod" else manifest, shape, namespace),
                    config=config,
                    expect=_rebase_fields(expect, workload),
                )
            )
        return expanded

    def base(self, raw: _Mapping, name: str) -> object:
        spec, node = self.setting(raw, "base")
        if isinstance(spec, dict):
            return _plain(spec)
        if not isinstance(spec, str) or not spec:
            raise self.fail(node, name, "base", f"expected a manifest file or an inline manifest, got {_show(spec)}",
                            "base")
        path = (self.path.parent / spec).resolve()
        if path not in self.loader.bases:
            if not path.is_file():
                raise self.fail(node, name, "base", f"expected an existing file, {spec} is not one", "base")
            try:
                self.loader.bases[path] = _plain(_read_yaml(path, self.loader.display(path)))
            except FixtureError as exc:
                raise self.fail(node, name, "base", str(exc), "base") from exc
        self.loader.sources.add(path)
        return self.loader.bases[path]

    def patch(self, base: object, raw: _Mapping, name: str) -> object:
        operations = raw.get("patch", [])
        if not isinstance(operations, list):
            raise self.fail(raw, name, "patch", f"expected a list of RFC 6902 operations, got {_show(operations)}",
                            "patch")
        document = copy.deepcopy(base)
        for index, operation in enumerate(operations):
            where = f"patch[{index}]"
            if isinstance(operation, dict):
                where += f" ({operation.get('op')} {operation.get('path')})"
            try:
                document = jsonpatch.apply_patch(document, [_plain(operation)])
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as exc:
                node = operation if isinstance(operation, _Mapping) else raw
                raise self.fail(node, name, where, f"does not apply: {_short(str(exc))}", "patch") from exc
        return document

    def config(self, raw: _Mapping, name: str) -> Path | None:
        spec, node = self.setting(raw, "config")
        if spec is None:
            return self.loader.default_config
        if spec == BUILTIN:
            return None
        if not isinstance(spec, str) or not spec:
            raise self.fail(node, name, "config", f"expected a config file or {BUILTIN!r}, got {_show(spec)}", "config")
        path = (self.path.parent / spec).resolve()
        if path not in self.loader.configs:
            if not path.is_file():
                raise self.fail(node, name, "config", f"expected an existing config file, {spec} is not one", "config")
            try:
                self.loader.configs[path] = load_config(path)
            except ConfigError as exc:
                raise self.fail(node, name, "config", f"the config does not validate: {exc}", "config") from exc
        self.loader.sources.add(path)
        return path

    def choices(self, raw: _Mapping, name: str, key: str, default: str, allowed: tuple[str, ...]) -> list[str]:
        value, node = self.setting(raw, key, default)
        values = value if isinstance(value, list) else [value]
        if not values or any(not isinstance(v, str) or v not in allowed for v in values) \
                or len(set(values)) != len(values):
            raise self.fail(node, name, key, f"expected one of {', '.join(allowed)} or a list of them without "
                                             f"repeats, got {_show(value)}", key)
        return list(values)

    def expect(self, raw: _Mapping, name: str) -> Expectation:
        node = raw.get("expect")
        if not isinstance(node, dict):
            raise self.fail(raw, name, "expect", f"expected a mapping with allowed (and violations), got {_show(node)}",
                            "expect")
        self.check_keys(node, _EXPECT_KEYS, name, "expect.")
        allowed = node.get("allowed")
        if not isinstance(allowed, bool):
            raise self.fail(node, name, "expect.allowed", f"expected true or false, got {_show(allowed)}", "allowed")
        if "violations" not in node:
            return Expectation(allowed)
        entries = node["violations"]
        if not isinstance(entries, list):
            raise self.fail(node, name, "expect.violations", f"expected a list of codes or mappings, got "
                                                             f"{_show(entries)}", "violations")
        patterns = tuple(self.violation(entry, node, name, f"expect.violations[{index}]")
                         for index, entry in enumerate(entries))
        if len(set(patterns)) != len(patterns):
            raise self.fail(node, name, "expect.violations", "expected each violation once: the list is a set",
                            "violations")
        if allowed and any(p.enforcement_action == "deny" for p in patterns):
            raise self.fail(node, name, "expect.allowed", "expected false: a deny violation is expected", "allowed")
        return Expectation(allowed, patterns)

    def violation(self, entry: object, parent: _Mapping, name: str, where: str) -> ViolationPattern:
        """One ``expect.violations`` entry: a code, or a mapping of code, constraint, enforcementAction, field."""
        if isinstance(entry, str):
            entry, node = {"code": entry}, parent
        elif isinstance(entry, _Mapping):
            self.check_keys(entry, _VIOLATION_KEYS, name, f"{where}.")
            node = entry
        else:
            raise self.fail(parent, name, where, f"expected a code or a mapping, got {_show(entry)}", "violations")
        code = entry.get("code")
        if not isinstance(code, str) or code not in CODES:
            raise self.fail(node, name, f"{where}.code",
                            f"expected a violation code ({', '.join(sorted(CODES))}), got {_show(code)}", "code")
        for key in ("constraint", "field"):
            if key in entry and (not isinstance(entry[key], str) or not entry[key]):
                raise self.fail(node, name, f"{where}.{key}", f"expected a non-empty string, got {_show(entry[key])}",
                                key)
        action = entry.get("enforcementAction")
        if action is not None and action not in ACTIONS:
            raise self.fail(node, name, f"{where}.enforcementAction",
                            f"expected one of {', '.join(ACTIONS)}, got {_show(action)}", "enforcementAction")
        return ViolationPattern(code, entry.get("constraint"), action, entry.get("field"))


def _rebase_fields(expect: Expectation, workload: str) -> Expectation:
    """Expected ``field``s are written for a Pod; point them into the workload's pod template."""
    if workload == "Pod" or not expect.violations:
        return expect
    prefix = pod_spec_field(workload)

    def rebase(field_path: str | None) -> str | None:
        if field_path == "spec" or (field_path or "").startswith(("spec.", "spec[")):
            return prefix + field_path[len("spec"):]
        return field_path

    patterns = tuple(ViolationPattern(p.code, p.constraint, p.enforcement_action, rebase(p.field))
                     for p in expect.violations)
    return Expectation(expect.allowed, patterns)


def _non_json(value: object, pointer: str = "") -> tuple[object, str] | None:
    """The first value JSON cannot carry (YAML reads 2024-01-31 as a date), with its JSON pointer."""
    if isinstance(value, dict):
        for key, item in value.items():
            found = _non_json(item, f"{pointer}/{key}") if isinstance(key, str) else (key, pointer)
            if found is not None:
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _non_json(item, f"{pointer}/{index}")
            if found is not None:
                return found
        return None
    return None if value is None or isinstance(value, (str, bool, int, float)) else (value, pointer)


def _is_fixture(document: object) -> bool:
    return isinstance(document, dict) and document.get("apiVersion") == API_VERSION and document.get("kind") == KIND


def _kind_of(document: object) -> str:
    if isinstance(document, dict):
        return f"apiVersion {document.get('apiVersion')!r}, kind {document.get('kind')!r}"
    return f"a {type(document).__name__}"


def _show(value: object) -> str:
    text = repr(_plain(value))
    return text if len(text) <= 80 else text[:77] + "..."


def _short(text: str) -> str:
    return text if len(text) <= 160 else text[:157] + "..."


def fixture_files(paths: Iterable[Path]) -> Iterator[tuple[Path, bool]]:
    """Each YAML file under ``paths`` (sorted), and whether it was named explicitly."""
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                if found.suffix.lower() in (".yaml", ".yml") and found.is_file() \
                        and not any(part.startswith(".") for part in found.relative_to(path).parts):
                    yield found.resolve(), False
        elif path.is_file():
            yield path.resolve(), True
        else:
            raise FixtureError(f"{path}: no such file or directory")


def load_fixtures(paths: Sequence[str | Path], *, root: str | Path | None = None,
                  default_config: str | Path | None = None) -> Suite:
    """Every case of the fixture files under ``paths``; cases naming no config get ``default_config``.

    ``root`` is what case ids are relative to (default: the working directory).
    A file found in a directory that is not a fixture (a base manifest, a
    config) is skipped; one named explicitly is an error.
    """
    loader = _Loader(Path(root or Path.cwd()).resolve(), Path(default_config).resolve() if default_config else None)
    cases: list[Case] = []
    for path, explicit in fixture_files(Path(p) for p in paths):
        cases.extend(loader.load_file(path, explicit))
    ids: dict[str, Case] = {}
    for case in cases:
        if case.id in ids:
            raise FixtureError(f"{case.display}:{case.line}: case {case.name!r}: "
                               f"the same id as the case on line {ids[case.id].line}")
        ids[case.id] = case
    return Suite(cases, loader.configs, loader.sources)
