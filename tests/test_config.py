"""The config loader: what it accepts, what it returns, and a one-line refusal for every mistake."""

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from harness.config import default_config, load_config, schema, validate_config
from harness.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent

VALID = {
    "apiVersion": "winpod-guard/v1alpha1",
    "kind": "PolicyConfig",
    "constraints": [
        {
            "name": "hostprocess-debug",
            "rule": "hostprocess",
            "enforcementAction": "warn",
            "match": {
                "namespaces": ["windows-debug", "debug-*"],
                "excludedNamespaces": ["kube-system"],
                "labelSelector": {
                    "matchLabels": {"app.kubernetes.io/name": "procmon", "tier": ""},
                    "matchExpressions": [
                        {"key": "team", "operator": "In", "values": ["sre", "node"]},
                        {"key": "example.com/legacy", "operator": "DoesNotExist"},
                    ],
                },
                "kinds": [{"apiGroups": [""], "kinds": ["Pod"]}, {"apiGroups": ["apps"], "kinds": ["DaemonSet"]}],
            },
            "parameters": {
                "allowHostProcess": True,
                "allowedUserNames": ["NT AUTHORITY\\LOCAL SERVICE", "CONTOSO\\*"],
                "allowedImages": ["mcr.microsoft.com/windows/nanoserver:*", "registry.local:5000/debug@sha256:*"],
            },
        },
        {"name": "users", "rule": "users", "parameters": {"nonAdminImages": ["registry.local:5000/apps/*"]}},
        {
            "name": "hostpath-csi",
            "rule": "hostpath",
            "enforcementAction": "dryrun",
            "parameters": {
                "allowedHostPaths": [
                    {"pathPrefix": "\\\\.\\pipe\\csi-proxy-*"},
                    {"pathPrefix": "C:\\var\\log", "readOnly": True},
                    {"pathPrefix": "/var/lib/kubelet"},
                ],
                "denyAdminUsers": False,
            },
        },
        # hostprocess-debug leaves most objects to no hostprocess constraint (SPEC 3 coverage).
        {"name": "hostprocess", "rule": "hostprocess"},
    ],
}


def test_valid_config_comes_back_with_defaults_filled_in():
    assert validate_config(copy.deepcopy(VALID), "cfg.yaml") == {
        "apiVersion": "winpod-guard/v1alpha1",
        "kind": "PolicyConfig",
        "constraints": [
            VALID["constraints"][0],
            {
                "name": "users",
                "rule": "users",
                "enforcementAction": "deny",
                "match": {},
                "parameters": {"nonAdminImages": ["registry.local:5000/apps/*"]},
            },
            {**VALID["constraints"][2], "match": {}},
            {"name": "hostprocess", "rule": "hostprocess", "enforcementAction": "deny", "match": {}, "parameters": {}},
        ],
    }


@pytest.mark.parametrize("prefix", ["//var/log", "/var/lib/a:b", "C:\\", "c:/data", "\\\\.\\pipe\\docker_engine", "relative\\dir"])
def test_path_prefixes_some_pod_could_use_are_accepted(prefix):
    """POSIX paths keep ':' and a leading '//' (SPEC 2: POSIX semantics unless the path or pod is Windows)."""
    data = copy.deepcopy(VALID)
    data["constraints"][2]["parameters"]["allowedHostPaths"][0]["pathPrefix"] = prefix
    assert validate_config(data, "cfg.yaml")["constraints"][2]["parameters"]["allowedHostPaths"][0]["pathPrefix"] == prefix


@pytest.mark.parametrize("index", [1, 2], ids=["users", "hostpath"])
def test_windows_pod_parameters_are_accepted_on_users_and_hostpath(index):
    """SPEC 1 "Windows pod": windowsImages (image globs), windowsRuntimeClasses (name globs), assumeWindows."""
    parameters = {
        "windowsImages": ["mcr.microsoft.com/windows", "mcr.microsoft.com/windows/*", "*:*ltsc20*", "contoso.azurecr.io/app@sha256:*"],
        "windowsRuntimeClasses": ["*windows*", "runhcs-wcow-process", "win.2022", "*"],
        "assumeWindows": True,
    }
    data = copy.deepcopy(VALID)
    data["constraints"][index]["parameters"].update(parameters)
    result = validate_config(data, "cfg.yaml")["constraints"][index]["parameters"]
    assert {key: result[key] for key in parameters} == parameters


