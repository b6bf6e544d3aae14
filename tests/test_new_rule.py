"""A fourth rule, added to a copy of the repository the way DESIGN.md's "Where to add a rule" says, is found
everywhere a rule is: by the decision API, the built-in config, the config schema, the generator, the fixtures'
closed list of codes and the docs check, and no list of rules is edited on the way."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from harness.tools import REPO_ROOT, tool_path

# What a checkout holds that the steps read; the copy runs its own harness (PYTHONPATH).
COPIED = ("harness", "policies", "gatekeeper", "fixtures", "docs", "tests", "README.md", "winpod-config.yaml")

RULE = """\
# METADATA
# title: Host network
# description: >-
#   A throwaway fourth rule (tests/test_new_rule.py): no Windows pod on the
#   host network unless allowHostNetwork.
# custom:
#   id: hostnetwork
#   template: WinpodHostNetwork
#   codes:
#     hostnetwork.not-allowed: >-
#       a Windows pod's `hostNetwork` is true and `allowHostNetwork` is not
#     hostnetwork.malformed: >-
#       the pod spec fields the rule reads have the wrong type (fail closed)
package winpod.rules.hostnetwork

import data.lib.winpod.params
import data.lib.winpod.pods
import data.lib.winpod.result
import data.lib.winpod.rule
import data.lib.winpod.windows

# METADATA
# title: name
# description: The rule's name, its package's last part; its cases are input.cases[name].
name := "hostnetwork"

# METADATA
# title: violation
# description: Gatekeeper's entrypoint, the template's Rego (lib.winpod.rule).
violation contains v if some v in findings.review with input as rule.input_of(name, input)

# METADATA
# title: relevant
# description: The keys of input.cases[name] on the host network, or with wrong-typed fields.
relevant contains key if {
	some key, case in input.cases[name]
	_relevant(case.pod)
}

_relevant(pod) if pod.spec.hostNetwork == true

_relevant(pod) if count(pod.malformed) > 0

# METADATA
# title: findings
# description: For each key of input.cases[name], the violations of its pod view under its parameters.
findings[key] := union({
	rule.malformed("hostnetwork.malformed", {"pod", "os"}, case.pod),
	_not_allowed(case.pod, case.parameters),
}) if {
	some key, case in input.cases[name]
}

_not_allowed(pod, p) := {result.violation("hostnetwork.not-allowed", concat("", [pod.prefix, ".hostNetwork"]), msg) |
	pod.spec.hostNetwork == true
	windows.is_pod(pod, p)
	not params.is_true(p, "allowHostNetwork")
	msg := sprintf("%s: hostNetwork is true and allowHostNetwork is not", [pods.object_label(pod)])
}
"""

RULE_TEST = """\
package winpod.rules.hostnetwork_test

import data.winpod.rules.hostnetwork

review := {"object": {"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": {
	"os": {"name": "windows"},
	"hostNetwork": true,
}}}

test_denied if {
	[v.details.code | some v in hostnetwork.violation] == ["hostnetwork.not-allowed"] with input as {"review": review}
}

test_allowed_by_parameter if {
	count(hostnetwork.violation) == 0 with input as {"review": review, "parameters": {"allowHostNetwork": true}}
}
"""

PARAMETERS = {
    "description": "Parameters of WinpodHostNetwork: whether pods may use the host network.",
    "type": "object",
    "additionalProperties": False,
    "properties": {"allowHostNetwork": {"description": "true allows hostNetwork (default false)", "type": "boolean"}},
}

FIXTURE = """\
apiVersion: winpod-guard/v1alpha1
kind: Fixture
config: builtin
base:
  apiVersion: v1
  kind: Pod
  metadata: {name: web, namespace: default}
  spec:
    os: {name: windows}
    hostNetwork: true
    containers: [{name: app, image: mcr.microsoft.com/windows/nanoserver:ltsc2022}]
cases:
  - name: host-network
    expect:
      allowed: false
      violations:
        - {code: hostnetwork.not-allowed, constraint: default-hostnetwork}
