"""Load and validate the PolicyConfig file (SPEC 3) that drives OPA and Gatekeeper.

``harness/schema.json`` says what the schema language can say; the checks here
say the rest (duplicate names, host paths, label selectors, and SPEC 3's
coverage: every governed object matched by some hostprocess constraint). Every
refusal is a ``ConfigError`` with one line naming the file, the constraint and
the field, or for coverage the object that escapes.
"""

import copy
import itertools
import json
import re
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from harness import documents, rules
from harness.errors import ConfigError, HarnessError
from harness.kinds import WORKLOADS
from harness.tools import tool_path

API_VERSION = "winpod-guard/v1alpha1"
KIND = "PolicyConfig"

_TYPE_NAMES = {
    "boolean": "true or false",
    "string": "a string",
    "array": "a list",
    "object": "a mapping",
}

# Kubernetes' own label syntax (apimachinery validation.IsQualifiedName /
# IsValidLabelValue): Gatekeeper refuses a labelSelector that breaks it.
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
_PIPE_PREFIX = "\\\\.\\pipe\\"


@cache
def schema() -> dict:
    """The config file's JSON Schema: ``harness/schema.json`` with the rule enum filled in from the rule
    packages (harness/rules.py), each rule tied to its ``$defs/<rule>Parameters``, which also become the
    templates' parameter schemas. A new rule edits no list here."""
    built = copy.deepcopy(documents.schema("schema.json"))
    names = rules.names()
    for name in names:
        if f"{name}Parameters" not in built["$defs"]:
            raise HarnessError(f"harness/schema.json: rule {name} (policies/winpod/rules/{name}) has no $defs/{name}Parameters")
    constraint = built["$defs"]["constraint"]
    constraint["properties"]["rule"] = {"enum": list(names)}
    constraint["allOf"] = [
        {
            "if": {"required": ["rule"], "properties": {"rule": {"const": name}}},
            "then": {"properties": {"parameters": {"$ref": f"#/$defs/{name}Parameters"}}},
        }
        for name in names
    ]
    return built


def default_config(policies: Path = rules.POLICIES) -> dict:
    """The built-in config, read from ``winpod.defaults`` (SPEC 3: one constraint per rule, every default,
    denied), so it has one source: the Rego, which must carry it to fail closed without the harness."""
    return copy.deepcopy(_default_config(policies))


@cache
def _default_config(policies: Path) -> dict:
    command = [str(tool_path("opa")), "eval", "--format", "json", "--data", str(policies),
               "--ignore", "*_test.rego", "data.winpod.defaults.config"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        value = json.loads(done.stdout)["result"][0]["expressions"][0]["value"]
    except (ValueError, LookupError, TypeError):
        raise HarnessError(f"{policies}: cannot read the built-in config (data.winpod.defaults.config): "
                           f"{done.stderr.strip() or done.stdout.strip() or 'undefined'}") from None
    return validate_config(value, "<built-in default>")


def load_config(path: str | Path) -> dict:
    """Read a YAML or JSON config file, validate it and return the JSON for ``/v1/data/winpod/config``."""
    source = str(path)
    try:
        text = documents.text_of(Path(path).read_bytes())
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the config file: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ConfigError(f"{source}: cannot read the config file: {exc}") from exc
    syntax = "JSON" if Path(path).suffix.lower() == ".json" else "YAML"
    try:
        document = documents.load_json(text, source) if syntax == "JSON" else documents.load(text, source)
    except documents.Unparsable as exc:
        where = f"line {exc.line}, column {exc.column}: " if exc.column is not None else ""
        raise ConfigError(f"{source}: {where}not valid {syntax}: {exc.problem}") from exc
    return validate_config(document.obj, source)


def validate_config(data: object, source: str) -> dict:
    """Check a parsed config; return it with defaults filled in, or raise ConfigError.

    The result carries, for every constraint, ``name``, ``rule``,
    ``enforcementAction`` (default ``deny``), ``match`` (default ``{}``) and
    ``parameters`` (default ``{}``). Parameter defaults stay in the Rego.
    Every load goes through here, so no entry point can use a file that
    leaves an object to no hostprocess constraint (check_coverage).
    """
    problem = documents.schema_problem(schema(), data)
    if problem is not None:
        raise _schema_error(problem, data, source)
    _check_strings(data, [], data, source)
    seen: dict[str, int] = {}
    for index, entry in enumerate(data["constraints"]):
        where = _where(data, index)
        if entry["name"] in seen:
            raise ConfigError(
                f"{source}: {where}: field name: expected a name not used before, "
                f"got the name of constraints[{seen[entry['name']]}]"
            )
        seen[entry["name"]] = index
        _check_match(entry.get("match", {}), source, where)
        _check_parameters(entry.get("parameters", {}), source, where)
    config = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "constraints": [
            {
                "name": entry["name"],
                "rule": entry["rule"],
                "enforcementAction": entry.get("enforcementAction", "deny"),
                "match": copy.deepcopy(entry.get("match", {})),
                "parameters": copy.deepcopy(entry.get("parameters", {})),
            }
            for entry in data["constraints"]
        ],
    }
    check_coverage(config, source)
    return config


