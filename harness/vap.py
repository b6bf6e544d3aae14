"""ValidatingAdmissionPolicies (CEL, in the API server itself) generated from a PolicyConfig.

``winpod vap`` writes, per config entry, a ``ValidatingAdmissionPolicy`` and
its ``ValidatingAdmissionPolicyBinding`` (both named after the entry). The CEL
is source under ``vap/``: one file per rule (its parameters' defaults, its
variables and validations) and ``vap/match.yaml`` for namespace globs. This
module only assembles them:

- the entry's parameters, defaults filled in, are inlined as the first
  variable, ``params`` (docs/DESIGN.md "ValidatingAdmissionPolicy" says why
  not ``paramKind``); a parameter the rule file marks ``compile: globs`` or
  ``compile: userNames`` also gets ``<name>Patterns``, its entries as anchored
  RE2 patterns, since CEL has neither a glob match nor a regex quote;
- ``match`` becomes ``matchConstraints``: the governed kinds' resources in any
  API group (``pods/ephemeralcontainers`` beside ``pods``), CREATE and UPDATE;
  exact namespaces a selector on ``kubernetes.io/metadata.name``, globs a
  ``matchCondition``; ``labelSelector`` the ``objectSelector``;
- ``enforcementAction`` becomes the binding's ``validationActions``; every
  policy has ``failurePolicy: Fail``, so a CEL error denies.
"""

import json
import re
from functools import cache
from pathlib import Path

from harness import documents
from harness.errors import HarnessError
from harness.gatekeeper import dump_yaml
from harness.kinds import ANY_API_GROUP, WORKLOADS
from harness.tools import REPO_ROOT

SOURCES = REPO_ROOT / "vap"
# The files of vap/ that are not rules: the pod view every rule shares, and the namespace conditions.
SHARED, MATCH = "pod", "match"
API_VERSION = "admissionregistration.k8s.io/v1"
RULE_LABEL = "winpod-guard.io/rule"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
VALIDATION_ACTIONS = {"deny": ["Deny"], "warn": ["Warn"], "dryrun": ["Audit"]}
# The subresource `kubectl debug` writes: an ephemeral container reaches a pod only that way.
SUBRESOURCES = {"Pod": ["pods/ephemeralcontainers"]}

_RULE_KEYS = {"parameters", "variables", "validations"}
_VALIDATION_KEYS = {"expression", "message", "messageExpression", "reason"}
_COMPILERS = {"globs", "userNames"}


def _fail(path: Path, where: str, expected: str) -> HarnessError:
    return HarnessError(f"{path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}: {where}: {expected}")


