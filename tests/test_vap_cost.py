"""The CEL cost of the generated ValidatingAdmissionPolicies (issue 14), from the API server's own code.

tools/celcost compiles and evaluates with k8s.io/apiserver v0.34.4's
ValidatingAdmissionPolicy packages. Its figures are checked three ways: a
simple expression's actual cost against the cel-go cost model worked out by
hand; the default policies over the fixture corpus against the API server's
runtime limits; and the boundary where the real kube-apiserver starts to
refuse a pod for its CEL cost, which must be where the tool says the cost
goes over the limit.
"""

import math
import re
from itertools import pairwise

import pytest

from harness import vap_cost
from harness.cli import main
from harness.cluster import LocalCluster
from harness.cluster.vap import apply_policies, dry_run, remove_policies
from harness.config import default_config, load_config, validate_config
from harness.errors import HarnessError
from harness.tools import REPO_ROOT
from harness.vap import API_VERSION, policy

PER_EXPRESSION, PER_POLICY = 1_000_000, 10_000_000
IMAGE = "mcr.microsoft.com/windows/nanoserver:ltsc2022"


def _pod(containers: list[dict], **spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
            "spec": {"nodeSelector": {"kubernetes.io/os": "windows"}, "containers": containers, **spec}}


def _containers(count: int, **extra: object) -> list[dict]:
    return [{"name": "app" if count == 1 else f"app{i}", "image": IMAGE, **extra} for i in range(count)]


def _probe_policy(validations: list[str], variables: dict[str, str]) -> dict:
    return {"apiVersion": API_VERSION, "kind": "ValidatingAdmissionPolicy", "metadata": {"name": "probe"},
            "spec": {"failurePolicy": "Fail",
                     "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                             "operations": ["CREATE"], "resources": ["pods"]}]},
                     "variables": [{"name": k, "expression": v} for k, v in variables.items()],
                     "validations": [{"expression": e} for e in validations]}}


# --- the cost model ------------------------------------------------------------------


def test_actual_cost_of_simple_expressions_is_the_cel_cost_model():
    """cel-go's runtime cost (interpreter/runtimecost.go): 1 per identifier and per field selected, 0 per
    constant, 1 per call of a constant-time function; == costs ceil(min(size) * 0.1) (1 for ints);
    startsWith ceil(len(string) * 0.1); an all() costs its range, then per element its loop condition
    (@not_strictly_false: 1, the accumulator: 1) and its step (accumulator 1, c 1, the field 1, the test),
    and 1 to read the result."""
    starts = "mcr.microsoft.com/windows/"
    checks = ["object.spec.containers.size() == 2",
              "object.spec.containers.all(c, c.name.startsWith('app'))",
              f"object.spec.containers.all(c, c.image.startsWith('{starts}'))",
              "variables.count == 2"]
    report = vap_cost.run_celcost([_probe_policy(checks, {"count": "object.spec.containers.size()"})],
                                  [{"name": f"{n} containers", "object": _pod(_containers(n))} for n in (1, 2, 5)])
    (item,) = report["policies"]
    fields = [e["field"] for e in item["expressions"]]
    assert fields == ["spec.variables[0]", *(f"spec.validations[{i}].expression" for i in range(4))]
    for case, n in zip(item["cases"], (1, 2, 5), strict=True):
        name = "app" if n == 1 else "app0"
        size_check = 3 + 1 + 1  # object, .spec, .containers; size(); ==
        each_name = 2 + 1 + 1 + 1 + math.ceil(len(name) * 0.1)
        each_image = 2 + 1 + 1 + 1 + math.ceil(len(IMAGE) * 0.1)
        own = [3 + 1,  # the variable: object.spec.containers.size()
               size_check, 3 + n * each_name + 1, 3 + n * each_image + 1,
               1 + 1 + 1]  # variables, .count, ==; the variable's own cost is its own
        assert case["costs"] == own, case["case"]
        # The policy's total: every validation, and the variable once (the API server evaluates it lazily, once).
        assert case["total"] == sum(own), case["case"]
        assert case["errors"] == [] and case["denied"] == (n != 2), case["case"]


def test_the_static_estimate_is_bounded_only_where_the_schema_bounds_it():
    """Untyped, as the API server compiles it, a comprehension over object has no bound; typed by the Pod
    schema its list is bounded by the 3 MiB request limit, as kube-controller-manager's type checker sees it."""
    report = vap_cost.run_celcost([_probe_policy(["object.spec.containers.all(c, c.name != '')"], {})], [])
    assert report["limits"]["maxRequestSizeBytes"] == 3 * 1024 * 1024
    (item,) = report["policies"]
    estimates = item["expressions"][0]["estimates"]
    assert estimates["dyn"]["max"] == vap_cost.UNBOUNDED
    assert 0 < estimates["Pod"]["max"] < vap_cost.UNBOUNDED


def test_the_cost_of_each_default_policy_grows_with_the_containers():
    config = default_config()
    counts = (1, 2, 4, 8)
    cases = [{"name": f"{n}", "object": _pod(_containers(n, securityContext={"windowsOptions": {"runAsUserName": "ContainerUser"}}))}
             for n in counts]
    report = vap_cost.run_celcost([policy(entry) for entry in config["constraints"]], cases)
    assert [item["name"] for item in report["policies"]] == [entry["name"] for entry in config["constraints"]]
    for item in report["policies"]:
        totals = [c["total"] for c in item["cases"]]
        assert all(a < b for a, b in pairwise(totals)), (item["name"], totals)


# --- the corpus against the runtime limits ---------------------------------------------------


