"""``winpod vap``: what the generator writes for a config (issue 14), and what its messages name through the API
server; the CEL itself is proven in test_vap_agreement."""

import shutil

import pytest
import yaml
from test_cli import winpod

from harness.cluster import LocalCluster
from harness.cluster.vap import apply_policies, dry_run
from harness.config import validate_config
from harness.errors import HarnessError
from harness.kinds import WORKLOADS
from harness.tools import REPO_ROOT
from harness.vap import SOURCES, binding, policy, rule_source, vap_documents

GOVERNED = sorted({kind.lower() + "s" for kind in WORKLOADS} | {"pods/ephemeralcontainers"})


def entry(**fields) -> dict:
    config = {"apiVersion": "winpod-guard/v1alpha1", "kind": "PolicyConfig",
              "constraints": [{"name": "hp", "rule": "hostprocess", **fields},
                              {"name": "watch", "rule": "hostprocess", "enforcementAction": "dryrun"}]}
    return validate_config(config, "test")["constraints"][0]


def test_every_governed_kind_in_any_group_create_and_update_with_the_subresource():
    generated = policy(entry())
    assert generated["spec"]["failurePolicy"] == "Fail"
    (rule,) = generated["spec"]["matchConstraints"]["resourceRules"]
    assert rule["apiGroups"] == ["*"] and rule["apiVersions"] == ["*"]
    assert rule["operations"] == ["CREATE", "UPDATE"]
    assert rule["resources"] == GOVERNED


def test_match_kinds_keep_their_kinds_and_a_pod_its_ephemeral_containers():
    kinds = [{"apiGroups": ["apps"], "kinds": ["DaemonSet"]}, {"apiGroups": [""], "kinds": ["Pod"]}]
    (rule,) = policy(entry(match={"kinds": kinds}))["spec"]["matchConstraints"]["resourceRules"]
    assert rule["resources"] == ["daemonsets", "pods", "pods/ephemeralcontainers"]
    assert rule["apiGroups"] == ["*"]
    (everything,) = policy(entry(match={"kinds": [{"apiGroups": ["*"], "kinds": ["*"]}]}))["spec"]["matchConstraints"]["resourceRules"]
    assert everything["resources"] == GOVERNED


@pytest.mark.parametrize(("action", "expected"), [("deny", ["Deny"]), ("warn", ["Warn"]), ("dryrun", ["Audit"])])
def test_enforcement_action_becomes_validation_actions(action, expected):
    generated = binding(entry(enforcementAction=action))
    assert generated["spec"] == {"policyName": "hp", "validationActions": expected}


def test_exact_namespaces_are_a_selector_and_globs_a_match_condition():
    exact = policy(entry(match={"namespaces": ["b", "a"], "excludedNamespaces": ["c"]}))["spec"]
    assert exact["matchConstraints"]["namespaceSelector"] == {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["a", "b"]},
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["c"]}]}
    assert "matchConditions" not in exact
    globbed = policy(entry(match={"namespaces": ["team-*", "a"]}))["spec"]
    assert "namespaceSelector" not in globbed["matchConstraints"]
    (condition,) = globbed["matchConditions"]
    assert '["a", "team-*"]' in condition["expression"].replace("dyn(", "").replace(")", "")


def test_label_selector_is_the_object_selector():
    selector = {"matchLabels": {"app": "x"}, "matchExpressions": [{"key": "tier", "operator": "Exists"}]}
    assert policy(entry(match={"labelSelector": selector}))["spec"]["matchConstraints"]["objectSelector"] == selector


def test_parameters_are_inlined_with_defaults_and_the_output_is_deterministic():
    one = entry(parameters={"allowHostProcess": True, "allowedImages": ["a/*"]})
    params = policy(one)["spec"]["variables"][0]
    assert params["name"] == "params"
    assert 'NT AUTHORITY\\\\LOCAL SERVICE' in params["expression"]  # the default user names, JSON-escaped
    assert '"^(?s)a/.*$"' in params["expression"]
    reordered = entry(parameters={"allowedImages": ["a/*"], "allowHostProcess": True})
    config = {"constraints": [one]}
    assert vap_documents(config) == vap_documents({"constraints": [reordered]})
    assert vap_documents(config) == vap_documents(config)


