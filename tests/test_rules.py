"""Each rule fact stands once, in the rule's package METADATA (harness/rules.py reads it); everything else is held to it."""

import json
import re

import pytest

from harness import rules
from harness.config import default_config, schema
from harness.tools import REPO_ROOT

RULES_FOUND = rules.rules()


@pytest.mark.parametrize("rule", RULES_FOUND, ids=lambda rule: rule.name)
def test_the_rego_emits_exactly_the_codes_its_metadata_declares(rule):
    code_lines = [line for line in rule.path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    emitted = set(re.findall(rf'"({re.escape(rule.name)}\.[a-z-]+)"', "\n".join(code_lines)))
    assert emitted == set(rule.codes)


def test_design_code_table_is_the_metadata():
    design = (REPO_ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    section = design[design.index("| code | when |"):]
    table = dict(re.findall(r"^\| `([a-z]+\.[a-z-]+)` \| (.+) \|$", section[: section.index("\n\n")], re.MULTILINE))
    assert table == {code: when for rule in RULES_FOUND for code, when in rule.codes.items()}


def test_readme_rule_table_names_the_rules():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("| rule | closes |"):]
    named = re.findall(r"^\| `([a-z]+)` \|", section[: section.index("\n\n")], re.MULTILINE)
    assert sorted(named) == sorted(rules.names())


def test_the_rego_and_the_harness_find_the_same_rules():
    # The decision API finds rules as packages under data.winpod.rules, the harness as files: the
    # built-in config (one constraint per rule the Rego finds) holds the two to each other.
    assert [entry["rule"] for entry in default_config()["constraints"]] == list(rules.names())
    assert schema()["$defs"]["constraint"]["properties"]["rule"]["enum"] == list(rules.names())
    assert {f"{rule.name}Parameters" for rule in RULES_FOUND} <= set(schema()["$defs"])


def test_the_template_carries_the_rules_metadata():
    for rule in RULES_FOUND:
        template = (REPO_ROOT / "gatekeeper" / "templates" / f"{rule.name}.yaml").read_text(encoding="utf-8")
        assert f"kind: {rule.template_kind}" in template
        assert json.dumps(rule.title)[1:-1] in template
