"""Fixture files: load, validate and expand them into cases the decision API can judge.

The format is documented in ``fixtures/README.md`` and said by
``harness/fixture.schema.json``; the checks here say the rest (a patch that
applies, base and config files that exist, codes in the closed list, unique
case names). Every authoring mistake is a ``FixtureError`` naming the file (and
line), the case and the field, raised before any case is sent to OPA.
"""

from __future__ import annotations

import copy
import fnmatch
import itertools
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jsonpatch
import jsonschema

from harness import documents, rules
from harness.config import load_config
from harness.documents import Document, Steps
from harness.errors import ConfigError, FixtureError
from harness.inputs import pod_spec_field, verdict, wrap_input, wrap_pod

logger = logging.getLogger(__name__)

API_VERSION = "winpod-guard/v1alpha1"
KIND = "Fixture"
BUILTIN = "builtin"
SCHEMA = "fixture.schema.json"

# The rules' codes (their METADATA, harness/rules.py): the set is closed, so
# a typo in a fixture is an authoring error rather than an expectation that
# can never be met.
CODES = rules.codes()


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


# --- reading ---------------------------------------------------------------------


def _read_yaml(path: Path, display: str) -> Document:
    try:
        text = documents.text_of(path.read_bytes())
    except OSError as exc:
        raise FixtureError(f"{display}: cannot read: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise FixtureError(f"{display}: cannot read: {exc}") from exc
    try:
        found = documents.load_all(text, display)
    except documents.Unparsable as exc:
        line = f":{exc.line}" if exc.column is not None else ""
        raise FixtureError(f"{display}{line}: not valid YAML: {exc.problem}") from exc
    if len(found) != 1:
        raise FixtureError(f"{display}: expected one YAML document, got {len(found)}")
    return found[0]


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
        if not _is_fixture(document.obj):
            if explicit or (isinstance(document.obj, dict) and "cases" in document.obj):
                raise FixtureError(
                    f"{display}:{document.line if isinstance(document.obj, dict) else 1}: expected a fixture "
                    f"(apiVersion: {API_VERSION}, kind: {KIND}), got {_kind_of(document.obj)}"
                )
            logger.debug("%s is not a fixture file, skipped", display)
            return []
        self.sources.add(path)
        return _FileLoader(self, path, display, document).cases()


class _FileLoader:
    def __init__(self, loader: _Loader, path: Path, display: str, document: Document):
        self.loader = loader
        self.path = path
        self.display = display
        self.document = document
        self.data = document.obj

    def fail(self, at: Steps, case: str | None, field_name: str, problem: str, key: object = None) -> FixtureError:
        """The error for ``field_name`` of the mapping at ``at``, on the line of ``key`` when it has it."""
        return FixtureError(f"{self.display}:{self.line(at, key)}: " + (f"case {case!r}: " if case else "")
                            + f"field {field_name}: {problem}")

    def line(self, at: Steps, key: object) -> int:
        node = self.data
        for step in at:
            node = node[step]
        return self.document.line_of([*at, key]) if isinstance(node, dict) and key in node \
            else self.document.start_of(at)

    def schema_failure(self, problem: documents.SchemaProblem) -> FixtureError:
        """The message for what the schema refuses: the field the deepest description covers, and that
        description as what was expected (an unknown key: the keys there are)."""
        path = problem.path
        if problem.error.validator == "additionalProperties":
            keys = ", ".join(sorted(problem.error.schema["properties"]))
            at, what = path, f"unknown key; expected one of {keys}"
        else:
            at, expected = _described(path)
            what = f"expected {expected}, got {_show(_value_at(self.data, at))}"
        case = None
        if len(at) > 2 and at[0] == "cases" and _is_name(self.data["cases"][at[1]].get("name")):
            case, shown = self.data["cases"][at[1]]["name"], at[2:]
        else:
            shown = at
        return self.fail(at[:-1], case, _field(shown), what, at[-1])

    def cases(self) -> list[Case]:
        problem = documents.schema_problem(SCHEMA, self.data)
        if problem is not None:
            raise self.schema_failure(problem)
        seen: dict[str, int] = {}
        result: list[Case] = []
        for index, raw in enumerate(self.data["cases"]):
            at = ("cases", index)
            name = raw["name"]
            if name in seen:
                raise self.fail(at, name, "name", f"expected a unique case name, cases[{seen[name]}] has it too")
            seen[name] = index
            result.extend(self.case(raw, at, name))
        return result

    def setting(self, raw: dict, at: Steps, key: str, default: object = None) -> tuple[object, Steps]:
        """A case's ``key``, else the file's default, else ``default``; and where the mapping it came from is."""
        for node, where in ((raw, at), (self.data, ())):
            if key in node:
                return node[key], where
        return default, at

    def case(self, raw: dict, at: Steps, name: str) -> list[Case]:
        description = raw.get("description", "")
        manifest = self.patch(self.base(raw, at, name), raw, at, name)
        config = self.config(raw, at, name)
        shapes = self.choices(raw, at, "shape", "manifest")
        workloads = self.choices(raw, at, "workload", "Pod")
        namespace = raw.get("requestNamespace")
        if namespace is not None and "manifest" in shapes:
            raise self.fail(at, name, "requestNamespace", "expected only shapes admissionreview and gatekeeper "
                            "with it: a bare manifest has no request namespace", "requestNamespace")
        if workloads != ["Pod"] and (not isinstance(manifest, dict) or manifest.get("kind") != "Pod"):
            raise self.fail(self.setting(raw, at, "workload")[1], name, "workload",
                            f"expected the patched base to be a Pod to wrap it, got {_kind_of(manifest)}", "workload")
        expect = self.expect(raw, at, name)
        expanded = []
        several = len(shapes) * len(workloads) > 1
        for workload, shape in itertools.product(workloads, shapes):
            labels = [item for item, many in ((workload, len(workloads) > 1), (shape, len(shapes) > 1)) if many]
            expanded.append(
                Case(
                    file=self.path,
                    display=self.display,
                    name=f"{name}[{','.join(labels)}]" if several else name,
                    line=self.document.start_of(at),
                    description=description,
                    input=wrap_input(wrap_pod(manifest, workload) if workload != "Pod" else manifest, shape, namespace),
                    config=config,
                    expect=_rebase_fields(expect, workload),
                )
            )
        return expanded

    def base(self, raw: dict, at: Steps, name: str) -> object:
        spec, node = self.setting(raw, at, "base")
        if isinstance(spec, dict):
            return spec
        if spec is None:
            raise self.fail(node, name, "base", f"expected a manifest file or an inline manifest, got {_show(spec)}",
                            "base")
        path = (self.path.parent / spec).resolve()
        if path not in self.loader.bases:
            if not path.is_file():
                raise self.fail(node, name, "base", f"expected an existing file, {spec} is not one", "base")
            try:
                self.loader.bases[path] = _read_yaml(path, self.loader.display(path)).obj
            except FixtureError as exc:
                raise self.fail(node, name, "base", str(exc), "base") from exc
        self.loader.sources.add(path)
        return self.loader.bases[path]

    def patch(self, base: object, raw: dict, at: Steps, name: str) -> object:
        document = copy.deepcopy(base)
        for index, operation in enumerate(raw.get("patch", [])):
            where = f"patch[{index}]"
            if isinstance(operation, dict):
                where += f" ({operation.get('op')} {operation.get('path')})"
            try:
                document = jsonpatch.apply_patch(document, [operation])
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as exc:
                node = (*at, "patch", index) if isinstance(operation, dict) else at
                raise self.fail(node, name, where, f"does not apply: {_short(str(exc))}", "patch") from exc
        return document

    def config(self, raw: dict, at: Steps, name: str) -> Path | None:
        spec, node = self.setting(raw, at, "config")
        if spec is None:
            return self.loader.default_config
        if spec == BUILTIN:
            return None
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

    def choices(self, raw: dict, at: Steps, key: str, default: str) -> list[str]:
        value = self.setting(raw, at, key, default)[0]
        return list(value) if isinstance(value, list) else [value]

    def expect(self, raw: dict, at: Steps, name: str) -> Expectation:
        node = raw["expect"]
        at = (*at, "expect")
        allowed = node["allowed"]
        if "violations" not in node:
            return Expectation(allowed)
        patterns = tuple(self.violation(entry, at, index, name) for index, entry in enumerate(node["violations"]))
        if len(set(patterns)) != len(patterns):
            raise self.fail(at, name, "expect.violations", "expected each violation once: the list is a set",
                            "violations")
        if allowed and any(p.enforcement_action == "deny" for p in patterns):
            raise self.fail(at, name, "expect.allowed", "expected false: a deny violation is expected", "allowed")
        return Expectation(allowed, patterns)

    def violation(self, entry: str | dict, parent: Steps, index: int, name: str) -> ViolationPattern:
        """One ``expect.violations`` entry: a code, or a mapping of code, constraint, enforcementAction, field."""
        if isinstance(entry, str):
            entry, node = {"code": entry}, parent
        else:
            node = (*parent, "violations", index)
        code = entry.get("code")
        if not isinstance(code, str) or code not in CODES:
            raise self.fail(node, name, f"expect.violations[{index}].code",
                            f"expected a violation code ({', '.join(sorted(CODES))}), got {_show(code)}", "code")
        return ViolationPattern(code, entry.get("constraint"), entry.get("enforcementAction"), entry.get("field"))


def _described(path: Steps) -> tuple[Steps, str]:
    """The longest start of ``path`` whose schema has a description, and that description."""
    root = documents.schema(SCHEMA)
    node, found = root, ([], "a fixture")
    for depth, step in enumerate(path, start=1):
        key = "properties" if isinstance(step, str) else "items"
        child = node.get(key)
        if isinstance(step, str):
            child = (child or {}).get(step)
        if child is None:
            break
        while "$ref" in child:
            child = root["$defs"][child["$ref"].rpartition("/")[2]]
        node = child
        if "description" in node:
            found = (path[:depth], node["description"])
    return found


def _value_at(data: object, path: Steps) -> object:
    """The value at ``path``; None for a key that is missing (what the schema requires)."""
    for step in path:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _is_name(name: object) -> bool:
    return _name_validator().is_valid(name)


@cache
def _name_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(documents.schema(SCHEMA)["$defs"]["case"]["properties"]["name"])


def _field(path: Steps) -> str:
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path).lstrip(".")


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


def _is_fixture(document: object) -> bool:
    return isinstance(document, dict) and document.get("apiVersion") == API_VERSION and document.get("kind") == KIND


def _kind_of(document: object) -> str:
    if isinstance(document, dict):
        return f"apiVersion {document.get('apiVersion')!r}, kind {document.get('kind')!r}"
    return f"a {type(document).__name__}"


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _short(text: str) -> str:
    return text if len(text) <= 160 else text[:157] + "..."


def fixture_files(paths: Iterable[Path]) -> Iterator[tuple[Path, bool]]:
    """Each YAML file under ``paths`` (sorted), and whether it was named explicitly; a directory or file
    below them that cannot be read is a FixtureError, never cases that silently vanish."""
    for path in paths:
        try:
            found = documents.files_under(path, (".yaml", ".yml"))
        except documents.Unreadable as exc:
            raise FixtureError(str(exc)) from None
        explicit = found == [(path, None)]
        for file, problem in found:
            if not explicit and any(part.startswith(".") for part in file.relative_to(path).parts):
                continue
            if problem is not None:
                raise FixtureError(f"{file}: {problem}")
            yield file.resolve(), explicit


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
