"""The fixture corpus against the session's OPA (one test per case), and the fixture loader itself.

Every case of ``fixtures/`` is a test with the id ``<file>::<case>``. The whole
corpus is decided once per session (one config load and one batch request per
config) and each test reads its own decision from that cache.
"""

import textwrap
from pathlib import Path

import jsonschema
import pytest

from harness import documents
from harness.cli.test import evaluate
from harness.errors import ConfigError, FixtureError
from harness.fixtures import SCHEMA, Expectation, ViolationPattern, load_fixtures
from harness.inputs import pod_spec_field, wrap_input, wrap_pod
from harness.kinds import WORKLOADS
from harness.report import failure
from harness.tools import REPO_ROOT

CORPUS = load_fixtures([REPO_ROOT / "fixtures"], root=REPO_ROOT)


@pytest.fixture(scope="session")
def corpus_results(opa_session):
    return {result.case.id: result for result in evaluate(opa_session, CORPUS)}


@pytest.mark.parametrize("case", CORPUS.cases, ids=lambda case: case.id)
def test_corpus_case(case, corpus_results):
    result = corpus_results[case.id]
    if not result.passed:
        pytest.fail(failure(result), pytrace=False)


def test_corpus_size():
    authored = {(case.display, case.name.split("[")[0]) for case in CORPUS.cases}
    assert len(authored) >= 200


# --- the loader ------------------------------------------------------------------

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: tenant-a, labels: {app: web}}
spec:
  os: {name: windows}
  containers: [{name: app, image: mcr.microsoft.com/windows/nanoserver:ltsc2022}]