# --- messages ------------------------------------------------------------------


def _field(path) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(str(part)):
            text += f".{part}" if text else str(part)
        else:
            text += f"[{json.dumps(str(part))}]"
    return text


def _show(value: object) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _where(data: dict, index: int) -> str:
    entry = data["constraints"][index]
    name = entry.get("name") if isinstance(entry, dict) else None
    if isinstance(name, str) and name:
        return f"constraint {name!r} (constraints[{index}])"
    return f"constraint constraints[{index}]"


def _schema_error(problem: documents.SchemaProblem, data: object, source: str) -> ConfigError:
    error, path = problem.error, problem.path
    value = error.instance
    if error.validator == "required":
        expected = "a value (the field is required)"
        got = "got none"
    elif error.validator == "additionalProperties":
        expected, got = _unknown_key(data, path, sorted(error.schema.get("properties", {})))
    elif error.validator == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        expected = " or ".join(_TYPE_NAMES[t] for t in types)
        got = f"got {_show(value)}"
    elif error.validator == "const":
        expected = _show(error.validator_value)
        got = f"got {_show(value)}"
    elif error.validator == "enum":
        expected = "one of " + ", ".join(error.validator_value)
        got = f"got {_show(value)}"
    elif error.validator == "minItems":
        expected = "a non-empty list"
        got = f"got an empty list ({error.schema['description']})" if "description" in error.schema else "got an empty list"
    elif error.validator == "minLength":
        expected = "a non-empty string"
        got = "got an empty one"
    elif error.validator in ("pattern", "maxLength"):
        expected = error.schema["description"]
        got = f"got {_show(value)}"
    else:  # every keyword schema.json uses is handled above; this keeps a new one readable
        expected = error.message
        got = ""
    return ConfigError(f"{source}: {_locate(data, path)}: expected {expected}" + (f", {got}" if got else ""))


def _locate(data: object, path: list) -> str:
    """``constraint 'x' (constraints[2]): field match.kinds[0]`` for a path into the document."""
    if len(path) >= 2 and path[0] == "constraints" and isinstance(path[1], int):
        return f"{_where(data, path[1])}: field {_field(path[2:]) or '(the entry)'}"
    return f"field {_field(path) or '(the document)'}"


def _unknown_key(data: dict, path: list, allowed: list[str]) -> tuple[str, str]:
    """What to expect instead of the unknown key at ``path``; for a parameter, which rule owns it."""
    if len(path) != 4 or path[2] != "parameters":
        return f"one of {', '.join(allowed)}", "got an unknown key"
    rule = data["constraints"][path[1]]["rule"]
    expected = f"a parameter of rule {rule} ({', '.join(allowed)})"
    owners = [other for other in rules.names() if path[3] in schema()["$defs"][f"{other}Parameters"]["properties"]]
    if owners:
        return expected, f"got a parameter of rule {' and '.join(owners)}"
    return expected, "got an unknown parameter"


# --- what the schema cannot say --------------------------------------------------


