"""SPEC 3 "Coverage": a config is refused unless every governed object is matched by some hostprocess constraint.

The expected refusals are worked out by hand from SPEC's representative
objects (namespaces in sorted order, then prefix globs with a suffix, then one
namespace the file does not name; kinds in SPEC's order; label values absent,
named, case variant, unnamed), never read back from the checker.
"""

import functools
import json
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from harness import bundle, cli
from harness.config import (
    Representative,
    load_config,
    misses,
    representative_label_values,
    representative_namespaces,
    representatives,
    validate_config,
)
from harness.errors import ConfigError, FixtureError, HarnessError
from harness.fixtures import load_fixtures
from harness.gatekeeper import Paths, render
from harness.kinds import WORKLOADS
from harness.tools import REPO_ROOT, tool_path

ADVICE = "add a hostprocess constraint that matches it (enforcementAction: dryrun only watches)"


def config(*constraints: dict) -> dict:
    return {"apiVersion": "winpod-guard/v1alpha1", "kind": "PolicyConfig", "constraints": list(constraints)}


def refusal(data: dict) -> str:
    with pytest.raises(ConfigError) as raised:
        validate_config(data, "cfg.yaml")
    return str(raised.value)


def selector(*expressions: dict, **labels: str) -> dict:
    found: dict = {}
    if labels:
        found["matchLabels"] = labels
    if expressions:
        found["matchExpressions"] = list(expressions)
    return {"labelSelector": found}


# --- the attacks of SPEC 3 -------------------------------------------------------------------


def test_allowance_narrowed_to_daemonsets_beside_a_deny_that_excludes_the_namespace():
    """A Pod (or any kind but DaemonSet) in windows-debug is matched by neither constraint."""
    data = config(
        {
            "name": "hostprocess-debug",
            "rule": "hostprocess",
            "match": {"namespaces": ["windows-debug"], "kinds": [{"apiGroups": ["apps"], "kinds": ["DaemonSet"]}]},
            "parameters": {"allowHostProcess": True},
        },
        {"name": "hostprocess-elsewhere", "rule": "hostprocess", "match": {"excludedNamespaces": ["windows-debug"]}},
    )
    assert refusal(data) == (
        "cfg.yaml: coverage: Pod in namespace windows-debug matches no hostprocess constraint "
        "(hostprocess-debug: kind Pod not in kinds [DaemonSet]; "
        "hostprocess-elsewhere: namespace windows-debug excluded); " + ADVICE
    )


def test_label_exemption_beside_an_allowance_leaves_a_case_variant_to_neither():
    """DoesNotExist takes objects without the label, matchLabels "true" takes "true": "True" escapes."""
    data = config(
        {"name": "hostprocess-debug", "rule": "hostprocess", "match": selector(debug="true"), "parameters": {"allowHostProcess": True}},
        {"name": "hostprocess-elsewhere", "rule": "hostprocess", "match": selector({"key": "debug", "operator": "DoesNotExist"})},
    )
    assert refusal(data) == (
        'cfg.yaml: coverage: Pod in namespace other with labels {debug: "True"} matches no hostprocess constraint '
        '(hostprocess-debug: labelSelector needs debug "true"; hostprocess-elsewhere: labelSelector needs no label debug); '
        + ADVICE
    )


def test_the_same_attack_in_a_namespace_names_the_namespace_and_every_constraint():
    data = config(
        {
            "name": "hostprocess-debug",
            "rule": "hostprocess",
            "match": {"namespaces": ["windows-debug"], **selector(debug="true")},
            "parameters": {"allowHostProcess": True},
        },
        {"name": "hostprocess-undebugged", "rule": "hostprocess", "match": selector({"key": "debug", "operator": "DoesNotExist"})},
        {"name": "hostprocess-elsewhere", "rule": "hostprocess", "match": {"excludedNamespaces": ["windows-debug"]}},
    )
    assert refusal(data) == (
        'cfg.yaml: coverage: Pod in namespace windows-debug with labels {debug: "True"} matches no hostprocess constraint '
        '(hostprocess-debug: labelSelector needs debug "true"; hostprocess-undebugged: labelSelector needs no label debug; '
        "hostprocess-elsewhere: namespace windows-debug excluded); " + ADVICE
    )


