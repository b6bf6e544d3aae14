"""Load and validate the PolicyConfig file (SPEC 3) that drives OPA and Gatekeeper.

``harness/schema.json`` says what the schema language can say; the checks here
say the rest (duplicate names, host paths, label selectors). Every refusal is a
``ConfigError`` with one line naming the file, the constraint and the field.
"""

import copy
import json
import re
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from harness.errors import ConfigError, yaml_problem
from harness.unique import strict_loader, unique_pairs

API_VERSION = "winpod-guard/v1alpha1"
KIND = "PolicyConfig"
RULES = ("hostprocess", "users", "hostpath")

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
    """The config file's JSON Schema (also the source of the templates' parameter schemas)."""
    return json.loads(resources.files("harness").joinpath("schema.json").read_text(encoding="utf-8"))


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def default_config() -> dict:
    """The built-in config of ``winpod.defaults`` (SPEC 3): deny HostProcess, ContainerUser only, no hostPath."""
    return validate_config(
        {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "constraints": [
                {"name": "default-hostprocess", "rule": "hostprocess"},
                {"name": "default-users", "rule": "users"},
                {"name": "default-hostpath", "rule": "hostpath"},
            ],
        },
        "<built-in default>",
    )


def load_config(path: str | Path) -> dict:
    """Read a YAML or JSON config file, validate it and return the JSON for ``/v1/data/winpod/config``."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read the config file: {exc}") from exc
    if Path(path).suffix.lower() == ".json":
        data = _parse_json(text, source)
    else:
        data = _parse_yaml(text, source)
    return validate_config(data, source)


def validate_config(data: object, source: str) -> dict:
    """Check a parsed config; return it with defaults filled in, or raise ConfigError.

    The result carries, for every constraint, ``name``, ``rule``,
    ``enforcementAction`` (default ``deny``), ``match`` (default ``{}``) and
    ``parameters`` (default ``{}``). Parameter defaults stay in the Rego.
    """
    errors = sorted(_validator().iter_errors(data), key=lambda e: _path_key(e.absolute_path))
    if errors:
        raise _schema_error(errors[0], data, source)
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
    return {
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


# --- parsing -------------------------------------------------------------------


_StrictLoader = strict_loader(yaml.SafeLoader)


def _parse_yaml(text: str, source: str) -> object:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark, problem = yaml_problem(exc)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{source}: {where}not valid YAML: {problem}") from exc


def _parse_json(text: str, source: str) -> object:
    try:
        return json.loads(text, object_pairs_hook=unique_pairs)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}: line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}") from exc
    except ValueError as exc:
        raise ConfigError(f"{source}: not valid JSON: {exc}") from exc


# --- messages ------------------------------------------------------------------


def _path_key(path) -> tuple:
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in path)


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


def _schema_error(error: jsonschema.ValidationError, data: object, source: str) -> ConfigError:
    path = list(error.absolute_path)
    value = error.instance
    if error.validator == "required":
        missing = [key for key in error.validator_value if key not in value]
        path.append(missing[0])
        expected = "a value (the field is required)"
        got = "got none"
    elif error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(str(key) for key in value if key not in allowed)
        path.append(unknown[0])
        expected, got = _unknown_key(data, path, allowed)
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
    owners = [other for other in RULES if path[3] in schema()["$defs"][f"{other}Parameters"]["properties"]]
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
