"""The Gatekeeper generator and ``winpod constraints``."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from harness import cli
from harness.config import load_config, validate_config
from harness.gatekeeper import (
    KINDS,
    Paths,
    constraint,
    constraint_documents,
    dump_yaml,
    gator_test,
    generate,
    parameter_schema,
    stale,
)
from harness.tools import REPO_ROOT, tool_path

# SPEC 1: governed by kind name whatever the apiVersion, so any API group.
SPEC_KINDS = [
    {
        "apiGroups": ["*"],
        "kinds": ["CronJob", "DaemonSet", "Deployment", "Job", "Pod", "PodTemplate", "ReplicaSet", "ReplicationController", "StatefulSet"],
    },
]


# --- the committed files -----------------------------------------------------------------


def test_generated_files_are_current():
    problems = stale()
    assert problems == [], "run `make generate`:\n" + "\n".join(problems)


def test_kustomization_installs_exactly_the_templates():
    kustomization = yaml.safe_load((REPO_ROOT / "gatekeeper" / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kustomization["resources"] == [f"templates/{rule}.yaml" for rule in sorted(KINDS)]


def test_every_sample_constraint_has_a_suite_case():
    """Each generated sample constraint is exercised by its rule's suite, with allowed and disallowed objects."""
    for rule in KINDS:
        suite = yaml.safe_load((REPO_ROOT / "gatekeeper" / rule / "suite.yaml").read_text(encoding="utf-8"))
        tested = {test["constraint"] for test in suite["tests"] if not test.get("invalid")}
        samples = {f"samples/{p.parent.name}/constraint.yaml" for p in (REPO_ROOT / "gatekeeper" / rule / "samples").glob("*/constraint.yaml")}
        assert tested == samples, rule
        for test in suite["tests"]:
            objects = [case["object"] for case in test.get("cases", [])]
            if not test.get("invalid"):
                assert any("example_allowed" in o for o in objects) and any("example_disallowed" in o for o in objects), test["name"]


# --- templates ---------------------------------------------------------------------------


def _policies(root: Path, rule_body: str = "") -> Path:
    """A policies/ tree: three rules importing lib a, which imports lib b; lib c is used by none."""
    policies = root / "policies"
    libs = {
        "a": "package lib.t.a\n\nimport data.lib.t.b\n\nf(x) := b.g(x)\n",
        "b": "# METADATA\n# title: b\npackage lib.t.b\n\ng(x) := x\n",
        "c": "package lib.t.c\n\nh := 1\n",
    }
    for name, text in libs.items():
        (policies / "lib" / "t" / name).mkdir(parents=True)
        (policies / "lib" / "t" / name / f"{name}.rego").write_text(text, encoding="utf-8")
        (policies / "lib" / "t" / name / f"{name}_test.rego").write_text(f"package lib.t.{name}_test\n\ntest_x if true\n", encoding="utf-8")
    for rule in KINDS:
        (policies / "winpod" / "rules" / rule).mkdir(parents=True)
        (policies / "winpod" / "rules" / rule / f"{rule}.rego").write_text(
            f"# METADATA\n# title: Rule {rule}\n# description: >-\n#   Says what\n#   {rule} does.\npackage winpod.rules.{rule}\n\n"
            f"import data.lib.t.a\n\nviolation contains {{\"msg\": a.f(\"x\")}} if {{\n\tinput.review.object.kind == \"Pod\"\n}}\n{rule_body}",
            encoding="utf-8",
        )
    return policies


@pytest.fixture
def tree(tmp_path) -> Paths:
    shutil.copy(REPO_ROOT / "winpod-config.yaml", tmp_path / "winpod-config.yaml")
    return Paths(policies=_policies(tmp_path), gatekeeper=tmp_path / "gatekeeper", example_config=tmp_path / "winpod-config.yaml")


def _template(paths: Paths, rule: str) -> dict:
    return yaml.safe_load(paths.template(rule).read_text(encoding="utf-8"))


