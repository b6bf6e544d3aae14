"""``winpod audit`` over a cluster export holding every governed kind, in every format.

The expected findings come from SPEC under the built-in default config: a
Windows container running as ContainerAdministrator breaks ``users``, a
HostProcess pod breaks ``hostprocess`` once per HostProcess container and once
for the pod-level setting, and any hostPath volume breaks ``hostpath``.
"""

import io
import json
from collections import Counter

import pytest
from sarif import loader as sarif_loader

from harness import manifests
from harness.cli import audit, main
from harness.inputs import wrap_pod
from harness.kinds import WORKLOADS
from harness.tools import REPO_ROOT

pytestmark = pytest.mark.docker


def _pod(name: str, *, windows: bool, user: str | None = None, namespace: str = "apps") -> dict:
    container: dict = {"name": "app", "image": "contoso.io/app:1"}
    if user is not None:
        container["securityContext"] = {"windowsOptions": {"runAsUserName": user}}
    spec: dict = {"containers": [container]}
    spec["os"] = {"name": "windows" if windows else "linux"}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def _export() -> dict:
    items = []
    for kind in WORKLOADS:
        items.append(wrap_pod(_pod(f"win-{kind.lower()}", windows=True, user="ContainerAdministrator"), kind))
        items.append(wrap_pod(_pod(f"linux-{kind.lower()}", windows=False), kind))
        items.append(wrap_pod(_pod(f"user-{kind.lower()}", windows=True, user="containeruser"), kind))
    debug = _pod("procmon", windows=True, namespace="windows-debug")
    debug["spec"]["hostNetwork"] = True
    debug["spec"]["securityContext"] = {"windowsOptions": {"hostProcess": True,
                                                           "runAsUserName": "NT AUTHORITY\\SYSTEM"}}
    items.append(debug)
    agent = _pod("agent", windows=False, namespace="kube-system")
    agent["spec"]["volumes"] = [{"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}}]
    items.append(wrap_pod(agent, "DaemonSet"))
    items.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "apps"}})
    items.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "apps"}})
    return {"apiVersion": "v1", "kind": "List", "items": items}


def _expected() -> Counter:
    expected = Counter()
    for kind in WORKLOADS:
        expected[(kind, f"win-{kind.lower()}", "users.not-allowed", "default-users")] += 1
    expected[("Pod", "procmon", "hostprocess.not-allowed", "default-hostprocess")] += 2
    expected[("DaemonSet", "agent", "hostpath.not-allowed", "default-hostpath")] += 1
    return expected


@pytest.fixture(scope="module")
def export_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("audit") / "export.json"
    path.write_text(json.dumps(_export(), indent=2))  # kubectl's own layout: one key a line
    return path


@pytest.fixture
def result(opa, export_file):
    return audit.audit(opa, manifests.stream([str(export_file)]))


def test_findings_are_exactly_what_spec_says(result):
    found = Counter((f.kind, f.name, f.code, f.constraint) for f in result.findings)
    assert found == _expected()
    assert result.scanned == 3 * len(WORKLOADS) + 2
    assert result.skipped == Counter({"Service": 1, "ConfigMap": 1})
    assert result.exit_code() == 1


def test_findings_point_at_the_offending_line(result, export_file):
    lines = export_file.read_text().splitlines()
    for finding in result.findings:
        key = finding.field.rsplit(".", 1)[-1]
        assert f'"{key}"' in lines[finding.line - 1], (finding.field, finding.line)
        if finding.rule == "users":
            assert finding.container == "app"


def test_json_report(result):
    out = io.StringIO()
    audit.write_json(result, out)
    report = json.loads(out.getvalue())
    assert report["summary"] == {
        "scanned": 3 * len(WORKLOADS) + 2,
        "withViolations": len(WORKLOADS) + 2,
        "byRule": {"hostpath": 1, "hostprocess": 2, "users": len(WORKLOADS)},
        "skipped": {"ConfigMap": 1, "Service": 1},
        "errors": 0,
    }
    assert Counter((f["kind"], f["name"], f["code"], f["constraint"]) for f in report["findings"]) == _expected()