def test_result_does_not_share_state_with_the_input():
    data = copy.deepcopy(VALID)
    result = validate_config(data, "cfg.yaml")
    result["constraints"][0]["parameters"]["allowedUserNames"].append("x")
    assert data == VALID


def test_default_config_is_spec_built_in():
    assert default_config() == {
        "apiVersion": "winpod-guard/v1alpha1",
        "kind": "PolicyConfig",
        "constraints": [
            {"name": f"default-{rule}", "rule": rule, "enforcementAction": "deny", "match": {}, "parameters": {}}
            # One per rule package, in the order the packages sort.
            for rule in ("hostpath", "hostprocess", "users")
        ],
    }


def test_yaml_and_json_files_load_alike(tmp_path):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(VALID), encoding="utf-8")
    (tmp_path / "c.json").write_text(json.dumps(VALID), encoding="utf-8")
    assert load_config(tmp_path / "c.yaml") == load_config(tmp_path / "c.json") == validate_config(VALID, "x")


def test_example_config_expresses_the_guidance():
    config = load_config(REPO / "winpod-config.yaml")
    by_name = {c["name"]: c for c in config["constraints"]}
    assert len(by_name) >= 5
    assert {c["enforcementAction"] for c in config["constraints"]} == {"deny", "warn", "dryrun"}
    debug = by_name["hostprocess-debug"]
    assert debug["match"] == {"namespaces": ["windows-debug"]}
    assert debug["parameters"]["allowHostProcess"] is True
    assert debug["parameters"]["allowedUserNames"] == ["NT AUTHORITY\\LOCAL SERVICE", "NT AUTHORITY\\NETWORK SERVICE"]
    assert by_name["hostpath-csi-proxy-pipes"]["parameters"] == {
        "allowedHostPaths": [{"pathPrefix": "\\\\.\\pipe\\csi-proxy-*"}]
    }


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(schema())


# Keywords whose errors the loader turns into a sentence; a new keyword in
# schema.json must get a sentence too, or its refusals would read like jsonschema's.
EXPLAINED = {"required", "additionalProperties", "type", "const", "enum", "minItems", "minLength", "pattern", "maxLength"}
STRUCTURAL = {"$schema", "$defs", "$ref", "title", "description", "properties", "items", "allOf", "if", "then"}


def test_every_schema_keyword_has_an_explanation():
    used = set()

    def walk(node, in_properties=False):
        if isinstance(node, dict):
            for key, value in node.items():
                if not in_properties:
                    used.add(key)
                walk(value, in_properties=(key in ("properties", "$defs") and not in_properties))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema())
    assert used - EXPLAINED - STRUCTURAL == set()


# (id, change to VALID (in place, or returning a new document), constraint
# named in the message, field, what was expected)
def _set(path, value):
    def change(doc):
        *parents, last = path
        node = doc
        for key in parents:
            node = node[key]
        node[last] = value

    return change


def _drop(path):
    def change(doc):
        *parents, last = path
        node = doc
        for key in parents:
            node = node[key]
        del node[last]

    return change


C0 = "constraint 'hostprocess-debug' (constraints[0])"
C1 = "constraint 'users' (constraints[1])"
C2 = "constraint 'hostpath-csi' (constraints[2])"
HP = ["constraints", 2, "parameters", "allowedHostPaths", 0, "pathPrefix"]
SEL = ["constraints", 0, "match", "labelSelector"]

