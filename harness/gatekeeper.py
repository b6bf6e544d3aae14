"""Gatekeeper artefacts generated from the same sources the harness uses.

``winpod generate`` (``make generate``) writes

- ``gatekeeper/templates/<rule>.yaml``: one ConstraintTemplate per rule, its Rego
  the rule file of ``policies/`` verbatim, its libs the ``lib`` packages the rule
  imports (transitively), its parameter schema from ``harness/schema.json``;
- ``gatekeeper/<rule>/samples/<constraint>/constraint.yaml``: the Constraints of
  the example config ``winpod-config.yaml``, which the suites test;
- ``gatekeeper/versions.json``: each template's semver and the sha256 of what it
  was generated from. Content that changed gets a new version (patch by
  default, ``--bump minor|major`` to say more), so a version never names two
  different policies.

``--check`` writes nothing and fails when any of that is stale.
"""

import hashlib
import json
import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness import rules
from harness.config import load_config, schema
from harness.errors import HarnessError
from harness.kinds import ANY_API_GROUP, match_kinds
from harness.tools import REPO_ROOT, tool_path

logger = logging.getLogger(__name__)

# Each rule names its ConstraintTemplate kind in its METADATA (harness/rules.py).
KINDS = {rule.name: rule.template_kind for rule in rules.rules()}
TARGET = "admission.k8s.gatekeeper.sh"
CONSTRAINT_API_VERSION = "constraints.gatekeeper.sh/v1beta1"

# What a structural Kubernetes schema (a template's openAPIV3Schema) takes from
# schema.json. additionalProperties is dropped because Kubernetes refuses it
# next to properties; Gatekeeper refuses unknown parameters on its own.
_SCHEMA_KEEP = {"type", "description", "properties", "items", "required", "pattern", "minLength", "maxLength", "minItems", "enum"}
_SCHEMA_DROP = {"additionalProperties"}

_LIB_REF = re.compile(r"\bdata\.(lib(?:\.\w+)+)")
_INITIAL_VERSION = "1.0.0"


@dataclass(frozen=True)
class Paths:
    """Where generation reads and writes; tests point it at a copy."""

    policies: Path = REPO_ROOT / "policies"
    gatekeeper: Path = REPO_ROOT / "gatekeeper"
    example_config: Path = REPO_ROOT / "winpod-config.yaml"

    @property
    def versions(self) -> Path:
        return self.gatekeeper / "versions.json"

    def template(self, rule: str) -> Path:
        return self.gatekeeper / "templates" / f"{rule}.yaml"

    def sample_constraint(self, rule: str, name: str) -> Path:
        return self.gatekeeper / rule / "samples" / name / "constraint.yaml"


@dataclass(frozen=True)
class Module:
    package: str
    path: Path
    text: str


# --- Rego sources --------------------------------------------------------------------


def read_modules(policies: Path) -> dict[str, Module]:
    """Every non-test Rego module under ``policies``, by package."""
    modules = {}
    for path in sorted(policies.rglob("*.rego")):
        if path.name.endswith("_test.rego"):
            continue
        text = path.read_text(encoding="utf-8")
        found = rules.PACKAGE.search(text)
        if not found:
            raise HarnessError(f"{path}: no package line")
        modules[found.group(1)] = Module(found.group(1), path, text)
    return modules


def libs_of(module: Module, modules: dict[str, Module]) -> list[Module]:
    """The lib packages ``module`` references, transitively, sorted by package."""
    needed: dict[str, Module] = {}
    pending = [module]
    while pending:
        current = pending.pop()
        for reference in _LIB_REF.findall(current.text):
            package = _owning_package(reference, modules)
            if package is None:
                raise HarnessError(f"{current.path}: data.{reference} is in no lib package under policies/lib")
            if package not in needed:
                needed[package] = modules[package]
                pending.append(modules[package])
    return [needed[package] for package in sorted(needed)]