def test_a_file_without_hostprocess_constraints_is_refused_the_same_way():
    data = config({"name": "users", "rule": "users"}, {"name": "hostpath", "rule": "hostpath", "match": {"namespaces": ["tenant-a"]}})
    assert refusal(data) == "cfg.yaml: coverage: Pod in namespace tenant-a matches no hostprocess constraint (the file has none); " + ADVICE


# --- what the representatives stand for ------------------------------------------------------


def test_prefix_glob_gets_a_suffix_no_other_glob_takes():
    data = config(
        {"name": "teams", "rule": "hostprocess", "match": {"namespaces": ["team-*"], "excludedNamespaces": ["team-ex*"]}},
        {"name": "elsewhere", "rule": "hostprocess", "match": {"excludedNamespaces": ["team-*"]}},
    )
    assert refusal(data) == (
        "cfg.yaml: coverage: Pod in namespace team-exother matches no hostprocess constraint "
        "(teams: namespace team-exother excluded by team-ex*; elsewhere: namespace team-exother excluded by team-*); " + ADVICE
    )


def test_an_excluded_prefix_taken_by_another_constraint_passes():
    data = config(
        {"name": "teams", "rule": "hostprocess", "match": {"namespaces": ["team-*"], "excludedNamespaces": ["team-ex*"]}},
        {"name": "exempt-watch", "rule": "hostprocess", "enforcementAction": "dryrun", "match": {"namespaces": ["team-ex*"]}},
        {"name": "elsewhere", "rule": "hostprocess", "match": {"excludedNamespaces": ["team-*"]}},
    )
    assert validate_config(data, "cfg.yaml")["constraints"][1]["enforcementAction"] == "dryrun"


def test_suffixes_avoid_the_files_names_and_longer_globs():
    """team-: "other" starts the glob team-o*, so the search goes on from "a", which the name team-a takes."""
    data = config({"name": "hp", "rule": "hostprocess", "match": {"namespaces": ["team-*", "team-o*", "team-a"]}})
    assert representative_namespaces(data) == ["team-a", "team-aa", "team-oother", "other"]


def test_the_unnamed_namespace_avoids_a_glob_on_other():
    """"other" starts o*; "a" is a name, so the search goes on below it."""
    data = config({"name": "hp", "rule": "hostprocess", "match": {"excludedNamespaces": ["o*", "a"]}})
    assert representative_namespaces(data) == ["a", "oother", "aa"]


def test_not_in_matches_objects_without_the_label():
    """Kubernetes: NotIn holds for an absent key, so the two constraints leave nothing out."""
    covered = config(
        {"name": "not-dev", "rule": "hostprocess", "match": selector({"key": "env", "operator": "NotIn", "values": ["dev"]})},
        {"name": "dev", "rule": "hostprocess", "match": selector({"key": "env", "operator": "In", "values": ["dev"]})},
    )
    validate_config(covered, "cfg.yaml")
    alone = config(covered["constraints"][0])
    assert refusal(alone) == (
        'cfg.yaml: coverage: Pod in namespace other with labels {env: "dev"} matches no hostprocess constraint '
        '(not-dev: labelSelector needs env not in ["dev"]); ' + ADVICE
    )


def test_exists_and_does_not_exist_together_cover_everything():
    data = config(
        {"name": "owned", "rule": "hostprocess", "match": selector({"key": "owner", "operator": "Exists"})},
        {"name": "unowned", "rule": "hostprocess", "match": selector({"key": "owner", "operator": "DoesNotExist"})},
    )
    validate_config(data, "cfg.yaml")


def test_label_keys_combine_as_a_product():
    """team absent: b; team a: a or c whatever tier; team A: c unless tier web, which none takes."""
    data = config(
        {"name": "a", "rule": "hostprocess", "match": selector(team="a", tier="web")},
        {"name": "b", "rule": "hostprocess", "match": selector({"key": "team", "operator": "DoesNotExist"})},
        {"name": "c", "rule": "hostprocess", "match": selector({"key": "tier", "operator": "NotIn", "values": ["web"]})},
        {"name": "d", "rule": "hostprocess", "match": {**selector(team="a"), "kinds": [{"apiGroups": [""], "kinds": ["*"]}]}},
    )
    assert refusal(data) == (
        'cfg.yaml: coverage: Pod in namespace other with labels {team: "A", tier: "web"} matches no hostprocess constraint '
        '(a: labelSelector needs team "a"; b: labelSelector needs no label team; c: labelSelector needs tier not in ["web"]; '
        'd: labelSelector needs team "a"); ' + ADVICE
    )


