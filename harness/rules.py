"""The rules, found by their packages, and what each declares once in its METADATA.

A rule is a package ``winpod.rules.<name>`` under ``policies/winpod/rules/<name>/``
(the decision API finds it there too: ``lib.winpod.rule``) whose package METADATA carries ``custom.codes`` (every violation code it can emit,
each with when it fires) and ``custom.template`` (its ConstraintTemplate
kind). Everything in the harness that needs a rule fact - the closed list of
codes, the rule names, the template kinds, the config schema's rule enum - reads it from here, and
tests/test_rules.py holds the Rego, DESIGN.md and README to it.
"""

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from harness.errors import HarnessError
from harness.tools import REPO_ROOT

POLICIES = REPO_ROOT / "policies"

PACKAGE = re.compile(r"^package\s+([\w.]+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Rule:
    name: str
    package: str
    path: Path
    title: str
    description: str
    template_kind: str
    codes: dict[str, str]


def package_metadata(text: str, path: Path) -> dict:
    """The ``# METADATA`` block right above the package line of a Rego module's ``text``."""
    found = PACKAGE.search(text)
    if not found:
        raise HarnessError(f"{path}: no package line")
    lines = text[: found.start()].splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == "# METADATA"]
    if not starts:
        return {}
    block = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines[starts[-1] + 1 :]]
    try:
        return yaml.safe_load("\n".join(block)) or {}
    except yaml.YAMLError as exc:
        raise HarnessError(f"{path}: the package METADATA is not valid YAML: {exc}") from exc


@cache
def rules(policies: Path = POLICIES) -> tuple[Rule, ...]:
    """Every rule under ``policies/winpod/rules``, by name."""
    found = []
    for path in sorted(policies.glob("winpod/rules/*/*.rego")):
        if path.name != f"{path.parent.name}.rego":
            continue
        text = path.read_text(encoding="utf-8")
        meta = package_metadata(text, path)
        custom = meta.get("custom") or {}
        if "codes" not in custom:
            continue
        name = path.parent.name
        package = PACKAGE.search(text).group(1)
        codes = custom["codes"]
        if package != f"winpod.rules.{name}" or not isinstance(codes, dict) or not isinstance(custom.get("template"), str):
            raise HarnessError(f"{path}: a rule is package winpod.rules.{name} with custom.codes (a mapping) and custom.template")
        if any(not str(code).startswith(f"{name}.") for code in codes):
            raise HarnessError(f"{path}: every code of rule {name} starts with {name}.")
        found.append(Rule(name, package, path, meta.get("title", name), " ".join(str(meta.get("description", "")).split()),
                          custom["template"], {str(code): " ".join(str(when).split()) for code, when in codes.items()}))
    if not found:
        raise HarnessError(f"{policies}: no rule package (winpod.rules.<name> with custom.codes in its METADATA)")
    return tuple(found)


def names() -> tuple[str, ...]:
    return tuple(rule.name for rule in rules())


def codes() -> frozenset[str]:
    """The closed list of violation codes, every rule's."""
    return frozenset(code for rule in rules() for code in rule.codes)