def _check_strings(value: object, path: list, data: dict, source: str) -> None:
    """Refuse control characters anywhere: schema patterns end in ``$``, which lets a final newline through."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, path, data, source)
            _check_strings(item, [*path, key], data, source)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(item, [*path, index], data, source)
    elif isinstance(value, str) and _CONTROL.search(value):
        raise ConfigError(f"{source}: {_locate(data, path)}: expected text without control characters, got {_show(value)}")


def _check_match(match: dict, source: str, where: str) -> None:
    selector = match.get("labelSelector", {})
    for key, value in selector.get("matchLabels", {}).items():
        field = _field(["match", "labelSelector", "matchLabels", key])
        _check_label_key(key, source, where, field)
        _check_label_value(value, source, where, field)
    for i, expression in enumerate(selector.get("matchExpressions", [])):
        field = f"match.labelSelector.matchExpressions[{i}]"
        _check_label_key(expression["key"], source, where, f"{field}.key")
        values = expression.get("values", [])
        if expression["operator"] in ("In", "NotIn") and not values:
            raise ConfigError(
                f"{source}: {where}: field {field}.values: expected at least one value "
                f"for operator {expression['operator']}, got none"
            )
        if expression["operator"] in ("Exists", "DoesNotExist") and values:
            raise ConfigError(
                f"{source}: {where}: field {field}.values: expected no values "
                f"for operator {expression['operator']}, got {_show(values)}"
            )
        for j, value in enumerate(values):
            _check_label_value(value, source, where, f"{field}.values[{j}]")
    for i, entry in enumerate(match.get("kinds", [])):
        for key in ("apiGroups", "kinds"):
            if "*" in entry[key] and len(entry[key]) > 1:
                raise ConfigError(
                    f"{source}: {where}: field match.kinds[{i}].{key}: expected '*' alone "
                    f"(it already means every value), got {_show(entry[key])}"
                )


def _check_label_key(key: str, source: str, where: str, field: str) -> None:
    prefix, _, name = key.rpartition("/")
    if (
        not _LABEL_NAME.match(name)
        or len(name) > 63
        or ("/" in key and (not _DNS_SUBDOMAIN.match(prefix) or len(prefix) > 253))
    ):
        raise ConfigError(
            f"{source}: {where}: field {field}: expected a label key ([prefix/]name, the name at most "
            f"63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit), got {_show(key)}"
        )


def _check_label_value(value: str, source: str, where: str, field: str) -> None:
    if value and (not _LABEL_NAME.match(value) or len(value) > 63):
        raise ConfigError(
            f"{source}: {where}: field {field}: expected a label value (empty, or at most 63 letters, "
            f"digits, '-', '_' or '.', starting and ending with a letter or digit), got {_show(value)}"
        )


def _check_parameters(parameters: dict, source: str, where: str) -> None:
    for i, entry in enumerate(parameters.get("allowedHostPaths", [])):
        problem = _path_prefix_problem(entry["pathPrefix"])
        if problem:
            raise ConfigError(
                f"{source}: {where}: field parameters.allowedHostPaths[{i}].pathPrefix: expected {problem}, "
                f"got {_show(entry['pathPrefix'])}"
            )


def _path_prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` could never allow a volume (SPEC 2 "Path matching"), or None.

    An entry that can never match is a mistake in the file, not a policy: say so
    rather than let the operator believe a path is allowed. A prefix with a
    drive letter or a backslash is a Windows path whatever the pod; any other
    may also be a POSIX one, where ':' and a leading '//' are ordinary.
    """
    if prefix != prefix.strip():
        return "a path without surrounding blanks"
    if prefix.lower().startswith(_PIPE_PREFIX):
        name = prefix[len(_PIPE_PREFIX) :]
        if not name or name == "*" or re.search(r"[\\/]", name) or "*" in name[:-1]:
            return "a named pipe \\\\.\\pipe\\NAME, or \\\\.\\pipe\\PREFIX* with a non-empty prefix"
        return None
    if "*" in prefix:
        return "a path without '*' (only a named pipe entry may end in '*')"
    if ".." in re.split(r"[\\/]", prefix):
        return "a path without a '..' segment"
    if _DRIVE.match(prefix) or "\\" in prefix:
        if prefix.replace("/", "\\").startswith("\\\\"):
            return "a local path or a named pipe: UNC and device paths other than \\\\.\\pipe\\ are never allowed"
        if ":" in (prefix[2:] if _DRIVE.match(prefix) else prefix):
            return "a Windows path with ':' only after the drive letter"
    return None