def test_template_carries_rule_file_and_its_libs_only(tree):
    generate(tree)
    for rule, kind in KINDS.items():
        rego = (tree.policies / "winpod" / "rules" / rule / f"{rule}.rego").read_text(encoding="utf-8")
        lib_a = (tree.policies / "lib" / "t" / "a" / "a.rego").read_text(encoding="utf-8")
        lib_b = (tree.policies / "lib" / "t" / "b" / "b.rego").read_text(encoding="utf-8")
        assert _template(tree, rule) == {
            "apiVersion": "templates.gatekeeper.sh/v1",
            "kind": "ConstraintTemplate",
            "metadata": {
                "name": kind.lower(),
                "annotations": {
                    "metadata.gatekeeper.sh/title": f"Rule {rule}",
                    "metadata.gatekeeper.sh/version": "1.0.0",
                    "description": f"Says what {rule} does.",
                },
            },
            "spec": {
                "crd": {"spec": {"names": {"kind": kind}, "validation": {"openAPIV3Schema": parameter_schema(rule)}}},
                "targets": [
                    {
                        "target": "admission.k8s.gatekeeper.sh",
                        "code": [{"engine": "Rego", "source": {"version": "v1", "rego": rego, "libs": [lib_a, lib_b]}}],
                    }
                ],
            },
        }


# SPEC 1 "Windows pod": parameters of users and hostpath.
WINDOWS_POD_PARAMETERS = {"windowsImages": "array", "windowsRuntimeClasses": "array", "assumeWindows": "boolean"}


def test_parameter_schemas_are_structural_and_name_spec_parameters():
    expected = {
        "hostprocess": {"allowHostProcess": "boolean", "allowedUserNames": "array", "allowedImages": "array"},
        "users": {"allowedUserNames": "array", "nonAdminImages": "array", **WINDOWS_POD_PARAMETERS},
        "hostpath": {"allowedHostPaths": "array", "denyAdminUsers": "boolean", "nonAdminImages": "array", **WINDOWS_POD_PARAMETERS},
    }
    for rule, properties in expected.items():
        schema = parameter_schema(rule)
        assert schema["type"] == "object"
        assert {name: sub["type"] for name, sub in schema["properties"].items()} == properties
        text = json.dumps(schema)
        assert "$ref" not in text and "additionalProperties" not in text
    path_entry = parameter_schema("hostpath")["properties"]["allowedHostPaths"]["items"]
    assert {name: sub["type"] for name, sub in path_entry["properties"].items()} == {"pathPrefix": "string", "readOnly": "boolean"}
    for rule in ("users", "hostpath"):
        properties = parameter_schema(rule)["properties"]
        assert properties["windowsImages"]["items"]["type"] == properties["windowsRuntimeClasses"]["items"]["type"] == "string"
        assert "pattern" in properties["windowsImages"]["items"] and "pattern" in properties["windowsRuntimeClasses"]["items"]
        assert "registry.k8s.io/pause" in properties["nonAdminImages"]["description"]


def test_generate_is_byte_stable(tree):
    first = generate(tree)
    assert "wrote gatekeeper/versions.json" in first
    texts = {p: p.read_bytes() for p in tree.gatekeeper.rglob("*") if p.is_file()}
    assert generate(tree) == []
    assert {p: p.read_bytes() for p in tree.gatekeeper.rglob("*") if p.is_file()} == texts
    assert stale(tree) == []


def test_changed_rule_is_stale_until_generate_bumps_its_version(tree):
    generate(tree)
    rule_file = tree.policies / "winpod" / "rules" / "users" / "users.rego"
    rule_file.write_text(rule_file.read_text(encoding="utf-8") + "\n# a comment is a change too\n", encoding="utf-8")
    assert stale(tree) == [
        "users: Rego, libs or parameter schema changed since version 1.0.0; version 1.0.0 (not bumped)",
        "gatekeeper/templates/users.yaml is out of date",
        "gatekeeper/versions.json is out of date",
    ]
    assert generate(tree)[0] == "users: Rego, libs or parameter schema changed since version 1.0.0; version 1.0.1"
    assert _template(tree, "users")["metadata"]["annotations"]["metadata.gatekeeper.sh/version"] == "1.0.1"
    assert _template(tree, "hostpath")["metadata"]["annotations"]["metadata.gatekeeper.sh/version"] == "1.0.0"
    assert stale(tree) == []


