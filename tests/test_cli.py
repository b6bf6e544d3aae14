"""``winpod test`` and ``winpod check`` as a user runs them: real processes, real OPA, exit codes and reports."""

import ast
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.tools import REPO_ROOT

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: tenant-a}
spec:
  os: {name: windows}
  securityContext:
    windowsOptions: {runAsUserName: ContainerUser}
  containers: [{name: app, image: mcr.microsoft.com/windows/servercore:ltsc2022}]
"""

# Two cases: "admin" expects what SPEC says (ContainerAdministrator is denied by
# the built-in users rule); "wrong" deliberately expects a denial of a clean pod.
CASES = """\
apiVersion: winpod-guard/v1alpha1
kind: Fixture
base: pod.yaml
config: builtin
cases:
  - name: admin
    patch:
      - {op: replace, path: /spec/securityContext/windowsOptions/runAsUserName, value: ContainerAdministrator}
    expect:
      allowed: false
      violations: [users.not-allowed]
  - name: wrong
    expect:
      allowed: false
      violations: [hostpath.not-allowed]
"""


def winpod(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], input=stdin, capture_output=True,
                          text=True, cwd=cwd, timeout=120, check=False)


@pytest.fixture
def suite_dir(tmp_path: Path) -> Path:
    (tmp_path / "pod.yaml").write_text(POD)
    (tmp_path / "cases.yaml").write_text(CASES)
    return tmp_path


# --- winpod test -----------------------------------------------------------------


@pytest.mark.docker
def test_wrong_expectation_fails_with_the_mismatch(suite_dir):
    result = winpod("test", ".", cwd=suite_dir)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "FAILED cases.yaml::wrong (line 12): expected denied [hostpath.not-allowed], got allowed []"
    assert lines[1] == "    missing violation hostpath.not-allowed"
    assert len(lines) == 3
    assert lines[2].startswith("1 passed, 1 failed in ")


def test_every_case_agreeing_exits_0(suite_dir):
    result = winpod("test", "cases.yaml", "-k", "admin", "--backend", "process", cwd=suite_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 passed, 0 failed in ")


def test_junit_report(suite_dir):
    report = suite_dir / "out" / "junit.xml"
    report.parent.mkdir()
    result = winpod("test", ".", "--backend", "process", "--format", "junit", "--output", str(report), cwd=suite_dir)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("1 passed, 1 failed in ")
    root = ET.parse(report).getroot()
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuites", "2", "1")
    [suite] = root.findall("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("cases.yaml", "2", "1")
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert set(cases) == {"cases.yaml::admin", "cases.yaml::wrong"}
    assert cases["cases.yaml::admin"].find("failure") is None
    failure = cases["cases.yaml::wrong"].find("failure")
    assert failure.get("message") == "expected denied [hostpath.not-allowed], got allowed []"
    assert failure.text == "missing violation hostpath.not-allowed"


def test_json_report(suite_dir):
    result = winpod("test", ".", "--backend", "process", "--format", "json", cwd=suite_dir)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["total"] == 2
    assert (report["summary"]["passed"], report["summary"]["failed"]) == (1, 1)
    admin, wrong = report["cases"]
    assert (admin["id"], admin["passed"], admin["problems"]) == ("cases.yaml::admin", True, [])
    assert admin["expected"] == {"allowed": False, "violations": [{"code": "users.not-allowed"}]}
    assert admin["actual"]["allowed"] is False
    assert [v["code"] for v in admin["actual"]["violations"]] == ["users.not-allowed"]
    assert (wrong["id"], wrong["passed"], wrong["line"]) == ("cases.yaml::wrong", False, 12)
    assert wrong["actual"] == {"allowed": True, "violations": []}
    assert wrong["problems"] == ["expected denied, got allowed", "missing violation hostpath.not-allowed"]
    assert result.stderr.startswith("1 passed, 1 failed in ")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        pytest.param(lambda text: text.replace("path: /spec/securityContext/windowsOptions/runAsUserName",
                                               "path: /spec/securityContext/windowsOptions/user"),
                     "cases.yaml:8: case 'admin': field patch[0] (replace /spec/securityContext/windowsOptions/user): "
                     "does not apply", id="patch"),
        pytest.param(lambda text: text.replace("  - name: wrong", "  - name: admin"),
                     "cases.yaml:12: case 'admin': field name: expected a unique case name", id="duplicate"),
        pytest.param(lambda text: text.replace("allowed: false\n      violations: [users", "allow: false\n      v: [u"),
                     "cases.yaml:10: case 'admin': field expect.allow: unknown key", id="unknown-key"),
        pytest.param(lambda text: text.replace("violations: [users.not-allowed]", "violations: [users.not-allowed"),
                     "cases.yaml:12: not valid YAML", id="yaml"),
    ],
)
def test_broken_fixture_exits_2_naming_file_and_case(suite_dir, edit, message):
    (suite_dir / "cases.yaml").write_text(edit(CASES))
    result = winpod("test", ".", "--backend", "process", cwd=suite_dir)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"winpod: {message}")
    assert len(result.stderr.splitlines()) == 1


def test_no_matching_case_is_a_usage_error(suite_dir):
    result = winpod("test", ".", "-k", "nothing-like-this", "--backend", "process", cwd=suite_dir)
    assert result.returncode == 2
    assert result.stderr == "winpod: no fixture cases in . match -k 'nothing-like-this'\n"


def test_missing_path_is_a_usage_error(tmp_path):
    result = winpod("test", "no-such-dir", "--backend", "process", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, "winpod: no-such-dir: no such file or directory\n")


# --- winpod test --watch -----------------------------------------------------------


class Watcher:
    """A ``winpod test --watch`` subprocess whose output lines arrive, timestamped, on a queue."""

    def __init__(self, args: list[str], cwd: Path):
        self.process = subprocess.Popen([sys.executable, "-m", "harness.cli", *args], cwd=cwd, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1)
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def stop(self) -> int:
        """SIGTERM, as a supervisor stops it; its exit code."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=15)
        self._reader.join(timeout=5)
        self.process.stdout.close()
        return code

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put((time.monotonic(), line.rstrip("\n")))

    def wait_for(self, prefix: str, timeout: float = 30.0) -> float:
        """When the first line starting with ``prefix`` arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                arrived, line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return arrived
        raise AssertionError(f"no line starting with {prefix!r} within {timeout}s; output so far:\n"
                             + "\n".join(self.seen))

    def opa_pids(self) -> set[int]:
        children = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                children.add(int(stat.parent.name))
        return children


def save(path: Path, text: str) -> float:
    path.write_text(text)
    return time.monotonic()


def test_watch_reruns_within_a_second_of_a_save_and_reloads_over_rest(suite_dir, tmp_path_factory):
    policies = tmp_path_factory.mktemp("policies")
    shutil.copytree(REPO_ROOT / "policies", policies, dirs_exist_ok=True)
    config = suite_dir / "config.yaml"
    config.write_text(textwrap.dedent("""\
        apiVersion: winpod-guard/v1alpha1
        kind: PolicyConfig
        constraints: [{name: users, rule: users}, {name: hostprocess, rule: hostprocess}]
        """))
    cases = suite_dir / "cases.yaml"
    cases.write_text(CASES.replace("config: builtin", "config: config.yaml"))
    watcher = Watcher(["test", ".", "--watch", "--backend", "process", "--policies", str(policies)], suite_dir)
    try:
        watcher.wait_for("1 passed, 1 failed")
        watcher.wait_for("watching ")
        [opa] = watcher.opa_pids()

        saved = save(cases, CASES.replace("config: builtin", "config: config.yaml")
                     .replace("allowed: false\n      violations: [hostpath.not-allowed]", "allowed: true"))
        # How soon it answers is a benchmark figure (the closing note), not an assertion here.
        assert watcher.wait_for("2 passed, 0 failed") > saved

        # The config is re-read and PUT again: users is now a warning, so the admin pod is allowed.
        saved = save(config, config.read_text().replace("rule: users}", "rule: users, enforcementAction: warn}"))
        assert watcher.wait_for("1 passed, 1 failed") > saved

        broken = policies / "winpod" / "broken.rego"
        save(broken, "package winpod.broken\n\nx := \n")
        watcher.wait_for("winpod: policies do not compile")
        broken.unlink()
        watcher.wait_for("1 passed, 1 failed")

        assert watcher.opa_pids() == {opa}, "the watch loop must reload, not restart, OPA"
    finally:
        code = watcher.stop()
    assert code == 128 + signal.SIGTERM  # stopped, whatever the last run found
    with pytest.raises(ProcessLookupError):
        os.kill(opa, 0)


# --- winpod check --------------------------------------------------------------------

MANIFESTS = """\
apiVersion: v1
kind: Pod
metadata: {name: admin, namespace: tenant-a}
spec:
  os: {name: windows}
  containers:
    - name: app
      image: mcr.microsoft.com/windows/servercore:ltsc2022
      securityContext: {windowsOptions: {runAsUserName: ContainerAdministrator}}
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: tenant-a}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: tenant-a}
    spec:
      template:
        spec:
          os: {name: windows}
          securityContext: {windowsOptions: {runAsUserName: ContainerUser}}
          containers: [{name: web, image: mcr.microsoft.com/windows/servercore:ltsc2022}]