def test_the_cel_is_the_rule_file_verbatim():
    source = rule_source("hostprocess")
    generated = policy(entry())["spec"]
    assert generated["variables"][1:] == rule_source("pod")["variables"] + source["variables"]
    assert generated["validations"] == source["validations"]


def test_a_bad_rule_file_is_refused_naming_file_and_field(tmp_path):
    shutil.copy(SOURCES / "match.yaml", tmp_path)
    (tmp_path / "hostprocess.yaml").write_text("variables: []\nvalidations:\n  - message: no expression\n", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"hostprocess.yaml: line 3: validations\[0\]: expected expression"):
        rule_source("hostprocess", tmp_path)
    (tmp_path / "hostprocess.yaml").write_text("variables: [\n", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"hostprocess.yaml: line \d+: invalid YAML"):
        rule_source("hostprocess", tmp_path)
    # The one document reader: a key written twice is refused, not the last one silently kept.
    (tmp_path / "hostprocess.yaml").write_text("variables: []\nvalidations: []\nvariables: []\n", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"hostprocess.yaml: line 3: invalid YAML: .*variables"):
        rule_source("hostprocess", tmp_path)


def test_cli_writes_policy_and_binding_per_entry(tmp_path):
    config = REPO_ROOT / "fixtures" / "configs" / "hostprocess-pinned.yaml"
    done = winpod("vap", "--config", str(config), "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    (written,) = tmp_path.iterdir()
    kinds = [document["kind"] for document in yaml.safe_load_all(written.read_text(encoding="utf-8"))]
    assert written.name == "hostprocess-pinned.yaml"
    assert kinds == ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]
    stdout = winpod("vap", "--config", str(config))
    assert stdout.returncode == 0 and stdout.stdout == written.read_text(encoding="utf-8")


def test_cli_refuses_a_bad_config_in_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: winpod-guard/v1alpha1\nkind: PolicyConfig\nconstraints:\n  - {name: x, rule: nope}\n",
                   encoding="utf-8")
    done = winpod("vap", "--config", str(bad))
    assert done.returncode != 0 and "Traceback" not in done.stderr and "bad.yaml" in done.stderr


@pytest.mark.cluster
def test_namespace_globs_and_exclusions_match_in_the_api_server():
    """No corpus case reaches admission with a glob on a HostProcess constraint; this one does."""
    config = validate_config({"apiVersion": "winpod-guard/v1alpha1", "kind": "PolicyConfig", "constraints": [
        {"name": "hp-teams", "rule": "hostprocess", "match": {"namespaces": ["team-*"], "excludedNamespaces": ["team-x*"]}},
        {"name": "hp-watch", "rule": "hostprocess", "enforcementAction": "dryrun"},
    ]}, "test")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"hostNetwork": True, "securityContext": {"windowsOptions": {"hostProcess": True}},
                    "containers": [{"name": "c", "image": "x"}]}}
    try:
        with LocalCluster() as cluster:
            for namespace in ("team-a", "team-xy", "other"):
                cluster.ensure_namespace(namespace)
            apply_policies(cluster, config)
            got = {namespace: dry_run(cluster.api, pod, namespace) for namespace in ("team-a", "team-xy", "other")}
    except HarnessError as exc:
        pytest.fail(str(exc), pytrace=False)
    assert not got["team-a"].allowed and got["team-a"].constraints == {"hp-teams"}, got["team-a"].describe()
    assert got["team-xy"].allowed, got["team-xy"].describe()
    assert got["other"].allowed, got["other"].describe()


def _windows_spec(*containers: dict, **spec) -> dict:
    return {"os": {"name": "windows"}, "securityContext": {"windowsOptions": {"runAsUserName": "ContainerUser"}},
            "containers": list(containers), **spec}


def _container(name: str, **fields) -> dict:
    return {"name": name, "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022", **fields}