# --- coverage (SPEC 3) ---------------------------------------------------------------
#
# Constraints only add violations, so an object no hostprocess constraint
# matches may run HostProcess containers unchecked. Matches are decided on
# kind, namespace and labels only, each compared by equality or prefix, so a
# finite set of representative objects stands for all objects: every namespace
# belongs to the class of one representative namespace (the same patterns
# match both), and likewise every label value.

_NAMESPACE_MAX = 63
_ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyz0123456789"
# Tried first so that messages name a readable object; the search below finds
# another when the file's own names or globs take it.
_READABLE = "other"
_ABSENT = None


@dataclass(frozen=True)
class Representative:
    """One object of SPEC 3's representative set: a governed kind in a namespace with these labels."""

    kind: str
    namespace: str
    labels: tuple[tuple[str, str], ...] = ()
    # The label keys the object was decided on and does not carry, for the message.
    absent: tuple[str, ...] = ()

    def manifest(self) -> dict:
        metadata: dict = {"name": "representative", "namespace": self.namespace}
        if self.labels:
            metadata["labels"] = dict(self.labels)
        return {"apiVersion": WORKLOADS[self.kind][0], "kind": self.kind, "metadata": metadata}

    def __str__(self) -> str:
        text = f"{self.kind} in namespace {self.namespace}"
        if self.labels:
            text += " with labels {" + ", ".join(f"{key}: {json.dumps(value)}" for key, value in self.labels) + "}"
        if self.absent:
            text += f" {'and ' if self.labels else ''}without label{'s' if len(self.absent) > 1 else ''} " + ", ".join(self.absent)
        return text


@dataclass(frozen=True)
class _Requirement:
    key: str
    operator: str  # "=" for a matchLabels entry, else the matchExpressions operator
    values: tuple[str, ...]

    def holds(self, value: str | None) -> bool:
        """Kubernetes' semantics for a label that has ``value`` (None: the object has no such label)."""
        if self.operator in ("=", "In"):
            return value is not _ABSENT and value in self.values
        if self.operator == "NotIn":
            return value is _ABSENT or value not in self.values
        if self.operator == "Exists":
            return value is not _ABSENT
        return value is _ABSENT

    def __str__(self) -> str:
        shown = ", ".join(json.dumps(v) for v in self.values)
        return {
            "=": f"{self.key} {shown}",
            "In": f"{self.key} in [{shown}]",
            "NotIn": f"{self.key} not in [{shown}]",
            "Exists": f"label {self.key}",
            "DoesNotExist": f"no label {self.key}",
        }[self.operator]


def _requirements(match: dict) -> list[_Requirement]:
    selector = match.get("labelSelector", {})
    found = [_Requirement(key, "=", (value,)) for key, value in sorted(selector.get("matchLabels", {}).items())]
    found += [
        _Requirement(expression["key"], expression["operator"], tuple(expression.get("values", [])))
        for expression in selector.get("matchExpressions", [])
    ]
    return found


def _namespace_matches(pattern: str, namespace: str) -> bool:
    return namespace.startswith(pattern[:-1]) if pattern.endswith("*") else namespace == pattern