@pytest.mark.parametrize("config_name", ["built-in", "winpod-config.yaml"])
def test_the_worst_corpus_case_of_each_policy_is_within_the_runtime_limits(config_name):
    config = default_config() if config_name == "built-in" else load_config(REPO_ROOT / config_name)
    report, costs = vap_cost.measure(config)
    assert report["limits"] == {"perExpression": PER_EXPRESSION, "perPolicy": PER_POLICY, "matchConditions": 2_500_000,
                                "maxRequestSizeBytes": 3 * 1024 * 1024}
    assert {c.name for c in costs} == {entry["name"] for entry in config["constraints"]}
    for item in costs:
        assert item.cases > 100, item.name  # the corpus reached it
        assert item.over == [], item.name
        assert 0 < item.worst_expression.worst <= PER_EXPRESSION, item.name
        assert 0 < item.worst_total <= PER_POLICY, item.name
        assert item.worst_total_case, item.name
    assert vap_cost.within_limits(report, costs)


# --- the command ---------------------------------------------------------------------------------


def test_vap_cost_prints_a_table_per_policy(capsys):
    assert main(["vap", "--cost"]) == 0
    out = capsys.readouterr().out
    for entry in default_config()["constraints"]:
        assert f"\n{entry['name']}: " in out
    assert out.count("within 1,000,000: yes") == out.count("within 10,000,000: yes") == len(default_config()["constraints"])
    assert re.search(r"spec\.variables\[\d+\] normalized ", out) and "unbounded" in out


def test_vap_cost_names_the_make_target_when_the_tool_is_missing(tmp_path, monkeypatch, capsys):
    for name in vap_cost.SOURCES:
        (tmp_path / name).write_text(f"not built: {name}\n")
    monkeypatch.setattr(vap_cost, "SOURCE", tmp_path)
    monkeypatch.delenv("WINPOD_CELCOST", raising=False)
    with pytest.raises(HarnessError, match=r"is not built: run `make cluster-tools`"):
        vap_cost.celcost_path()
    assert main(["vap", "--cost"]) != 0
    assert "make cluster-tools" in capsys.readouterr().err


def test_vap_cost_refuses_an_output_directory(tmp_path, capsys):
    assert main(["vap", "--cost", "-o", str(tmp_path)]) != 0
    assert "--cost prints a table" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --- the real API server draws the line where the tool does ------------------------------------------

# README "Cost": hostPath volumes, each mounted with a subPath, under two allowedHostPaths entries.
HOSTPATH_CONFIG = {
    "apiVersion": "winpod-guard/v1alpha1", "kind": "PolicyConfig",
    "constraints": [
        {"name": "hostpath-cost", "rule": "hostpath",
         "parameters": {"allowedHostPaths": [{"pathPrefix": "C:\\var\\log", "readOnly": True},
                                             {"pathPrefix": "\\\\.\\pipe\\csi-proxy-*"}]}},
        {"name": "hostprocess-cost", "rule": "hostprocess"},
    ],
}


def _mounting(volumes: int) -> dict:
    mounts = [{"name": f"v{i}", "mountPath": f"C:\\m{i}", "subPath": f"s{i}", "readOnly": True} for i in range(volumes)]
    return _pod(_containers(1, volumeMounts=mounts),
                volumes=[{"name": f"v{i}", "hostPath": {"path": "C:\\var\\log"}} for i in range(volumes)])


def _first_over(config: dict, low: int, high: int) -> tuple[int, dict]:
    """The fewest volumes whose pod the tool finds over a limit, between low and high, and the tool's case."""
    cases = [{"name": str(n), "object": _mounting(n)} for n in range(low, high + 1)]
    report = vap_cost.run_celcost([policy(config["constraints"][0])], cases)
    for case in report["policies"][0]["cases"]:
        if any("cost" in error for error in case["errors"]):
            return int(case["case"]), case
    pytest.fail(f"no pod of {low}..{high} volumes goes over a CEL cost limit by the tool")


@pytest.mark.cluster
def test_the_api_server_refuses_for_cost_exactly_where_the_tool_goes_over():
    config = validate_config(HOSTPATH_CONFIG, "HOSTPATH_CONFIG")
    threshold, over = _first_over(config, 180, 220)
    worst = max(over["costs"])
    assert worst > PER_EXPRESSION and "actual cost limit exceeded" in " ".join(over["errors"])
    below = vap_cost.run_celcost([policy(config["constraints"][0])], [{"name": "below", "object": _mounting(threshold - 1)}])
    assert max(below["policies"][0]["cases"][0]["costs"]) <= PER_EXPRESSION
    try:
        with LocalCluster() as cluster:
            cluster.ensure_namespace("default")
            apply_policies(cluster, config)
            try:
                admitted = dry_run(cluster.api, _mounting(threshold - 1), "default")
                refused = dry_run(cluster.api, _mounting(threshold), "default")
            finally:
                remove_policies(cluster)
    except HarnessError as exc:
        pytest.fail(str(exc), pytrace=False)
    assert admitted.api_refusal is None and admitted.allowed, admitted.describe()
    assert refused.api_refusal is None and not refused.allowed, refused.describe()
    assert refused.constraints == {"hostpath-cost"} and "cost limit exceeded" in refused.message, refused.describe()


def test_the_tool_names_the_document_and_field_of_a_bad_policy():
    bad = _probe_policy(["true"], {})
    bad["spec"]["variables"] = [{"name": False, "expression": "1"}]  # YAML 1.1 reads an unquoted n as false
    with pytest.raises(HarnessError, match=r"document 0 \(ValidatingAdmissionPolicy\): not a ValidatingAdmissionPolicy: "
                                           r".*spec\.variables\.name of type string"):
        vap_cost.run_celcost([bad], [])