def test_table_groups_by_namespace_and_object(result):
    out = io.StringIO()
    audit.write_table(result, out)
    text = out.getvalue()
    namespaces = [line.split()[1] for line in text.splitlines() if line.startswith("namespace ")]
    assert namespaces == ["apps", "kube-system", "windows-debug"]
    assert "  DaemonSet/agent  (" in text
    assert text.rstrip().endswith(
        f"{3 * len(WORKLOADS) + 2} objects scanned; {len(WORKLOADS) + 2} with violations; "
        f"by rule: hostpath 1, hostprocess 2, users {len(WORKLOADS)}; 2 skipped (ConfigMap 1, Service 1)"
    )


def test_sarif_reads_back_with_a_sarif_library(result, tmp_path):
    path = tmp_path / "audit.sarif"
    with path.open("w") as out:
        audit.write_sarif(result, out)
    sarif = sarif_loader.load_sarif_file(str(path))
    results = sarif.get_results()
    assert len(results) == sum(_expected().values())
    for r, finding in zip(results, result.findings, strict=True):
        assert r["ruleId"] == finding.code
        assert r["level"] == "error"
        assert finding.msg in r["message"]["text"]
        location = r["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].endswith("export.json")
        assert location["region"]["startLine"] == finding.line
    assert {rule["id"] for rule in sarif.runs[0].run_data["tool"]["driver"]["rules"]} == {
        code for _, _, code, _ in _expected()
    }


def test_cli_exit_codes_and_a_malformed_document(tmp_path, capsys):
    clean = tmp_path / "clean.yaml"
    clean.write_text(json.dumps(_pod("ok", windows=True, user="ContainerUser")))
    assert main(["audit", str(clean), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["withViolations"] == 0

    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: apps}\n"
        "spec:\n  os: {name: windows}\n  containers:\n  - {name: app, image: contoso.io/app:1}\n"
        "---\nkind: Pod\nspec: [broken\n"
    )
    assert main(["audit", str(mixed)]) == 2
    captured = capsys.readouterr()
    assert f"{mixed} document 2 (line " in captured.err
    assert "1 objects scanned; 1 with violations; by rule: users 1; 1 unreadable documents" in captured.out


def test_cli_missing_input_is_an_input_error(tmp_path, capsys):
    assert main(["audit", str(tmp_path / "absent.yaml")]) == 2
    assert "absent.yaml: no such file or directory" in capsys.readouterr().err


def test_inventory_lists_host_process_workloads_whatever_the_config(export_file, capsys):
    # The example config allows HostProcess in windows-debug: the inventory lists it all the same.
    assert main(["audit", str(export_file), "--inventory", "--format", "json",
                 "--config", str(REPO_ROOT / "winpod-config.yaml")]) == 0
    rows = json.loads(capsys.readouterr().out)["hostProcessWorkloads"]
    assert [(r["namespace"], r["kind"], r["name"], r["hostNetwork"]) for r in rows] == [
        ("windows-debug", "Pod", "procmon", True),
    ]
    assert rows[0]["containers"] == [{"name": "app", "field": "spec.containers[0]",
                                      "user": "NT AUTHORITY\\SYSTEM", "image": "contoso.io/app:1"}]


def test_inventory_has_no_sarif_form(export_file, capsys):
    assert main(["audit", str(export_file), "--inventory", "--format", "sarif"]) == 2
    assert "--inventory" in capsys.readouterr().err


def test_no_objects_at_all_is_an_input_error_not_a_clean_audit(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("kind: Pod\n")
    assert main(["audit", str(tmp_path)]) == 2
    assert "no Kubernetes objects in" in capsys.readouterr().err


def test_the_report_goes_to_a_new_directory(export_file, tmp_path):
    target = tmp_path / "reports" / "nested" / "audit.sarif"
    assert main(["audit", str(export_file), "--format", "sarif", "-o", str(target)]) == 1
    assert json.loads(target.read_text())["version"] == "2.1.0"


def test_an_unwritable_report_is_refused_before_opa_starts(export_file, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["audit", str(export_file), "-o", str(blocker / "audit.json")]) == 2
    assert "cannot write the report" in capsys.readouterr().err


def test_paths_beside_cluster_are_refused_not_ignored(export_file, capsys):
    # Before, the paths were silently dropped and only the cluster was audited: a user who meant both saw half.
    assert main(["audit", "--cluster", str(export_file)]) == 2
    assert f"--cluster audits what the cluster holds; audit {export_file} in a run of its own" in capsys.readouterr().err