"""


def write(directory: Path, name: str, content: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(content), encoding="utf-8")
    return path


def fixture(directory: Path, cases: str, header: str = "base: pod.yaml\nconfig: builtin\n") -> Path:
    write(directory, "pod.yaml", POD)
    return write(directory, "cases.yaml",
                 "apiVersion: winpod-guard/v1alpha1\nkind: Fixture\n" + header + "cases:\n" + textwrap.dedent(cases))


def load_error(path: Path, **kwargs) -> str:
    with pytest.raises(FixtureError) as caught:
        load_fixtures([path], root=path if path.is_dir() else path.parent, **kwargs)
    return str(caught.value)


def test_patch_shape_and_workload_expand(tmp_path):
    path = fixture(tmp_path, """\
        - name: admin
          shape: [manifest, gatekeeper]
          workload: [Pod, CronJob]
          patch:
            - {op: add, path: /spec/containers/0/securityContext, value: {windowsOptions: {runAsUserName: x}}}
          expect:
            allowed: false
            violations:
              - {code: users.not-allowed, field: "spec.containers[0].image"}
        """)
    suite = load_fixtures([path], root=tmp_path)
    assert [case.id for case in suite.cases] == [
        "cases.yaml::admin[Pod,manifest]",
        "cases.yaml::admin[Pod,gatekeeper]",
        "cases.yaml::admin[CronJob,manifest]",
        "cases.yaml::admin[CronJob,gatekeeper]",
    ]
    pod, review, cronjob, _ = (case.input for case in suite.cases)
    assert pod["spec"]["containers"][0]["securityContext"] == {"windowsOptions": {"runAsUserName": "x"}}
    assert review == {"review": {"kind": {"group": "", "version": "v1", "kind": "Pod"}, "name": "web",
                                 "operation": "CREATE", "object": pod, "namespace": "tenant-a"}}
    assert cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"] == {**pod["spec"], "restartPolicy": "Never"}
    assert cronjob["metadata"] == pod["metadata"]
    assert suite.cases[2].expect == Expectation(False, (ViolationPattern(
        "users.not-allowed", field="spec.jobTemplate.spec.template.spec.containers[0].image"),))
    assert suite.cases[0].config is None


@pytest.mark.parametrize("kind", sorted(WORKLOADS))
def test_wrap_pod_puts_the_spec_where_the_kind_keeps_it(kind):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {"x": 1}}
    node = wrap_pod(pod, kind)
    for key in pod_spec_field(kind).split("."):
        node = node[key]
    # batch/v1 refuses a template that restarts Always, the default: a Job's pod says Never unless it says more.
    assert node == ({"x": 1, "restartPolicy": "Never"} if kind in ("Job", "CronJob") else {"x": 1})


@pytest.mark.parametrize("kind", sorted(WORKLOADS))
def test_wrap_pod_writes_the_selector_the_api_server_wants(kind):
    unlabelled = wrap_pod({"metadata": {"name": "p"}, "spec": {"restartPolicy": "OnFailure"}}, kind)
    if kind == "Pod":
        assert unlabelled == {"metadata": {"name": "p"}, "spec": {"restartPolicy": "OnFailure"}}
        return
    spec = unlabelled.get("spec", {})
    template = unlabelled["template"] if kind == "PodTemplate" else (
        spec["jobTemplate"]["spec"]["template"] if kind == "CronJob" else spec["template"])
    assert template["spec"] == {"restartPolicy": "OnFailure"}  # a policy given is kept
    assert "labels" not in unlabelled["metadata"]  # what label matching sees is the pod's own metadata
    if kind in ("PodTemplate", "Job", "CronJob"):
        # A Job's controller writes its selector; the API server refuses one given without manualSelector.
        assert "selector" not in spec and template["metadata"] == {}
    else:
        labels = template["metadata"]["labels"]
        assert labels and spec["selector"] == (labels if kind == "ReplicationController" else {"matchLabels": labels})


def test_admission_review_namespace_prefers_the_given_one():
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "a"}}
    review = wrap_input(obj, "admissionreview", "b")
    assert review["apiVersion"] == "admission.k8s.io/v1"
    assert review["kind"] == "AdmissionReview"
    assert review["request"]["namespace"] == "b"
    assert review["request"]["kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert review["request"]["object"] is obj
    assert "namespace" not in wrap_input({"kind": "Pod", "metadata": {}}, "admissionreview")["request"]


def test_default_config_applies_to_cases_naming_none(tmp_path):
    config = write(tmp_path, "config.yaml", """\
        apiVersion: winpod-guard/v1alpha1
        kind: PolicyConfig
        constraints: [{name: users, rule: users}, {name: hostprocess, rule: hostprocess}]
        """)
    path = fixture(tmp_path, header="base: pod.yaml\n", cases="""\
        - name: default
          expect: {allowed: true}
        - name: builtin
          config: builtin
          expect: {allowed: true}
        """)
    suite = load_fixtures([path], root=tmp_path, default_config=config)
    assert [case.config for case in suite.cases] == [config.resolve(), None]
    assert [group for group, _ in suite.groups()] == [config.resolve(), None]
    assert suite.configs[config.resolve()]["constraints"][0]["name"] == "users"


def test_select_by_substring_and_glob(tmp_path):
    path = fixture(tmp_path, """\
        - {name: alpha-one, expect: {allowed: true}}
        - {name: beta-one, expect: {allowed: true}}
        - {name: alpha-two, expect: {allowed: true}}
        """)
    suite = load_fixtures([path], root=tmp_path)
    assert [c.name for c in suite.select("ALPHA").cases] == ["alpha-one", "alpha-two"]
    assert [c.name for c in suite.select("*::*-one").cases] == ["alpha-one", "beta-one"]


def test_directories_skip_manifests_and_configs(tmp_path):
    fixture(tmp_path, "- {name: a, expect: {allowed: true}}\n")
    suite = load_fixtures([tmp_path], root=tmp_path)
    assert [case.id for case in suite.cases] == ["cases.yaml::a"]
    assert suite.sources == {tmp_path / "cases.yaml", tmp_path / "pod.yaml"}


@pytest.mark.parametrize(
    ("cases", "expected"),
    [
        pytest.param("- {name: a, expect: {allowed: true}, bogus: 1}\n",
                     "cases.yaml:6: case 'a': field bogus: unknown key", id="unknown-case-key"),
        pytest.param("- name: a\n  expect: {allowed: true, violation: []}\n",
                     "cases.yaml:7: case 'a': field expect.violation: unknown key", id="unknown-expect-key"),
        pytest.param("- {name: a, expect: {allowed: true}}\n- {name: a, expect: {allowed: false}}\n",
                     "cases.yaml:7: case 'a': field name: expected a unique case name, cases[0] has it too",
                     id="duplicate-name"),
        pytest.param("- name: a\n  patch:\n    - {op: add, path: /spec/os/name, value: linux}\n"
                     "    - {op: replace, path: /spec/containers/3/image, value: x}\n  expect: {allowed: true}\n",
                     "cases.yaml:9: case 'a': field patch[1] (replace /spec/containers/3/image): does not apply: "
                     "index '3' is out of bounds", id="patch-does-not-apply"),
        pytest.param("- name: a\n  patch:\n    - {op: test, path: /kind, value: Deployment}\n"
                     "  expect: {allowed: true}\n",
                     "cases.yaml:8: case 'a': field patch[0] (test /kind): does not apply", id="patch-test-fails"),
        pytest.param("- name: a\n  patch: [{op: frobnicate, path: /kind}]\n  expect: {allowed: true}\n",
                     "case 'a': field patch[0] (frobnicate /kind): does not apply: Unknown operation 'frobnicate'",
                     id="patch-unknown-op"),
        pytest.param("- {name: a, expect: {allowed: 'yes'}}\n",
                     "case 'a': field expect.allowed: expected true or false, got 'yes'", id="allowed-not-bool"),
        pytest.param("- {name: a}\n", "case 'a': field expect: expected a mapping", id="no-expect"),
        pytest.param("- {name: a, expect: {allowed: false, violations: [users.admin]}}\n",
                     "case 'a': field expect.violations[0].code: expected a violation code", id="unknown-code"),
        pytest.param("- {name: a, expect: {allowed: true, violations: [{code: users.not-allowed, "
                     "enforcementAction: deny}]}}\n",
                     "case 'a': field expect.allowed: expected false: a deny violation is expected",
                     id="allowed-with-deny"),
        pytest.param("- {name: a, shape: soap, expect: {allowed: true}}\n",
                     "case 'a': field shape: expected one of manifest, admissionreview, gatekeeper", id="bad-shape"),
        pytest.param("- {name: a, requestNamespace: x, expect: {allowed: true}}\n",
                     "case 'a': field requestNamespace: expected only shapes admissionreview and gatekeeper",
                     id="request-namespace-without-wrapper"),
        pytest.param("- {name: a, base: missing.yaml, expect: {allowed: true}}\n",
                     "case 'a': field base: expected an existing file, missing.yaml is not one", id="missing-base"),
        pytest.param("- {name: a, config: missing.yaml, expect: {allowed: true}}\n",
                     "case 'a': field config: expected an existing config file", id="missing-config"),
        pytest.param("- {name: 'a::b', expect: {allowed: true}}\n",
                     "field cases[0].name: expected a non-empty name without surrounding blanks or '::'",
                     id="name-with-separator"),
        pytest.param("- name: a\n  expect:\n    allowed: false\n    violations:\n"
                     "      - {code: users.not-allowed, constrain: x}\n",
                     "cases.yaml:10: case 'a': field expect.violations[0].constrain: unknown key; expected one of code, "
                     "constraint, enforcementAction, field", id="unknown-violation-key"),
        pytest.param("- {name: a, shape: [gatekeeper, gatekeeper], expect: {allowed: true}}\n",
                     "cases.yaml:6: case 'a': field shape: expected one of manifest, admissionreview, gatekeeper or a "
                     "list of them without repeats, got ['gatekeeper', 'gatekeeper']", id="repeated-shape"),
        pytest.param("- name: a\n  shape: gatekeeper\n  requestNamespace: ''\n  expect: {allowed: true}\n",
                     "cases.yaml:8: case 'a': field requestNamespace: expected a namespace name, got ''",
                     id="empty-request-namespace"),
    ],
)
def test_authoring_mistakes_name_file_line_case_and_field(tmp_path, cases, expected):
    assert expected in load_error(fixture(tmp_path, cases))


def test_the_schema_is_valid_and_lists_the_governed_kinds():
    schema = documents.schema(SCHEMA)
    jsonschema.Draft202012Validator.check_schema(schema)
    workload = schema["$defs"]["workload"]
    assert workload["items"]["enum"] == workload["anyOf"][1]["enum"] == list(WORKLOADS)
    assert workload["description"].startswith(f"one of {', '.join(WORKLOADS)} or")


def test_workload_needs_a_pod(tmp_path):
    write(tmp_path, "svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
    path = fixture(tmp_path, header="base: svc.yaml\nconfig: builtin\nworkload: [Deployment]\n",
                   cases="- {name: a, expect: {allowed: true}}\n")
    assert load_error(path) == ("cases.yaml:5: case 'a': field workload: expected the patched base to be a Pod "
                                "to wrap it, got apiVersion 'v1', kind 'Service'")


def test_invalid_yaml_names_the_line(tmp_path):
    path = fixture(tmp_path, "- name: a\n  expect: {allowed: true\n- name: b\n")
    assert load_error(path).startswith("cases.yaml:8: not valid YAML:")


def test_duplicate_key_is_refused(tmp_path):
    path = fixture(tmp_path, "- name: a\n  name: b\n  expect: {allowed: true}\n")
    assert "cases.yaml:7: not valid YAML: duplicate key 'name'" in load_error(path)


def test_config_that_fails_validation(tmp_path):
    write(tmp_path, "bad-config.yaml", """\
        apiVersion: winpod-guard/v1alpha1
        kind: PolicyConfig
        constraints: [{name: x, rule: hostpath, parameters: {denyAdminUsers: "no"}}]
        """)
    path = fixture(tmp_path, header="base: pod.yaml\nconfig: bad-config.yaml\n",
                   cases="- {name: a, expect: {allowed: true}}\n")
    message = load_error(path)
    assert message.startswith("cases.yaml:4: case 'a': field config: the config does not validate: ")
    assert "bad-config.yaml" in message
    assert "parameters.denyAdminUsers" in message


def test_default_config_that_fails_validation_is_a_config_error(tmp_path):
    config = write(tmp_path, "config.yaml", "apiVersion: winpod-guard/v1alpha1\nkind: PolicyConfig\nconstraints: []\n")
    path = fixture(tmp_path, "- {name: a, expect: {allowed: true}}\n")
    with pytest.raises(ConfigError, match="config.yaml"):
        load_fixtures([path], default_config=config)


def test_fixture_without_kind_is_not_skipped(tmp_path):
    write(tmp_path, "cases.yaml", "base: pod.yaml\ncases: [{name: a, expect: {allowed: true}}]\n")
    assert load_error(tmp_path).startswith(
        "cases.yaml:1: expected a fixture (apiVersion: winpod-guard/v1alpha1, kind: Fixture)")


def test_named_file_must_be_a_fixture(tmp_path):
    path = write(tmp_path, "pod.yaml", POD)
    assert "expected a fixture" in load_error(path)


# --- comparing a decision with an expectation ----------------------------------------

DENIED = {
    "allowed": False,
    "violations": [
        {"rule": "users", "code": "users.not-allowed", "constraint": "u", "enforcementAction": "deny",
         "field": "spec.containers[0].securityContext.windowsOptions.runAsUserName", "msg": "m1"},
        {"rule": "users", "code": "users.not-allowed", "constraint": "u", "enforcementAction": "deny",
         "field": "spec.containers[1].securityContext.windowsOptions.runAsUserName", "msg": "m2"},
        {"rule": "hostpath", "code": "hostpath.not-allowed", "constraint": "h", "enforcementAction": "warn",
         "field": "spec.volumes[0].hostPath.path", "msg": "m3"},
    ],
}


USER = "spec.containers[{}].securityContext.windowsOptions.runAsUserName"
UNEXPECTED_USER = "unexpected violation users.not-allowed (constraint=u, action=deny, field=" + USER + ")"
UNEXPECTED_PATH = ("unexpected violation hostpath.not-allowed (constraint=h, action=warn, "
                   "field=spec.volumes[0].hostPath.path)")
ANY_USER = ViolationPattern("users.not-allowed")


@pytest.mark.parametrize(
    ("expect", "problems"),
    [
        (Expectation(False), []),
        (Expectation(True), ["expected allowed, got denied"]),
        (Expectation(False, (ANY_USER, ViolationPattern("hostpath.not-allowed"))), []),
        (Expectation(False, (ANY_USER,)), [UNEXPECTED_PATH]),
        (Expectation(False, (ANY_USER, ViolationPattern("hostpath.not-allowed", "h", "warn"),
                             ViolationPattern("hostpath.writable"))),
         ["missing violation hostpath.writable"]),
        (Expectation(False, (ViolationPattern("users.not-allowed", field=USER.format(0)),
                             ViolationPattern("hostpath.not-allowed", enforcement_action="deny"))),
         ["missing violation hostpath.not-allowed (action=deny)", UNEXPECTED_USER.format(1), UNEXPECTED_PATH]),
        (Expectation(True, ()),
         ["expected allowed, got denied", UNEXPECTED_USER.format(0), UNEXPECTED_USER.format(1), UNEXPECTED_PATH]),
    ],
)
def test_expectation_compares_the_exact_set(expect, problems):
    assert expect.mismatches(DENIED) == problems


def test_expectation_refuses_a_malformed_decision():
    assert Expectation(True).mismatches({"allowed": "yes"}) == [
        "the decision is not {allowed: bool, violations: [...]}: {'allowed': 'yes'}"]


def test_a_date_in_a_patch_is_the_string_kubectl_reads(tmp_path):
    # go.yaml.in/yaml/v2 decodes an unquoted date into interface{} as the text it was written as.
    path = fixture(tmp_path, """\
        - name: a
          patch: [{op: add, path: /metadata/labels, value: {released: 2024-01-31, at: 2024-01-31T10:00:00Z}}]
          expect: {allowed: true}
        """)
    (case,) = load_fixtures([path], root=tmp_path).cases
    assert case.input["metadata"]["labels"] == {"released": "2024-01-31", "at": "2024-01-31T10:00:00Z"}