REFUSALS = [
    ("api-version", _set(["apiVersion"], "v1"), None, "apiVersion", '"winpod-guard/v1alpha1", got "v1"'),
    ("kind", _set(["kind"], "Config"), None, "kind", '"PolicyConfig"'),
    ("unknown-top-key", _set(["metadata"], {}), None, "metadata", "one of apiVersion, constraints, kind"),
    ("no-constraints-key", _drop(["constraints"]), None, "constraints", "required"),
    ("empty-constraints", _set(["constraints"], []), None, "constraints", "a non-empty list"),
    ("constraints-not-list", _set(["constraints"], {"a": 1}), None, "constraints", "a list"),
    ("document-not-mapping", lambda d: ["constraints"], None, "(the document)", "a mapping, got [\"constraints\"]"),
    ("entry-not-mapping", _set(["constraints", 1], "users"), "constraint constraints[1]", "(the entry)", "a mapping"),
    ("unknown-constraint-key", _set(["constraints", 1, "severity"], "high"), C1, "severity", "one of enforcementAction, match, name, parameters, rule"),
    ("missing-name", _drop(["constraints", 1, "name"]), "constraint constraints[1]", "name", "required"),
    ("name-not-dns-label", _set(["constraints", 1, "name"], "Users_1"), "constraint 'Users_1' (constraints[1])", "name", "DNS-1123 label"),
    ("name-too-long", _set(["constraints", 1, "name"], "a" * 64), "(constraints[1])", "name", "at most 63 characters"),
    ("name-not-string", _set(["constraints", 1, "name"], 7), "constraint constraints[1]", "name", "a string, got 7"),
    ("duplicate-name", _set(["constraints", 2, "name"], "users"), "constraint 'users' (constraints[2])", "name", "not used before, got the name of constraints[1]"),
    ("missing-rule", _drop(["constraints", 1, "rule"]), C1, "rule", "required"),
    ("unknown-rule", _set(["constraints", 1, "rule"], "privileged"), C1, "rule", "one of hostpath, hostprocess, users"),
    ("bad-enforcement", _set(["constraints", 1, "enforcementAction"], "audit"), C1, "enforcementAction", "one of deny, warn, dryrun"),
    ("parameters-not-mapping", _set(["constraints", 1, "parameters"], ["x"]), C1, "parameters", "a mapping"),
    ("parameter-of-other-rule", _set(["constraints", 1, "parameters", "allowHostProcess"], True), C1, "parameters.allowHostProcess", "a parameter of rule users (allowedUserNames, assumeWindows, nonAdminImages, windowsImages, windowsRuntimeClasses), got a parameter of rule hostprocess"),
    ("unknown-parameter", _set(["constraints", 1, "parameters", "allowAdmins"], True), C1, "parameters.allowAdmins", "got an unknown parameter"),
    ("bool-as-string", _set(["constraints", 0, "parameters", "allowHostProcess"], "true"), C0, "parameters.allowHostProcess", 'true or false, got "true"'),
    ("list-as-string", _set(["constraints", 0, "parameters", "allowedUserNames"], "ContainerUser"), C0, "parameters.allowedUserNames", "a list"),
    ("user-not-string", _set(["constraints", 0, "parameters", "allowedUserNames", 1], 5), C0, "parameters.allowedUserNames[1]", "a string"),
    ("user-two-backslashes", _set(["constraints", 0, "parameters", "allowedUserNames", 1], "A\\B\\C"), C0, "parameters.allowedUserNames[1]", "a Windows account"),
    ("user-empty", _set(["constraints", 0, "parameters", "allowedUserNames", 1], ""), C0, "parameters.allowedUserNames[1]", "a Windows account"),
    ("user-bare-star", _set(["constraints", 0, "parameters", "allowedUserNames", 1], "*"), C0, "parameters.allowedUserNames[1]", "a Windows account"),
    ("user-trailing-newline", _set(["constraints", 0, "parameters", "allowedUserNames", 1], "ContainerUser\n"), C0, "parameters.allowedUserNames[1]", "without control characters"),
    ("image-empty", _set(["constraints", 0, "parameters", "allowedImages", 0], ""), C0, "parameters.allowedImages[0]", "an image reference glob"),
    ("image-blank", _set(["constraints", 0, "parameters", "allowedImages", 0], "mcr.microsoft.com/x :1"), C0, "parameters.allowedImages[0]", "an image reference glob"),
    ("image-question-mark", _set(["constraints", 0, "parameters", "allowedImages", 0], "mcr.microsoft.com/windows/?"), C0, "parameters.allowedImages[0]", "an image reference glob"),
    ("non-admin-image-tag", _set(["constraints", 1, "parameters", "nonAdminImages", 0], "mcr.microsoft.com/windows/nanoserver:ltsc2022"), C1, "parameters.nonAdminImages[0]", "without tag or digest"),
    ("non-admin-image-digest", _set(["constraints", 1, "parameters", "nonAdminImages", 0], "mcr.microsoft.com/x@sha256:*"), C1, "parameters.nonAdminImages[0]", "without tag or digest"),
    ("host-paths-not-list", _set(["constraints", 2, "parameters", "allowedHostPaths"], "C:\\"), C2, "parameters.allowedHostPaths", "a list"),
    ("host-path-no-prefix", _drop(HP), C2, "parameters.allowedHostPaths[0].pathPrefix", "required"),
    ("host-path-unknown-key", _set(["constraints", 2, "parameters", "allowedHostPaths", 0, "recursive"], True), C2, "parameters.allowedHostPaths[0].recursive", "one of pathPrefix, readOnly"),
    ("read-only-as-string", _set(["constraints", 2, "parameters", "allowedHostPaths", 1, "readOnly"], "yes"), C2, "parameters.allowedHostPaths[1].readOnly", "true or false"),
    ("path-empty", _set(HP, ""), C2, "parameters.allowedHostPaths[0].pathPrefix", "a non-empty string"),
    ("path-dotdot", _set(HP, "C:\\data\\..\\Windows"), C2, "parameters.allowedHostPaths[0].pathPrefix", "without a '..' segment"),
    ("path-posix-dotdot", _set(HP, "/var/../etc"), C2, "parameters.allowedHostPaths[0].pathPrefix", "without a '..' segment"),
    ("path-star", _set(HP, "C:\\data\\*"), C2, "parameters.allowedHostPaths[0].pathPrefix", "without '*'"),
    ("path-unc", _set(HP, "\\\\server\\share"), C2, "parameters.allowedHostPaths[0].pathPrefix", "UNC and device paths"),
    ("path-device", _set(HP, "\\\\?\\C:\\data"), C2, "parameters.allowedHostPaths[0].pathPrefix", "UNC and device paths"),
    ("path-unc-mixed-slashes", _set(HP, "//server\\share"), C2, "parameters.allowedHostPaths[0].pathPrefix", "UNC and device paths"),
    ("path-colon", _set(HP, "C:\\data:stream"), C2, "parameters.allowedHostPaths[0].pathPrefix", "':' only after the drive letter"),
    ("path-blank", _set(HP, " C:\\data"), C2, "parameters.allowedHostPaths[0].pathPrefix", "without surrounding blanks"),
    ("path-control", _set(HP, "C:\\da\tta"), C2, "parameters.allowedHostPaths[0].pathPrefix", "without control characters"),
    ("pipe-any", _set(HP, "\\\\.\\pipe\\*"), C2, "parameters.allowedHostPaths[0].pathPrefix", "non-empty prefix"),
    ("pipe-inner-star", _set(HP, "\\\\.\\pipe\\csi-*-proxy"), C2, "parameters.allowedHostPaths[0].pathPrefix", "a named pipe"),
    ("pipe-subpath", _set(HP, "\\\\.\\pipe\\csi\\x"), C2, "parameters.allowedHostPaths[0].pathPrefix", "a named pipe"),
    ("windows-images-not-list", _set(["constraints", 1, "parameters", "windowsImages"], "mcr.microsoft.com/windows/*"), C1, "parameters.windowsImages", "a list"),
    ("windows-image-blank", _set(["constraints", 2, "parameters", "windowsImages"], ["*:*nano server*"]), C2, "parameters.windowsImages[0]", "an image reference glob"),
    ("windows-image-not-string", _set(["constraints", 1, "parameters", "windowsImages"], [7]), C1, "parameters.windowsImages[0]", "a string, got 7"),
    ("runtime-class-upper", _set(["constraints", 1, "parameters", "windowsRuntimeClasses"], ["*Windows*"]), C1, "parameters.windowsRuntimeClasses[0]", "a RuntimeClass name glob"),
    ("runtime-class-slash", _set(["constraints", 2, "parameters", "windowsRuntimeClasses"], ["runhcs/wcow"]), C2, "parameters.windowsRuntimeClasses[0]", "a RuntimeClass name glob"),
    ("runtime-class-empty", _set(["constraints", 2, "parameters", "windowsRuntimeClasses"], [""]), C2, "parameters.windowsRuntimeClasses[0]", "a RuntimeClass name glob"),
    ("runtime-class-too-long", _set(["constraints", 2, "parameters", "windowsRuntimeClasses"], ["a" * 254]), C2, "parameters.windowsRuntimeClasses[0]", "at most 253 characters"),
    ("runtime-classes-not-list", _set(["constraints", 2, "parameters", "windowsRuntimeClasses"], "*windows*"), C2, "parameters.windowsRuntimeClasses", "a list"),
    ("assume-windows-as-string", _set(["constraints", 1, "parameters", "assumeWindows"], "true"), C1, "parameters.assumeWindows", 'true or false, got "true"'),
    ("assume-windows-on-hostprocess", _set(["constraints", 0, "parameters", "assumeWindows"], True), C0, "parameters.assumeWindows", "got a parameter of rule hostpath and users"),
    ("deny-admin-as-string", _set(["constraints", 2, "parameters", "denyAdminUsers"], "false"), C2, "parameters.denyAdminUsers", "true or false"),
    ("match-not-mapping", _set(["constraints", 0, "match"], []), C0, "match", "a mapping"),
    ("match-unknown-key", _set(["constraints", 0, "match", "namespaceSelector"], {}), C0, "match.namespaceSelector", "one of excludedNamespaces, kinds, labelSelector, namespaces"),
    ("namespace-suffix-glob", _set(["constraints", 0, "match", "namespaces", 1], "*-debug"), C0, "match.namespaces[1]", "prefix glob ending in '*'"),
    ("namespace-upper", _set(["constraints", 0, "match", "namespaces", 0], "Windows-Debug"), C0, "match.namespaces[0]", "namespace name"),
    ("namespace-inner-star", _set(["constraints", 0, "match", "excludedNamespaces", 0], "kube-*-x"), C0, "match.excludedNamespaces[0]", "prefix glob"),
    ("namespaces-not-list", _set(["constraints", 0, "match", "namespaces"], "windows-debug"), C0, "match.namespaces", "a list"),
    ("selector-unknown-key", _set(SEL + ["matchFields"], {}), C0, "match.labelSelector.matchFields", "one of matchExpressions, matchLabels"),
    ("label-value-not-string", _set(SEL + ["matchLabels", "tier"], True), C0, 'match.labelSelector.matchLabels.tier', "a string, got true"),
    ("label-key-bad", _set(SEL + ["matchLabels", "-bad"], "x"), C0, 'match.labelSelector.matchLabels["-bad"]', "a label key"),
    ("label-key-bad-prefix", _set(SEL + ["matchLabels", "Example.COM/x"], "x"), C0, 'match.labelSelector.matchLabels["Example.COM/x"]', "a label key"),
    ("label-value-bad", _set(SEL + ["matchLabels", "tier"], "a b"), C0, "match.labelSelector.matchLabels.tier", "a label value"),
    ("label-value-long", _set(SEL + ["matchLabels", "tier"], "a" * 64), C0, "match.labelSelector.matchLabels.tier", "a label value"),
    ("operator-unknown", _set(SEL + ["matchExpressions", 0, "operator"], "Gt"), C0, "match.labelSelector.matchExpressions[0].operator", "one of In, NotIn, Exists, DoesNotExist"),
    ("operator-missing", _drop(SEL + ["matchExpressions", 0, "operator"]), C0, "match.labelSelector.matchExpressions[0].operator", "required"),
    ("in-without-values", _drop(SEL + ["matchExpressions", 0, "values"]), C0, "match.labelSelector.matchExpressions[0].values", "at least one value for operator In"),
    ("notin-empty-values", _set(SEL + ["matchExpressions", 0], {"key": "a", "operator": "NotIn", "values": []}), C0, "match.labelSelector.matchExpressions[0].values", "at least one value for operator NotIn"),
    ("exists-with-values", _set(SEL + ["matchExpressions", 1, "values"], ["x"]), C0, "match.labelSelector.matchExpressions[1].values", "no values for operator DoesNotExist"),
    ("expression-key-bad", _set(SEL + ["matchExpressions", 0, "key"], "a/b/c"), C0, "match.labelSelector.matchExpressions[0].key", "a label key"),
    ("expression-value-bad", _set(SEL + ["matchExpressions", 0, "values", 1], "no/slash"), C0, "match.labelSelector.matchExpressions[0].values[1]", "a label value"),
    ("kinds-empty", _set(["constraints", 0, "match", "kinds"], []), C0, "match.kinds", "a non-empty list"),
    ("kinds-entry-missing-groups", _drop(["constraints", 0, "match", "kinds", 0, "apiGroups"]), C0, "match.kinds[0].apiGroups", "required"),
    ("kinds-entry-empty-kinds", _set(["constraints", 0, "match", "kinds", 1, "kinds"], []), C0, "match.kinds[1].kinds", "a non-empty list"),
    ("kinds-entry-lower-kind", _set(["constraints", 0, "match", "kinds", 1, "kinds"], ["daemonset"]), C0, "match.kinds[1].kinds[0]", "a kind"),
    ("kinds-entry-bad-group", _set(["constraints", 0, "match", "kinds", 1, "apiGroups"], ["Apps"]), C0, "match.kinds[1].apiGroups[0]", "an API group"),
    ("kinds-star-not-alone", _set(["constraints", 0, "match", "kinds", 1, "kinds"], ["*", "Pod"]), C0, "match.kinds[1].kinds", "'*' alone"),
    ("kinds-entry-unknown-key", _set(["constraints", 0, "match", "kinds", 0, "versions"], ["v1"]), C0, "match.kinds[0].versions", "one of apiGroups, kinds"),
]