def _read(path: Path) -> documents.Document:
    """A CEL source file through the one document reader (duplicate keys refused, the line of any field)."""
    try:
        document = documents.load(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise _fail(path, "cannot read it", exc.strerror or str(exc)) from exc
    except documents.Unparsable as exc:
        raise _fail(path, f"line {exc.line}", exc.message) from exc
    if not isinstance(document.obj, dict):
        raise _fail(path, "document", "expected a mapping")
    return document


def _at(document: documents.Document, field: str) -> str:
    return f"line {document.line_of(field)}: {field}"


@cache
def rule_source(rule: str, sources: Path = SOURCES) -> dict:
    """The checked CEL source of ``rule``: ``parameters``, ``variables``, ``validations`` (SHARED: variables only)."""
    path = sources / f"{rule}.yaml"
    if not path.exists():
        raise _fail(path, "missing", f"rule {rule} has no CEL source")
    document = _read(path)
    source = document.obj
    unknown = set(source) - _RULE_KEYS
    required = {"variables"} if rule == SHARED else {"variables", "validations"}
    if unknown or not required <= set(source):
        raise _fail(path, "top level", f"expected keys {sorted(_RULE_KEYS)}, got {sorted(source)}")
    for name, spec in (source.get("parameters") or {}).items():
        if not isinstance(spec, dict) or "default" not in spec or set(spec) - {"default", "compile"} \
                or spec.get("compile", "globs") not in _COMPILERS:
            raise _fail(path, _at(document, f"parameters.{name}"), f"expected {{default: VALUE, compile: {'|'.join(sorted(_COMPILERS))}}}")
    for index, variable in enumerate(source["variables"]):
        if not isinstance(variable, dict) or set(variable) != {"name", "expression"} or variable["name"] == "params" \
                or not all(isinstance(variable[k], str) for k in variable):
            raise _fail(path, _at(document, f"variables[{index}]"), "expected {name, expression} strings, name not params")
    for index, validation in enumerate(source.get("validations", [])):
        if not isinstance(validation, dict) or "expression" not in validation or set(validation) - _VALIDATION_KEYS:
            raise _fail(path, _at(document, f"validations[{index}]"), f"expected expression and any of {sorted(_VALIDATION_KEYS - {'expression'})}")
    return source


def cel_rules(sources: Path = SOURCES) -> list[str]:
    """The rules that have CEL under ``sources``."""
    return sorted(path.stem for path in sources.glob("*.yaml") if path.stem not in (SHARED, MATCH))


@cache
def _match_source(sources: Path = SOURCES) -> dict:
    path = sources / f"{MATCH}.yaml"
    document = _read(path)
    source = document.obj
    for key in ("namespaces", "excludedNamespaces"):
        if not isinstance(source.get(key), str) or "PATTERNS" not in source[key]:
            raise _fail(path, _at(document, key), "expected a CEL expression naming PATTERNS")
    return source


# --- parameters ---------------------------------------------------------------------


def glob_pattern(glob: str) -> str:
    """An anchored RE2 pattern for a SPEC glob: ``*`` any run of characters, everything else literal."""
    return "^(?s)" + ".*".join(re.escape(part) for part in glob.split("*")) + "$"


def user_name_pattern(entry: str) -> dict:
    """An allow-list entry as RE2 (SPEC 1): ``(?i)`` folds as Go's strings.EqualFold (simple folding);
    ``DOMAIN\\*`` matches a non-empty user part after exactly that domain, never an admin account
    (``domain: true`` tells the CEL to check that)."""
    if entry.endswith("\\*"):
        return {"pattern": "^(?s)(?i:" + re.escape(entry[:-2]) + r")\\[^\\]+$", "domain": True}
    return {"pattern": "^(?s)(?i:" + re.escape(entry) + ")$", "domain": False}


def parameters(entry: dict) -> dict:
    """The entry's parameters with the rule's defaults, and the compiled patterns the CEL reads."""
    given = entry["parameters"]
    result = {}
    for name, spec in (rule_source(entry["rule"]).get("parameters") or {}).items():
        value = given.get(name, spec["default"])
        result[name] = value
        if "compile" in spec:
            compile_one = glob_pattern if spec["compile"] == "globs" else user_name_pattern
            result[f"{name}Patterns"] = [compile_one(item) for item in value or []]
    return {name: result[name] for name in sorted(result)}


def cel_literal(value: object) -> str:
    """A JSON value as a CEL literal. Kubernetes CEL wants homogeneous list and map literals, so every element
    and map value is wrapped in ``dyn()``; JSON's strings, numbers, true, false and null are CEL's."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(key, ensure_ascii=False)}: dyn({cel_literal(value[key])})"
                               for key in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(f"dyn({cel_literal(item)})" for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


# --- match --------------------------------------------------------------------------


def resources(entry: dict) -> list[str]:
    """The resources of the kinds the entry matches (SPEC 3: by kind name, ``*`` all), sorted."""
    given = entry["match"].get("kinds")
    kinds = set(WORKLOADS)
    if given is not None:
        named = {kind for item in given for kind in item["kinds"]}
        kinds = set(WORKLOADS) if "*" in named else named & set(WORKLOADS)
    found = set()
    for kind in kinds:
        found.add(kind.lower() + "s")  # every governed kind's resource is its name, lower case, plus s
        found.update(SUBRESOURCES.get(kind, []))
    return sorted(found)


def _match_constraints(entry: dict) -> tuple[dict, list[dict]]:
    match = entry["match"]
    constraints: dict = {
        "matchPolicy": "Equivalent",
        "resourceRules": [{"apiGroups": list(ANY_API_GROUP), "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
                           "resources": resources(entry), "scope": "Namespaced"}],
    }
    conditions, selector = [], []
    for key, operator in (("namespaces", "In"), ("excludedNamespaces", "NotIn")):
        names = match.get(key)
        if not names:
            continue
        if any(name.endswith("*") for name in names):
            expression = _match_source()[key].replace("PATTERNS", cel_literal(sorted(names)))
            conditions.append({"name": f"winpod-guard-{key.lower()}", "expression": expression})
        else:
            selector.append({"key": NAMESPACE_LABEL, "operator": operator, "values": sorted(names)})
    if selector:
        constraints["namespaceSelector"] = {"matchExpressions": selector}
    if match.get("labelSelector"):
        constraints["objectSelector"] = match["labelSelector"]
    return constraints, conditions


# --- documents ----------------------------------------------------------------------


def policy(entry: dict) -> dict:
    source = rule_source(entry["rule"])
    constraints, conditions = _match_constraints(entry)
    spec = {"failurePolicy": "Fail", "matchConstraints": constraints}
    if conditions:
        spec["matchConditions"] = conditions
    spec["variables"] = [{"name": "params", "expression": cel_literal(parameters(entry))},
                         *rule_source(SHARED)["variables"], *source["variables"]]
    spec["validations"] = list(source["validations"])
    return {"apiVersion": API_VERSION, "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": entry["name"], "labels": {RULE_LABEL: entry["rule"]}}, "spec": spec}


def binding(entry: dict) -> dict:
    return {"apiVersion": API_VERSION, "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": entry["name"], "labels": {RULE_LABEL: entry["rule"]}},
            "spec": {"policyName": entry["name"], "validationActions": VALIDATION_ACTIONS[entry["enforcementAction"]]}}


def vap_documents(config: dict) -> list[tuple[str, str]]:
    """(name, YAML text of the policy and its binding) per entry of a validated config, in config order."""
    return [(entry["name"], dump_yaml(policy(entry)) + "---\n" + dump_yaml(binding(entry))) for entry in config["constraints"]]