"""

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
       "spec": {"os": {"name": "windows"}, "hostNetwork": True,
                "containers": [{"name": "app", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}]}}


def _copy(root: Path) -> Path:
    repo = root / "repo"
    for name in COPIED:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, repo / name)
    return repo


def _run(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    # The copy has no .tools of its own: it runs this checkout's opa.
    env = {**os.environ, "PYTHONPATH": str(repo), "WINPOD_OPA": str(tool_path("opa"))}
    done = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, timeout=600, check=False)
    if check:
        assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def _winpod(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return _run(repo, sys.executable, "-m", "harness.cli", *args, check=check)


def test_a_fourth_rule_added_as_design_says_is_found_everywhere(tmp_path):
    repo = _copy(tmp_path)
    # 1. The package, its tests beside it.
    rule_dir = repo / "policies" / "winpod" / "rules" / "hostnetwork"
    rule_dir.mkdir()
    (rule_dir / "hostnetwork.rego").write_text(RULE, encoding="utf-8")
    (rule_dir / "hostnetwork_test.rego").write_text(RULE_TEST, encoding="utf-8")
    # 2. Its parameters, a $def of the config schema.
    schema_path = repo / "harness" / "schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    schema["$defs"]["hostnetworkParameters"] = PARAMETERS
    schema_path.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    # 3. Its template.
    _winpod(repo, "generate")
    template = yaml.safe_load((repo / "gatekeeper" / "templates" / "hostnetwork.yaml").read_text(encoding="utf-8"))
    assert template["spec"]["crd"]["spec"]["names"]["kind"] == "WinpodHostNetwork"
    assert "package winpod.rules.hostnetwork" in template["spec"]["targets"][0]["code"][0]["source"]["rego"]
    assert "allowHostNetwork" in template["spec"]["crd"]["spec"]["validation"]["openAPIV3Schema"]["properties"]
    assert "hostnetwork" in json.loads((repo / "gatekeeper" / "versions.json").read_text(encoding="utf-8"))
    # 4. Its fixture: the closed list of codes knows hostnetwork's, and the decision API applies the rule.
    (repo / "fixtures" / "hostnetwork").mkdir()
    (repo / "fixtures" / "hostnetwork" / "hostnetwork.yaml").write_text(FIXTURE, encoding="utf-8")
    _winpod(repo, "test", "--backend", "process", "fixtures/hostnetwork")

    # Its Rego tests run with the rest (the others' exact decisions under the built-in config now
    # include its violations, so only its own are run).
    ran = _run(repo, str(tool_path("opa")), "test", "--timeout", "60s", "policies", "-r", "hostnetwork_test", "-v").stdout
    assert "test_denied: PASS" in ran and "test_allowed_by_parameter: PASS" in ran
    # The built-in config (the Rego's) has a denying constraint of it, and so has every command reading it.
    constraints = list(yaml.safe_load_all(_winpod(repo, "constraints").stdout))
    assert ("WinpodHostNetwork", "default-hostnetwork") in [(c["kind"], c["metadata"]["name"]) for c in constraints]
    (repo / "pod.json").write_text(json.dumps(POD), encoding="utf-8")
    checked = _winpod(repo, "check", "--backend", "process", "--format", "json", "pod.json", check=False)
    assert checked.returncode == 1, checked.stderr
    assert "hostnetwork.not-allowed" in checked.stdout
    # The config schema takes the rule and its parameters, and refuses what they do not say.
    config = {"apiVersion": "winpod-guard/v1alpha1", "kind": "PolicyConfig", "constraints": [
        {"name": "hostprocess", "rule": "hostprocess"},
        {"name": "net", "rule": "hostnetwork", "parameters": {"allowHostNetwork": True}},
    ]}
    (repo / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    assert "kind: WinpodHostNetwork" in _winpod(repo, "constraints", "--config", "config.yaml").stdout
    config["constraints"][1]["parameters"] = {"allowHostProcess": True}
    (repo / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    refused = _winpod(repo, "constraints", "--config", "config.yaml", check=False)
    assert refused.returncode == 2
    assert "a parameter of rule hostnetwork (allowHostNetwork)" in refused.stderr

    # 5. The docs: the check that holds them to the METADATA names what is missing, until it is written.
    docs_check = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_rules.py")
    missing = _run(repo, *docs_check, check=False)
    assert missing.returncode == 1
    assert "hostnetwork" in missing.stdout
    readme = repo / "README.md"
    text = readme.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `hostpath` |"))
    readme.write_text(text.replace(row, row + "\n| `hostnetwork` | Windows pods on the host network |"), encoding="utf-8")
    design = repo / "docs" / "DESIGN.md"
    text = design.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `hostpath.malformed` |"))
    design.write_text(text.replace(row, "\n".join([
        row,
        "| `hostnetwork.not-allowed` | a Windows pod's `hostNetwork` is true and `allowHostNetwork` is not |",
        "| `hostnetwork.malformed` | the pod spec fields the rule reads have the wrong type (fail closed) |",
    ])), encoding="utf-8")
    _run(repo, *docs_check)