@pytest.mark.parametrize(("change", "constraint", "field", "expected"), [pytest.param(*case[1:], id=case[0]) for case in REFUSALS])
def test_refusal_names_file_constraint_and_field(change, constraint, field, expected):
    data = copy.deepcopy(VALID)
    data = change(data) or data
    with pytest.raises(ConfigError) as raised:
        validate_config(data, "conf/winpod.yaml")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("conf/winpod.yaml: ")
    named = message.split(" field ", 1)[0]
    if constraint is None:
        assert named == "conf/winpod.yaml:"
    else:
        assert constraint in named
    assert f"field {field}: expected " in message
    assert expected in message.split(f"field {field}: ", 1)[1]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        pytest.param("winpod.yaml", "apiVersion: winpod-guard/v1alpha1\nkind: [\n", "line 3, column 1: not valid YAML", id="unclosed-flow"),
        pytest.param("winpod.yaml", "apiVersion: a\n  kind: b: c\n", "line 2, column 7: not valid YAML: mapping values are not allowed here", id="bad-indent"),
        pytest.param("winpod.yaml", "kind: PolicyConfig\nkind: PolicyConfig\n", "line 2, column 1: not valid YAML: duplicate key 'kind'", id="duplicate-key"),
        pytest.param("winpod.yaml", "a: 1\n---\nb: 2\n", "not valid YAML", id="two-documents"),
        pytest.param("winpod.yaml", "", "field (the document): expected a mapping, got null", id="empty-file"),
        pytest.param("winpod.json", '{"kind": "PolicyConfig",\n "kind": "PolicyConfig"}', "not valid JSON: duplicate key 'kind'", id="json-duplicate-key"),
        pytest.param("winpod.json", '{"kind": \n}', "line 2, column 1: not valid JSON", id="json-syntax"),
    ],
)
def test_parse_refusals_name_file_and_line(tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read the config file"):
        load_config(tmp_path / "missing.yaml")


def test_duplicate_key_inside_a_constraint_is_refused(tmp_path):
    path = tmp_path / "winpod.yaml"
    path.write_text(
        "apiVersion: winpod-guard/v1alpha1\nkind: PolicyConfig\nconstraints:\n"
        "  - name: a\n    rule: hostpath\n    parameters: {}\n    parameters: {allowedHostPaths: []}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"line 7, column 5: not valid YAML: duplicate key 'parameters'"):
        load_config(path)