def test_an_unnamed_value_escapes_where_no_case_variant_exists():
    data = config({"name": "digits", "rule": "hostprocess", "match": selector({"key": "ring", "operator": "In", "values": ["0", "1"]})},
                  {"name": "no-ring", "rule": "hostprocess", "match": selector({"key": "ring", "operator": "DoesNotExist"})})
    assert representative_label_values(data) == {"ring": [None, "0", "1", "other"]}
    assert refusal(data).startswith('cfg.yaml: coverage: Pod in namespace other with labels {ring: "other"} matches no ')


def test_absent_labels_are_named_when_they_are_what_escapes():
    data = config(
        {"name": "debug", "rule": "hostprocess", "match": {"namespaces": ["windows-debug"], **selector(debug="true")}},
        {"name": "elsewhere", "rule": "hostprocess", "match": {"excludedNamespaces": ["windows-debug"]}},
    )
    assert refusal(data) == (
        "cfg.yaml: coverage: Pod in namespace windows-debug without label debug matches no hostprocess constraint "
        '(debug: labelSelector needs debug "true"; elsewhere: namespace windows-debug excluded); ' + ADVICE
    )


def test_kinds_match_by_name_whatever_the_api_groups():
    """SPEC 3: apiGroups are ignored, so ["apps"] with "*" still takes a Pod, and [""] takes a DaemonSet."""
    data = config(
        {"name": "any-kind", "rule": "hostprocess", "match": {"kinds": [{"apiGroups": ["apps"], "kinds": ["*"]}]}},
    )
    validate_config(data, "cfg.yaml")
    narrowed = config(
        {"name": "daemonsets", "rule": "hostprocess", "match": {"kinds": [{"apiGroups": [""], "kinds": ["DaemonSet"]}]}},
        {"name": "rest", "rule": "hostprocess", "match": {"kinds": [{"apiGroups": ["apps"], "kinds": sorted(set(WORKLOADS) - {"DaemonSet"})}]}},
    )
    validate_config(narrowed, "cfg.yaml")
    no_cronjob = config({"name": "most", "rule": "hostprocess", "match": {"kinds": [{"apiGroups": ["*"], "kinds": sorted(set(WORKLOADS) - {"CronJob"})}]}})
    assert refusal(no_cronjob).startswith("cfg.yaml: coverage: CronJob in namespace other matches no hostprocess constraint (most: kind CronJob not in kinds [")


def test_a_constraint_counts_whatever_its_enforcement_action():
    for action in ("deny", "warn", "dryrun"):
        validate_config(config({"name": "watch", "rule": "hostprocess", "enforcementAction": action}), "cfg.yaml")


def test_other_rules_never_cover():
    data = config({"name": "users", "rule": "users"}, {"name": "debug", "rule": "hostprocess", "match": {"namespaces": ["windows-debug"]}})
    assert refusal(data) == (
        "cfg.yaml: coverage: Pod in namespace other matches no hostprocess constraint "
        "(debug: namespace other not in namespaces [windows-debug]); " + ADVICE
    )


def test_the_object_named_does_not_depend_on_the_order_of_constraints():
    constraints = [
        {"name": "b", "rule": "hostprocess", "match": {"namespaces": ["zeta", "alpha-*"], **selector(x="1")}},
        {"name": "a", "rule": "hostprocess", "match": {"excludedNamespaces": ["zeta", "alpha-*", "beta"]}},
    ]
    first = refusal(config(*constraints))
    again = refusal(config(*reversed(constraints)))
    assert first.split(" matches ")[0] == again.split(" matches ")[0] == 'cfg.yaml: coverage: Pod in namespace beta'
    assert refusal(config(*constraints)) == first


