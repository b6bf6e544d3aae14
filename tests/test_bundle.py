"""``make bundle``: the policies and a config as one OPA bundle that a real server runs."""

import json
import tarfile

import pytest

from harness import bundle
from harness.config import load_config
from harness.errors import ConfigError, OpaError
from harness.opa import OpaServer
from harness.tools import REPO_ROOT

# Allowed only by the example config's hostprocess-debug constraint (SPEC 2: all
# containers HostProcess, hostNetwork, LOCAL SERVICE, an approved image); the
# built-in default denies every HostProcess container.
DEBUG_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "procmon", "namespace": "windows-debug"},
    "spec": {
        "hostNetwork": True,
        "securityContext": {"windowsOptions": {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\LOCAL SERVICE"}},
        "containers": [{"name": "procmon", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}],
    },
}


def _members(path):
    with tarfile.open(path) as tar:
        return sorted(m.name.lstrip("/") for m in tar.getmembers())


def _data(path):
    with tarfile.open(path) as tar:
        return json.load(tar.extractfile("/data.json"))


def test_bundle_carries_policies_and_config_and_no_tests(tmp_path):
    path = bundle.build(tmp_path / "b.tar.gz", config_path=str(REPO_ROOT / "winpod-config.yaml"), revision="r1")
    members = _members(path)
    assert _data(path)["winpod"]["config"] == load_config(REPO_ROOT / "winpod-config.yaml")
    assert ".manifest" in members
    assert "winpod/rules/hostpath/hostpath.rego" in members
    assert not [m for m in members if m.endswith("_test.rego")]


def test_a_server_running_the_bundle_decides_under_its_config(tmp_path):
    path = bundle.build(tmp_path / "b.tar.gz", config_path=str(REPO_ROOT / "winpod-config.yaml"))
    with OpaServer.process(opa_args=("--bundle", str(path))) as opa:
        assert opa.decide(DEBUG_POD) == {"allowed": True, "violations": []}
        # The bundle owns winpod/: its config cannot be swapped over the REST API.
        with pytest.raises(OpaError, match="owned by bundle"):
            opa.put_config({"constraints": []})


def test_without_a_config_the_bundle_runs_the_built_in_default(tmp_path):
    path = bundle.build(tmp_path / "b.tar.gz")
    assert "config" not in _data(path).get("winpod", {})
    with OpaServer.process(opa_args=("--bundle", str(path))) as opa:
        decision = opa.decide(DEBUG_POD)
    assert decision["allowed"] is False
    assert {(v["constraint"], v["code"]) for v in decision["violations"]} == {
        ("default-hostprocess", "hostprocess.not-allowed"),
    }


def test_a_bad_config_is_refused_and_nothing_is_written(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("apiVersion: winpod-guard/v1alpha1\nkind: PolicyConfig\nconstraints:\n"
                      "  - {name: x, rule: nosuchrule}\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        bundle.build(tmp_path / "b.tar.gz", config_path=str(config))
    assert not (tmp_path / "b.tar.gz").exists()