def test_changed_lib_bumps_every_rule_that_uses_it(tree):
    generate(tree)
    lib_b = tree.policies / "lib" / "t" / "b" / "b.rego"
    lib_b.write_text(lib_b.read_text(encoding="utf-8") + "\ng2(x) := x\n", encoding="utf-8")
    generate(tree, bump="minor")
    versions = json.loads(tree.versions.read_text(encoding="utf-8"))
    assert {rule: entry["version"] for rule, entry in versions.items()} == {rule: "1.1.0" for rule in KINDS}


def test_unused_lib_change_moves_nothing(tree):
    generate(tree)
    lib_c = tree.policies / "lib" / "t" / "c" / "c.rego"
    lib_c.write_text(lib_c.read_text(encoding="utf-8") + "\nh2 := 2\n", encoding="utf-8")
    assert stale(tree) == []


def test_orphaned_generated_files_are_reported_and_removed(tree):
    generate(tree)
    orphan = tree.gatekeeper / "templates" / "old.yaml"
    orphan.write_text("x: 1\n", encoding="utf-8")
    assert stale(tree) == ["gatekeeper/templates/old.yaml is no longer generated"]
    assert generate(tree) == ["removed gatekeeper/templates/old.yaml"]
    assert not orphan.exists()


def test_sample_constraints_come_from_the_example_config(tree):
    generate(tree)
    config = load_config(tree.example_config)
    for entry in config["constraints"]:
        generated = yaml.safe_load(tree.sample_constraint(entry["rule"], entry["name"]).read_text(encoding="utf-8"))
        assert generated == constraint(entry)


@given(st.text(alphabet=st.sampled_from(["a", " ", "\t", "\n", "#", ":", "-", "|", "\\", '"', "é"]), max_size=40))
def test_multi_line_strings_survive_the_literal_blocks(text):
    document = {"spec": {"rego": text, "libs": [text, "x\n" + text]}}
    assert yaml.safe_load(dump_yaml(document)) == document


def test_tabs_stay_in_literal_blocks():
    text = dump_yaml({"rego": "package x\n\nf if {\n\ttrue\n}\n"})
    assert text == "rego: |\n  package x\n\n  f if {\n  \ttrue\n  }\n"


# --- constraints ---------------------------------------------------------------------------


def _entry(**overrides) -> dict:
    """One validated entry; a plain hostprocess constraint beside it keeps the file covered (SPEC 3)."""
    entry = {"name": "c", "rule": "users"} | overrides
    constraints = [entry, {"name": "hostprocess", "rule": "hostprocess"}]
    return validate_config({"apiVersion": "winpod-guard/v1alpha1", "kind": "PolicyConfig", "constraints": constraints}, "t")["constraints"][0]


def test_constraint_fills_in_spec_kinds_and_keeps_the_rest():
    assert constraint(_entry(match={"namespaces": ["a-*"]}, parameters={"allowedUserNames": ["ContainerUser"]})) == {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": "WinpodUsers",
        "metadata": {"name": "c"},
        "spec": {
            "enforcementAction": "deny",
            "match": {"kinds": SPEC_KINDS, "namespaces": ["a-*"]},
            "parameters": {"allowedUserNames": ["ContainerUser"]},
        },
    }


def test_constraint_keeps_given_kinds_in_any_group_and_action_and_omits_empty_parameters():
    """SPEC 3: a config's apiGroups are accepted and ignored, and generated as ["*"]."""
    kinds = [{"apiGroups": ["apps"], "kinds": ["DaemonSet"]}, {"apiGroups": ["", "batch"], "kinds": ["Pod", "Job"]}]
    assert constraint(_entry(rule="hostpath", enforcementAction="dryrun", match={"kinds": kinds})) == {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": "WinpodHostPath",
        "metadata": {"name": "c"},
        "spec": {
            "enforcementAction": "dryrun",
            "match": {"kinds": [{"apiGroups": ["*"], "kinds": ["DaemonSet"]}, {"apiGroups": ["*"], "kinds": ["Pod", "Job"]}]},
        },
    }