def test_many_label_keys_are_decided_quickly():
    """Twelve keys: a full product would be 4**12 objects per namespace and kind; the search stops early.

    Keys are tried in sorted order (key10 before key2): all absent is "none"'s,
    the last key's "on" is k9's, and its case variant is nobody's.
    """
    constraints = [{"name": f"k{i}", "rule": "hostprocess", "match": selector(**{f"key{i}": "on"})} for i in range(12)]
    constraints.append({"name": "none", "rule": "hostprocess",
                        "match": selector(*({"key": f"key{i}", "operator": "DoesNotExist"} for i in range(12)))})
    assert refusal(config(*constraints)).startswith(
        'cfg.yaml: coverage: Pod in namespace other with labels {key9: "On"} and without labels '
        "key0, key1, key10, key11, key2, key3, key4, key5, key6, key7, key8 matches no hostprocess constraint (")


# --- every config the project ships or tests with passes ----------------------------------


def shipped_configs() -> list[Path]:
    return [REPO_ROOT / "winpod-config.yaml", *sorted((REPO_ROOT / "fixtures").rglob("*.yaml"))]


def _is_config(path: Path) -> bool:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return isinstance(document, dict) and document.get("kind") == "PolicyConfig"


CONFIGS = [path for path in shipped_configs() if _is_config(path)]


@pytest.mark.parametrize("path", [pytest.param(p, id=str(p.relative_to(REPO_ROOT))) for p in CONFIGS])
def test_shipped_config_is_covered(path):
    assert load_config(path)["constraints"]


# --- the Rego decides the representatives alike ------------------------------------------------

# SPEC 1: governed by kind name whatever the apiVersion; each representative is
# also sent with an apiVersion of the wrong group, and with none.
API_VERSIONS = ("canonical", "extensions/v1beta1", None)
CROSS_CHECKED = {str(p.relative_to(REPO_ROOT)): p for p in CONFIGS}


def _as(obj: Representative, api_version: str | None) -> dict:
    manifest = obj.manifest()
    if api_version is None:
        del manifest["apiVersion"]
    elif api_version != "canonical":
        manifest["apiVersion"] = api_version
    return manifest


@functools.cache
def rego_applies() -> dict[tuple[str, str | None], list[list[bool]]]:
    """Whether lib.winpod.match selects (in_scope, then selector_matches) each representative of every
    (config, apiVersion): a row per constraint, a column per representative.

    One ``opa eval`` for all of them: starting OPA on the policies costs more than the evaluation.
    """
    cases = []
    for name, path in CROSS_CHECKED.items():
        loaded = load_config(path)
        objects = representatives(loaded)
        for api_version in API_VERSIONS:
            cases.append({"name": [name, api_version], "matches": [entry["match"] for entry in loaded["constraints"]],
                          "objects": [_as(obj, api_version) for obj in objects]})
    applies = ("count({1 | m.in_scope(match, m.facts(obj, obj.metadata.namespace).scope);"
               " m.selector_matches(m.selector(match), obj)})")
    query = f"[[[{applies} | some obj in case.objects] | some match in case.matches] | some case in input.cases]"
    with tempfile.TemporaryDirectory(prefix="winpod-coverage-") as directory:
        path = Path(directory) / "input.json"
        path.write_text(json.dumps({"cases": cases}), encoding="utf-8")
        done = subprocess.run(
            [str(tool_path("opa")), "eval", "--format", "json", "--data", str(REPO_ROOT / "policies"),
             "--input", str(path), "--import", "data.lib.winpod.match as m", query],
            capture_output=True, text=True, timeout=600, check=False,
        )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["result"][0]["expressions"][0]["value"]
    return {(case["name"][0], case["name"][1]): [[found == 1 for found in row] for row in rows]
            for case, rows in zip(cases, results, strict=True)}