def _scope_misses(match: dict, kind: str, namespace: str) -> list[str]:
    """Why ``match`` leaves out objects of ``kind`` in ``namespace``, label selectors aside; empty when it does not."""
    misses = []
    included = match.get("namespaces", [])
    if included and not any(_namespace_matches(p, namespace) for p in included):
        misses.append(f"namespace {namespace} not in namespaces [{', '.join(included)}]")
    excluded = [p for p in match.get("excludedNamespaces", []) if _namespace_matches(p, namespace)]
    if excluded:
        misses.append(f"namespace {namespace} excluded" + ("" if excluded[0] == namespace else f" by {excluded[0]}"))
    # SPEC 3: kinds match by kind name; apiGroups is accepted and ignored.
    kinds = match.get("kinds")
    if kinds is not None and not any(kind in entry["kinds"] or "*" in entry["kinds"] for entry in kinds):
        listed = sorted({name for entry in kinds for name in entry["kinds"]})
        misses.append(f"kind {kind} not in kinds [{', '.join(listed)}]")
    return misses


def misses(match: dict, obj: Representative) -> list[str]:
    """Why the (validated) constraint match ``match`` does not select ``obj``; empty when it does."""
    found = _scope_misses(match, obj.kind, obj.namespace)
    labels = dict(obj.labels)
    failed = [requirement for requirement in _requirements(match) if not requirement.holds(labels.get(requirement.key))]
    if failed:
        found.append(f"labelSelector needs {failed[0]}")
    return found


def _all_matches(config: dict) -> list[dict]:
    return [entry["match"] for entry in config["constraints"]]


def representative_namespaces(config: dict) -> list[str]:
    """Each namespace the file names, each prefix glob with a suffix, and one namespace the file does not name.

    A prefix's suffix is chosen so that no other name or glob of the file
    matches the result: the representative then stands for every namespace
    the same patterns match. A prefix for which no such namespace exists (its
    class is empty) has none.
    """
    patterns = {p for match in _all_matches(config) for key in ("namespaces", "excludedNamespaces") for p in match.get(key, [])}
    names = sorted(p for p in patterns if not p.endswith("*"))
    prefixes = sorted({p[:-1] for p in patterns if p.endswith("*")})
    found = list(names)
    # The empty prefix last: a namespace no glob and no name of the file matches.
    for prefix in [p for p in prefixes if p] + [""]:
        suffix = _free_suffix(prefix, set(names), [q[len(prefix) :] for q in prefixes if len(q) > len(prefix) and q.startswith(prefix)])
        if suffix is not None and prefix + suffix not in found:
            found.append(prefix + suffix)
    return found


def _free_suffix(prefix: str, names: set[str], longer: list[str]) -> str | None:
    """The first suffix (``other``, else in depth-first order) such that prefix + suffix is no name and starts no longer glob.

    Depth-first search visits only suffixes that start some longer glob and
    one character more, so it ends after a few steps per glob.
    """
    room = _NAMESPACE_MAX - len(prefix)

    def free(suffix: str) -> bool:
        return 0 < len(suffix) <= room and prefix + suffix not in names and not any(suffix.startswith(r) for r in longer)

    if free(_READABLE):
        return _READABLE

    def search(start: str) -> str | None:
        for character in _ALPHANUMERIC:
            suffix = start + character
            if len(suffix) > room or any(suffix.startswith(r) for r in longer if len(r) <= len(suffix)):
                continue
            if free(suffix):
                return suffix
            if any(r.startswith(suffix) for r in longer) or prefix + suffix in names:
                found = search(suffix)
                if found is not None:
                    return found
        return None

    return search("")


def _case_variant(value: str) -> str:
    """``true`` -> ``True``, ``True`` -> ``true``: the spelling a case-sensitive selector misses."""
    if value != value.lower():
        return value.lower()
    return next((value[:i] + c.upper() + value[i + 1 :] for i, c in enumerate(value) if c.isalpha()), value)


@dataclass(frozen=True)
class _LabelValues:
    """The representative values of one label key."""

    named: tuple[str, ...]
    variants: tuple[str, ...]
    unnamed: str

    def all(self) -> list[str | None]:
        return [_ABSENT, *self.named, *self.variants, self.unnamed]

    def classes(self) -> list[str | None]:
        """One value per class selectors tell apart: they compare by equality, so every value the
        file does not name (case variants and the unnamed one alike) behaves the same; the first
        of them is the one a message names."""
        return [_ABSENT, *self.named, (self.variants or (self.unnamed,))[0]]