_ADMIN = {"windowsOptions": {"runAsUserName": "ContainerAdministrator"}}
# Each object fails one policy; the field its refusal names is written here from SPEC's paths, not read from the Rego.
MESSAGE_CASES = [
    ("users-second-container-of-a-deployment",
     {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
      "spec": {"selector": {"matchLabels": {"app": "web"}},
               "template": {"metadata": {"labels": {"app": "web"}},
                            "spec": _windows_spec(_container("ok"), _container("admin", securityContext=_ADMIN),
                                                  initContainers=[_container("setup", securityContext=_ADMIN)])}}},
     "users", "users.not-allowed: spec.template.spec.containers[1].securityContext.windowsOptions.runAsUserName: "
              'container "admin" runs as "ContainerAdministrator"'),
    ("users-init-container-inheriting-the-pod-user",
     {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "init"},
      "spec": {**_windows_spec(_container("ok", securityContext={"windowsOptions": {"runAsUserName": "ContainerUser"}}),
                               initContainers=[_container("setup")]),
               "securityContext": {"windowsOptions": {"runAsUserName": "CONTOSO\\ContainerAdministrator"}}}},
     "users", "users.not-allowed: spec.securityContext.windowsOptions.runAsUserName: initContainer \"setup\""),
    ("hostprocess-pod-level-in-a-cronjob",
     {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "agent"},
      "spec": {"schedule": "@hourly", "jobTemplate": {"spec": {"template": {"spec": {
          "restartPolicy": "Never", "hostNetwork": True, "os": {"name": "windows"},
          "securityContext": {"windowsOptions": {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\SYSTEM"}},
          "containers": [_container("agent")]}}}}}},
     "hp", "hostprocess.not-allowed: spec.jobTemplate.spec.template.spec.securityContext.windowsOptions.hostProcess: "),
    ("hostpath-second-mount-writable",
     {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "logs"},
      "spec": _windows_spec(_container("reader", volumeMounts=[{"name": "scratch", "mountPath": "C:\\scratch"},
                                                              {"name": "host", "mountPath": "C:\\host"}]),
                            volumes=[{"name": "scratch", "emptyDir": {}}, {"name": "host", "hostPath": {"path": "C:\\data\\logs"}}])},
     "hostpath", "hostpath.writable: spec.containers[0].volumeMounts[1].readOnly: "),
    ("hostpath-volume-not-allowed",
     {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "docker"},
      "spec": _windows_spec(_container("reader", volumeMounts=[{"name": "pipe", "mountPath": "\\\\.\\pipe\\docker_engine"}]),
                            volumes=[{"name": "scratch", "emptyDir": {}},
                                     {"name": "pipe", "hostPath": {"path": "\\\\.\\pipe\\docker_engine"}}])},
     "hostpath", 'hostpath.not-allowed: spec.volumes[1].hostPath.path: hostPath volume "pipe" path "\\\\.\\pipe\\docker_engine" '
                 "is not in allowedHostPaths"),
]


@pytest.mark.cluster
def test_messages_name_the_first_offenders_field_through_the_api_server():
    config = validate_config({"apiVersion": "winpod-guard/v1alpha1", "kind": "PolicyConfig", "constraints": [
        {"name": "hp", "rule": "hostprocess"},
        {"name": "users", "rule": "users"},
        {"name": "hostpath", "rule": "hostpath",
         "parameters": {"allowedHostPaths": [{"pathPrefix": "C:\\data", "readOnly": True}]}},
    ]}, "test")
    try:
        with LocalCluster() as cluster:
            apply_policies(cluster, config)
            got = {name: dry_run(cluster.api, obj, "default") for name, obj, _, _ in MESSAGE_CASES}
    except HarnessError as exc:
        pytest.fail(str(exc), pytrace=False)
    for name, _, refusing, message in MESSAGE_CASES:
        assert got[name].constraints == {refusing}, f"{name}: {got[name].describe()}"
        assert f"denied request: {message}" in got[name].message, f"{name}: {got[name].describe()}"