def _owning_package(reference: str, modules: dict[str, Module]) -> str | None:
    parts = reference.split(".")
    for end in range(len(parts), 1, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


# --- schema ----------------------------------------------------------------------------


def parameter_schema(rule: str) -> dict:
    """The rule's parameter schema from schema.json, $refs resolved, as an openAPIV3Schema."""
    return _structural(schema()["$defs"][f"{rule}Parameters"])


def _structural(node: dict) -> dict:
    if "$ref" in node:
        prefix = "#/$defs/"
        if not node["$ref"].startswith(prefix) or len(node) != 1:
            raise HarnessError(f"schema.json: cannot inline {node['$ref']!r} with siblings {sorted(node)}")
        return _structural(schema()["$defs"][node["$ref"][len(prefix) :]])
    unknown = set(node) - _SCHEMA_KEEP - _SCHEMA_DROP
    if unknown:
        raise HarnessError(f"schema.json: keyword(s) {sorted(unknown)} have no openAPIV3Schema equivalent here")
    result = {}
    for key, value in node.items():
        if key in _SCHEMA_DROP:
            continue
        if key == "properties":
            result[key] = {name: _structural(sub) for name, sub in value.items()}
        elif key == "items":
            result[key] = _structural(value)
        else:
            result[key] = value
    return result


# --- templates -------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateSource:
    rule: str
    module: Module
    libs: list[Module]
    parameters: dict

    @property
    def sha256(self) -> str:
        """Hash of everything the template carries except its version."""
        content = {
            "rego": self.module.text,
            "libs": [lib.text for lib in self.libs],
            "parameters": self.parameters,
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def template_source(rule: str, modules: dict[str, Module]) -> TemplateSource:
    package = f"winpod.rules.{rule}"
    if package not in modules:
        raise HarnessError(f"policies/: no package {package} for rule {rule}")
    module = modules[package]
    return TemplateSource(rule, module, libs_of(module, modules), parameter_schema(rule))


def template(source: TemplateSource, version: str) -> dict:
    kind = KINDS[source.rule]
    meta = rules.package_metadata(source.module.text, source.module.path)
    annotations = {"metadata.gatekeeper.sh/title": meta.get("title", kind), "metadata.gatekeeper.sh/version": version}
    if meta.get("description"):
        annotations["description"] = " ".join(meta["description"].split())
    return {
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {"name": kind.lower(), "annotations": annotations},
        "spec": {
            "crd": {"spec": {"names": {"kind": kind}, "validation": {"openAPIV3Schema": source.parameters}}},
            "targets": [
                {
                    "target": TARGET,
                    "code": [
                        {
                            "engine": "Rego",
                            "source": {
                                "version": "v1",
                                "rego": source.module.text,
                                "libs": [lib.text for lib in source.libs],
                            },
                        }
                    ],
                }
            ],
        },
    }


# --- constraints -----------------------------------------------------------------------


def constraint(entry: dict) -> dict:
    """The Gatekeeper Constraint for one validated config entry.

    The entry's own ``match.kinds`` keep their kinds, each in any API group:
    SPEC 3 accepts apiGroups and ignores them, as the decision API does.
    """
    given = entry["match"].get("kinds")
    kinds = match_kinds() if given is None else [{"apiGroups": list(ANY_API_GROUP), "kinds": list(e["kinds"])} for e in given]
    match = {"kinds": kinds} | {key: value for key, value in _sorted_keys(entry["match"]).items() if key != "kinds"}
    spec = {"enforcementAction": entry["enforcementAction"], "match": match}
    if entry["parameters"]:
        spec["parameters"] = _sorted_keys(entry["parameters"])
    return {
        "apiVersion": CONSTRAINT_API_VERSION,
        "kind": KINDS[entry["rule"]],
        "metadata": {"name": entry["name"]},
        "spec": spec,
    }


def _sorted_keys(value):
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value


def constraint_documents(config: dict) -> list[tuple[str, str]]:
    """(name, YAML text) per constraint of a validated config, in config order."""
    return [(entry["name"], dump_yaml(constraint(entry))) for entry in config["constraints"]]


# --- YAML ------------------------------------------------------------------------------


def dump_yaml(document: dict, header: str = "") -> str:
    """Stable YAML; multi-line strings (Rego) as literal blocks, tabs and all.

    PyYAML will not write a literal block holding a tab, and ``opa fmt`` indents
    with tabs, so such strings go in as placeholders and come back as blocks.
    A string YAML would read back differently as a block keeps PyYAML's quoting,
    and the whole text is read back and compared before it is returned.
    """
    blocks: list[str] = []

    def hold(value):
        if isinstance(value, dict):
            return {key: hold(item) for key, item in value.items()}
        if isinstance(value, list):
            return [hold(item) for item in value]
        if isinstance(value, str) and "\n" in value and _literal_block_reads_back(value):
            blocks.append(value)
            return f"__winpod_block_{len(blocks) - 1}__"
        return value

    text = yaml.safe_dump(hold(document), sort_keys=False, default_flow_style=False, width=1 << 16, allow_unicode=True)
    lines = []
    for line in text.splitlines():
        found = re.fullmatch(r"( *)(- |[^:]+: )__winpod_block_(\d+)__", line)
        if found:
            # A key opening a list item ("- key: |") sits two columns right of the dash.
            nested = 4 if found.group(2).startswith("- ") and found.group(2) != "- " else 2
            lines.append(found.group(1) + found.group(2) + _literal_block(blocks[int(found.group(3))], len(found.group(1)) + nested))
        else:
            lines.append(line)
    result = header + "\n".join(lines) + "\n"
    if yaml.safe_load(result) != document:
        raise HarnessError("generated YAML does not read back as the document it was made from")
    return result


def _literal_block(value: str, indent: int) -> str:
    """``|`` with its chomping indicator, then ``value``'s lines indented (no trailing newline)."""
    chomping = "-" if not value.endswith("\n") else "+" if value.endswith("\n\n") else ""
    lines = value.split("\n")
    if value.endswith("\n"):
        lines = lines[:-1]
    return f"|{chomping}" + "".join(
        "\n" + (" " * indent + line if line else "") for line in lines
    )


def _literal_block_reads_back(value: str) -> bool:
    try:
        return yaml.safe_load("k: " + _literal_block(value, 2) + "\n") == {"k": value}
    except yaml.YAMLError:
        return False


# --- gator ----------------------------------------------------------------------------

GATOR_TIMEOUT = 600.0


def gator_test(files: list[Path]) -> list[dict]:
    """``gator test -o json`` on templates, constraints and objects: its results, [] when nothing violates.

    gator exits 1 both for a deny violation and for an error; only the first
    prints JSON, so the output rather than the exit code tells them apart.
    """
    command = [str(tool_path("gator")), "test", "-o", "json", *(arg for f in files for arg in ("-f", str(f)))]
    logger.debug("running %s", " ".join(command))
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=GATOR_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"gator test did not finish within {GATOR_TIMEOUT:.0f} s") from exc
    # Warnings (objects sharing a name) go to stderr even when gator succeeds.
    if done.stderr.strip():
        logger.debug("gator stderr: %s", done.stderr.strip())
    try:
        results = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise HarnessError(f"gator test failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}") from None
    return results or []


# --- generation ------------------------------------------------------------------------


def _header(what: str) -> str:
    return f"# Generated by `make generate` from {what}; do not edit.\n"


def _next_version(version: str, bump: str) -> str:
    major, minor, patch = (int(part) for part in version.split("."))
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def _read_versions(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        versions = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{path}: line {exc.lineno}: not valid JSON: {exc.msg}") from exc
    for rule, entry in versions.items():
        if (
            rule not in rules.names()
            or not isinstance(entry, dict)
            or set(entry) != {"version", "sha256"}
            or not re.fullmatch(r"\d+\.\d+\.\d+", str(entry["version"]))
        ):
            raise HarnessError(f"{path}: {rule}: expected a rule name mapped to {{version: X.Y.Z, sha256}}")
    return versions


def render(paths: Paths, bump: str | None) -> tuple[dict[Path, str], list[str]]:
    """Every generated file's text, and one line per rule whose content changed.

    ``bump`` None keeps every recorded version, so a changed rule's template
    and versions.json come out unchanged apart from the hash: ``stale`` reports
    the changed rule instead.
    """
    modules = read_modules(paths.policies)
    versions = _read_versions(paths.versions)
    files: dict[Path, str] = {}
    new_versions = {}
    changed = []
    for rule in rules.names():
        source = template_source(rule, modules)
        recorded = versions.get(rule)
        if recorded is None:
            version = _INITIAL_VERSION
            changed.append(f"{rule}: not in {paths.versions.name}; version {version}")
        elif recorded["sha256"] != source.sha256:
            version = recorded["version"] if bump is None else _next_version(recorded["version"], bump)
            changed.append(f"{rule}: Rego, libs or parameter schema changed since version {recorded['version']}; version {version}")
        else:
            version = recorded["version"]
        new_versions[rule] = {"version": version, "sha256": source.sha256}
        relative = [str(m.path.relative_to(paths.policies.parent)) for m in (source.module, *source.libs)]
        files[paths.template(rule)] = dump_yaml(
            template(source, version), _header(", ".join(relative) + " and harness/schema.json")
        )
    config = load_config(paths.example_config)
    for entry in config["constraints"]:
        files[paths.sample_constraint(entry["rule"], entry["name"])] = dump_yaml(
            constraint(entry), _header(f"{paths.example_config.name} (constraint {entry['name']})")
        )
    files[paths.versions] = json.dumps(new_versions, indent=2, sort_keys=True) + "\n"
    return files, changed


def _orphans(paths: Paths, files: dict[Path, str]) -> list[Path]:
    """Generated files of a template or sample constraint that no longer exists."""
    candidates = set((paths.gatekeeper / "templates").glob("*.yaml"))
    candidates |= set(paths.gatekeeper.glob("*/samples/*/constraint.yaml"))
    return sorted(candidates - set(files))


def stale(paths: Paths = Paths()) -> list[str]:
    """Why the generated files do not match their sources; empty when they do."""
    files, changed = render(paths, bump=None)
    problems = [f"{line} (not bumped)" for line in changed]
    for path, text in files.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            problems.append(f"{path.relative_to(paths.gatekeeper.parent)} is out of date")
    problems.extend(f"{path.relative_to(paths.gatekeeper.parent)} is no longer generated" for path in _orphans(paths, files))
    return problems


def generate(paths: Paths = Paths(), bump: str = "patch") -> list[str]:
    """Write the generated files; return one line per file written or removed and per version moved."""
    files, changed = render(paths, bump=bump)
    report = list(changed)
    for path, text in files.items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        report.append(f"wrote {path.relative_to(paths.gatekeeper.parent)}")
    for path in _orphans(paths, files):
        path.unlink()
        report.append(f"removed {path.relative_to(paths.gatekeeper.parent)}")
    return report