def _label_values(config: dict) -> dict[str, _LabelValues]:
    named: dict[str, set[str]] = {}
    for match in _all_matches(config):
        for requirement in _requirements(match):
            named.setdefault(requirement.key, set()).update(requirement.values)
    result = {}
    for key in sorted(named):
        values = sorted(named[key])
        variants: list[str] = []
        for value in values:
            variant = _case_variant(value)
            if variant not in named[key] and variant not in variants:
                variants.append(variant)
        taken = set(values) | set(variants)
        unnamed = next(c for i in itertools.count() if (c := _READABLE + (str(i) if i else "")) not in taken)
        result[key] = _LabelValues(tuple(values), tuple(variants), unnamed)
    return result


def representative_label_values(config: dict) -> dict[str, list[str | None]]:
    """For every label key any selector names: absent (None), each value named, a case variant of each, one unnamed value."""
    return {key: values.all() for key, values in _label_values(config).items()}


def representatives(config: dict) -> list[Representative]:
    """SPEC 3's whole representative set (label keys as a cartesian product), for tests that decide it elsewhere."""
    values = representative_label_values(config)
    keys = list(values)
    found = []
    for namespace in representative_namespaces(config):
        for kind in WORKLOADS:
            for combination in itertools.product(*(values[key] for key in keys)):
                labels = tuple((k, v) for k, v in zip(keys, combination, strict=True) if v is not _ABSENT)
                found.append(Representative(kind, namespace, labels))
    return found


def check_coverage(config: dict, source: str) -> None:
    """Refuse a validated config in which some governed object is matched by no hostprocess constraint (SPEC 3).

    The representative set is walked in a fixed order (namespaces as
    representative_namespaces lists them, kinds as SPEC lists them, label
    values in representative_label_values' order), so the object named is the
    same every time. Objects whose kind and namespace the same constraints
    take in are decided once; within them, only the label keys those
    constraints' selectors name are tried, and a branch stops as soon as one
    selector holds whatever the remaining keys carry.
    """
    hostprocess = [entry for entry in config["constraints"] if entry["rule"] == "hostprocess"]
    values = _label_values(config)
    decided: dict[tuple[int, ...], tuple[tuple[str, str | None], ...] | None] = {}
    for namespace in representative_namespaces(config):
        for kind in WORKLOADS:
            in_scope = tuple(i for i, entry in enumerate(hostprocess) if not _scope_misses(entry["match"], kind, namespace))
            if in_scope not in decided:
                decided[in_scope] = _escaping_labels([_requirements(hostprocess[i]["match"]) for i in in_scope], values)
            labels = decided[in_scope]
            if labels is not None:
                obj = Representative(
                    kind,
                    namespace,
                    tuple((k, v) for k, v in labels if v is not _ABSENT),
                    tuple(k for k, v in labels if v is _ABSENT),
                )
                raise ConfigError(f"{source}: coverage: {obj} matches no hostprocess constraint ({_why(hostprocess, obj)}); "
                                  "add a hostprocess constraint that matches it (enforcementAction: dryrun only watches)")


def _escaping_labels(selectors: list[list[_Requirement]], values: dict[str, _LabelValues]):
    """The first labels, as (key, value) pairs over the keys tried, that no selector accepts; None when some always does.

    No selector at all: every object escapes, whatever its labels.
    """
    keys = sorted({requirement.key for selector in selectors for requirement in selector})

    def search(assigned: dict[str, str | None], alive: list[list[_Requirement]]):
        if not alive:
            return tuple(assigned.items())
        if any(all(requirement.key in assigned for requirement in selector) for selector in alive):
            return None
        key = next(k for k in keys if k not in assigned and any(r.key == k for selector in alive for r in selector))
        for value in values[key].classes():
            found = search({**assigned, key: value}, [s for s in alive if all(r.holds(value) for r in s if r.key == key)])
            if found is not None:
                return found
        return None

    return search({}, selectors)


def _why(hostprocess: list[dict], obj: Representative) -> str:
    if not hostprocess:
        return "the file has none"
    return "; ".join(f"{entry['name']}: {', '.join(misses(entry['match'], obj))}" for entry in hostprocess)