@pytest.mark.parametrize("api_version", API_VERSIONS)
@pytest.mark.parametrize("name", list(CROSS_CHECKED))
def test_python_and_rego_match_the_representatives_alike(name, api_version):
    """For every constraint and representative object, misses() is empty exactly when lib.winpod.match.applies holds."""
    loaded = load_config(CROSS_CHECKED[name])
    objects = representatives(loaded)
    disagreements = [
        (entry["name"], str(obj), decided, misses(entry["match"], obj))
        for entry, row in zip(loaded["constraints"], rego_applies()[(name, api_version)], strict=True)
        for obj, decided in zip(objects, row, strict=True)
        if decided != (not misses(entry["match"], obj))
    ]
    assert disagreements == []


def test_representatives_cover_each_kind_namespace_and_label_class():
    data = config({"name": "hp", "rule": "hostprocess", "match": {"namespaces": ["a", "b-*"], **selector(x="v")}},
                  {"name": "rest", "rule": "hostprocess", "match": {"excludedNamespaces": ["a", "b-*"]}})
    objects = representatives(data)
    # namespaces a, b-other, other; kinds; label x absent, "v", "V", "other"
    assert len(objects) == 3 * len(WORKLOADS) * 4
    assert Representative("Pod", "b-other", (("x", "V"),)) in objects
    assert misses(data["constraints"][0]["match"], Representative("Pod", "b-other", (("x", "V"),))) == ['labelSelector needs x "v"']


# --- every entry point refuses an uncovered config ---------------------------------------------


UNCOVERED = "apiVersion: winpod-guard/v1alpha1\nkind: PolicyConfig\nconstraints: [{name: users, rule: users}]\n"
EXPECTED = "coverage: Pod in namespace other matches no hostprocess constraint (the file has none)"
POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: tenant-a}\nspec: {containers: [{name: c, image: x}]}\n"
FIXTURE = ("apiVersion: winpod-guard/v1alpha1\nkind: Fixture\nbase: ../pod.yaml\nconfig: CONFIG\n"
           "cases: [{name: a, expect: {allowed: true}}]\n")


@pytest.fixture
def uncovered(tmp_path: Path) -> Path:
    (tmp_path / "pod.yaml").write_text(POD, encoding="utf-8")
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "cases.yaml").write_text(FIXTURE.replace("CONFIG", "builtin"), encoding="utf-8")
    path = tmp_path / "uncovered.yaml"
    path.write_text(UNCOVERED, encoding="utf-8")
    return path.resolve()


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["test", "{dir}/cases", "--config", "{config}", "--backend", "process"], id="test"),
        pytest.param(["check", "{dir}/pod.yaml", "--config", "{config}", "--backend", "process"], id="check"),
        pytest.param(["audit", "{dir}/pod.yaml", "--config", "{config}", "--backend", "process"], id="audit"),
        pytest.param(["serve", "--config", "{config}", "--backend", "process"], id="serve"),
        pytest.param(["constraints", "--config", "{config}"], id="constraints"),
    ],
)
def test_every_command_refuses_an_uncovered_config_before_it_starts(command, uncovered, capsys):
    args = [part.format(dir=uncovered.parent, config=uncovered) for part in command]
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"winpod: {uncovered}: {EXPECTED}; {ADVICE}\n"


def test_a_fixture_naming_an_uncovered_config_is_refused(uncovered):
    path = uncovered.parent / "cases" / "cases.yaml"
    path.write_text(FIXTURE.replace("CONFIG", "../uncovered.yaml"), encoding="utf-8")
    with pytest.raises(FixtureError, match=f"field config: the config does not validate: {re.escape(str(uncovered))}: {re.escape(EXPECTED)}"):
        load_fixtures([path])


def test_the_bundle_refuses_an_uncovered_config_and_writes_nothing(uncovered):
    output = uncovered.parent / "b.tar.gz"
    with pytest.raises(ConfigError, match=re.escape(EXPECTED)):
        bundle.build(output, config_path=str(uncovered))
    assert not output.exists()


def test_bench_refuses_an_uncovered_config(uncovered, capsys):
    assert cli.main(["bench", "--config", str(uncovered)]) == 2
    assert capsys.readouterr().err == f"bench: {uncovered}: {EXPECTED}; {ADVICE}\n"


def test_generation_refuses_an_uncovered_example_config(uncovered):
    with pytest.raises(HarnessError, match=r"coverage: Pod in namespace other"):
        render(Paths(example_config=uncovered), bump=None)