---
"""


def test_check_decides_every_object_and_exits_1_when_one_is_denied(tmp_path):
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    (tmp_path / "job.json").write_text(json.dumps({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "report", "namespace": "tenant-a"},
        "spec": {"template": {"spec": {"volumes": [{"name": "h", "hostPath": {"path": "/var/log"}}],
                                       "containers": [{"name": "r", "image": "busybox"}]}}}}))
    result = winpod("check", ".", "--backend", "process", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    verdicts = [line for line in result.stdout.splitlines() if not line.startswith("    ")]
    assert verdicts == [
        "app.yaml document 1 (line 1): Pod/tenant-a/admin: denied",
        "app.yaml document 2 item 0 (line 14): Service/tenant-a/web: allowed",
        "app.yaml document 2 item 1 (line 17): Deployment/tenant-a/web: allowed",
        "job.json document 1 (line 1): Job/tenant-a/report: denied",
        "4 objects: 2 allowed, 2 denied",
    ]
    # "    <action> <code> [<constraint>] <field>: <msg>"; the built-in config names its own constraints.
    details = [re.fullmatch(r"    (\S+) (\S+) \[\S+\] (\S+): .+", line).groups()
               for line in result.stdout.splitlines() if line.startswith("    ")]
    assert details == [
        ("deny", "users.not-allowed", "spec.containers[0].securityContext.windowsOptions.runAsUserName"),
        ("deny", "hostpath.not-allowed", "spec.template.spec.volumes[0].hostPath.path"),
    ]


def test_check_stdin_all_allowed_exits_0_with_json():
    deployment = MANIFESTS.split("---\n")[1]
    result = winpod("check", "--backend", "process", "--format", "json", stdin=deployment)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"] == {"objects": 2, "allowed": 2, "denied": 0}
    assert [(o["source"], o["document"], o["item"], o["kind"], o["allowed"], o["violations"])
            for o in report["objects"]] == [("<stdin>", 1, 0, "Service", True, []),
                                            ("<stdin>", 1, 1, "Deployment", True, [])]


def test_check_with_a_config(tmp_path):
    (tmp_path / "app.yaml").write_text(MANIFESTS.split("---\n")[0])
    (tmp_path / "config.yaml").write_text(
        "apiVersion: winpod-guard/v1alpha1\nkind: PolicyConfig\n"
        "constraints: [{name: legacy, rule: users, enforcementAction: warn}, {name: hostprocess, rule: hostprocess}]\n")
    result = winpod("check", "app.yaml", "--config", "config.yaml", "--backend", "process", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "app.yaml document 1 (line 1): Pod/tenant-a/admin: allowed"
    assert result.stdout.splitlines()[1].startswith("    warn users.not-allowed [legacy] ")


def test_check_malformed_documents_exit_2_naming_file_and_document(tmp_path):
    (tmp_path / "bad.yaml").write_text(MANIFESTS + "- just\n- a list\n---\nmetadata: {name: x}\n---\nkind: [\n")
    result = winpod("check", "bad.yaml", "--backend", "process", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    first, second, third = result.stderr.splitlines()
    assert first == "winpod: bad.yaml document 3 (line 27): expected a Kubernetes object (a mapping), got a list"
    assert second == "bad.yaml document 4 (line 30): expected a Kubernetes object, it has no kind"
    # The wording is libyaml's or PyYAML's, whichever parses; the place is ours.
    assert third.startswith("bad.yaml document 5 (line 33): invalid YAML: ")


def test_nothing_below_the_cli_imports_it():
    # The layers of DESIGN.md "Harness": the command line uses the rest, never the other way round.
    importers = []
    for path in sorted((REPO_ROOT / "harness").rglob("*.py")):
        if (REPO_ROOT / "harness" / "cli") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            # ``from harness import cli`` names the module as harness.cli too.
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [f"{node.module}.{a.name}" for a in node.names] if isinstance(node, ast.ImportFrom) else []
            importers += [f"{path.relative_to(REPO_ROOT)}: {n}" for n in names if n.split(".")[:2] == ["harness", "cli"]]
    assert importers == []