def test_constraint_text_does_not_depend_on_key_order():
    one = _entry(match={"namespaces": ["a"], "excludedNamespaces": ["b"]}, parameters={"allowedUserNames": ["x"], "nonAdminImages": ["y"]})
    two = _entry(parameters={"nonAdminImages": ["y"], "allowedUserNames": ["x"]}, match={"excludedNamespaces": ["b"], "namespaces": ["a"]})
    assert constraint_documents({"constraints": [one]}) == constraint_documents({"constraints": [two]})


# --- winpod constraints ----------------------------------------------------------------------


def test_cli_writes_one_file_per_constraint(tmp_path):
    out = tmp_path / "out"
    assert cli.main(["constraints", "--config", str(REPO_ROOT / "winpod-config.yaml"), "-o", str(out)]) == 0
    config = load_config(REPO_ROOT / "winpod-config.yaml")
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{c['name']}.yaml" for c in config["constraints"])
    for entry in config["constraints"]:
        assert yaml.safe_load((out / f"{entry['name']}.yaml").read_text(encoding="utf-8")) == constraint(entry)


def test_cli_stdout_is_one_stream_in_config_order(capsys):
    assert cli.main(["constraints", "--config", str(REPO_ROOT / "winpod-config.yaml")]) == 0
    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    config = load_config(REPO_ROOT / "winpod-config.yaml")
    assert documents == [constraint(entry) for entry in config["constraints"]]


def test_cli_without_config_uses_the_built_in_one(capsys):
    assert cli.main(["constraints"]) == 0
    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    assert [(d["kind"], d["metadata"]["name"], d["spec"]["enforcementAction"]) for d in documents] == [
        ("WinpodHostPath", "default-hostpath", "deny"),
        ("WinpodHostProcess", "default-hostprocess", "deny"),
        ("WinpodUsers", "default-users", "deny"),
    ]


def test_cli_refuses_a_bad_config_and_writes_nothing(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text(
        "apiVersion: winpod-guard/v1alpha1\nkind: PolicyConfig\nconstraints:\n"
        "  - {name: ok, rule: hostprocess}\n  - {name: broken, rule: users, match: {namespaces: ['*-system']}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert cli.main(["constraints", "--config", str(config), "-o", str(out)]) == 2
    assert not out.exists()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"winpod: {config}: constraint 'broken' (constraints[1]): field match.namespaces[0]: expected ")


# --- with the real gator -----------------------------------------------------------------------


@pytest.mark.gator
def test_gator_takes_winpod_constraints_of_the_example_config(tmp_path):
    out = tmp_path / "constraints"
    assert cli.main(["constraints", "--config", str(REPO_ROOT / "winpod-config.yaml"), "-o", str(out)]) == 0
    assert gator_test([REPO_ROOT / "gatekeeper" / "templates", out]) == []


@pytest.mark.gator
@pytest.mark.parametrize(
    ("kind", "parameters", "field"),
    [
        pytest.param("WinpodHostPath", "{allowedHostPaths: [{pathPrefix: 'C:\\data', readOnly: 'yes'}]}",
                     "spec.parameters.allowedHostPaths[0].readOnly", id="read-only"),
        pytest.param("WinpodUsers", "{assumeWindows: 'yes'}", "spec.parameters.assumeWindows", id="assume-windows"),
        pytest.param("WinpodHostPath", "{windowsRuntimeClasses: ['Runhcs/WCOW']}", "spec.parameters.windowsRuntimeClasses[0]",
                     id="runtime-class"),
        pytest.param("WinpodUsers", "{windowsImages: 'mcr.microsoft.com/windows/*'}", "spec.parameters.windowsImages",
                     id="windows-images"),
    ],
)
def test_gator_refuses_wrong_parameter_types_through_the_template_schema(kind, parameters, field, tmp_path):
    """The schema that refuses a config file refuses the same mistake in a cluster."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: {kind}\nmetadata: {{name: bad}}\n"
        f"spec: {{parameters: {parameters}}}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [str(tool_path("gator")), "test", "-f", str(REPO_ROOT / "gatekeeper" / "templates"), "-f", str(bad)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode != 0
    assert field in done.stderr
