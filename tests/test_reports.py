"""Reports that a hostile manifest cannot break: control characters, file names, parse failures, big runs.

A value of a manifest (a name, an image, a user) reaches the text reports, the
JUnit XML and the SARIF; here it carries an ANSI sequence (ESC), NUL, BEL,
NEL (C1), DEL and a bidirectional override. Each report must show them as
escapes, never as the characters, and stay readable by a real parser (expat
for JUnit, a SARIF library and RFC 3986 for SARIF).
"""

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest
from sarif import loader as sarif_loader
from test_cli import winpod

from harness.cli import audit, main
from harness.documents import DocumentError

# Everything a terminal could act on or XML 1.0 refuses, as the test sees it
# (independent of harness.report): C0 but LF, DEL, C1, the bidi controls.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# In the YAML below as YAML escapes; what a report shows for each, written out by hand.
NAME = r"web\e[31mX"
NAME_SHOWN = r"web\x1b[31mX"
NAMESPACE = r"ns\x85"
NAMESPACE_SHOWN = r"ns\x85"
USER = r"Admin\0\e[0m\a\x7f\u202e"
USER_SHOWN = r"Admin\x00\x1b[0m\x07\x7f\u202e"

POD = f"""\
apiVersion: v1
kind: Pod
metadata: {{name: "{NAME}", namespace: "{NAMESPACE}"}}
spec:
  os: {{name: windows}}
  containers:
    - name: app
      image: mcr.microsoft.com/windows/servercore:ltsc2022
      securityContext: {{windowsOptions: {{runAsUserName: "{USER}"}}}}
"""

# The case expects the pod allowed (it is not), so its failure carries OPA's messages.
FIXTURE = """\
apiVersion: winpod-guard/v1alpha1
kind: Fixture
base: pod.yaml
config: builtin
cases:
  - name: "esc\\e[2Jcase"
    expect: {allowed: true}
"""
CASE_SHOWN = r"cases.yaml::esc\x1b[2Jcase"


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    (tmp_path / "pod.yaml").write_text(POD)
    (tmp_path / "cases.yaml").write_text(FIXTURE)
    return tmp_path


def test_test_text_report_escapes_control_characters(hostile: Path) -> None:
    done = winpod("test", "cases.yaml", "--backend", "process", cwd=hostile)
    assert done.returncode == 1, done.stderr
    assert RAW_CONTROL.findall(done.stdout) == []
    assert f"FAILED {CASE_SHOWN} (line 6): expected allowed, got denied [users.not-allowed" in done.stdout
    assert f"Pod/{NAMESPACE_SHOWN}/{NAME_SHOWN}" in done.stdout
    assert USER_SHOWN in done.stdout


def test_junit_is_valid_xml_whatever_the_manifest_carries(hostile: Path) -> None:
    done = winpod("test", "cases.yaml", "--backend", "process", "--format", "junit", "-o", "report.xml", cwd=hostile)
    assert done.returncode == 1, done.stderr
    raw = (hostile / "report.xml").read_bytes()
    root = ET.fromstring(raw)  # expat: refuses any character XML 1.0 cannot carry
    (testcase,) = root.iter("testcase")
    assert testcase.get("name") == CASE_SHOWN
    failure = testcase.find("failure")
    assert USER_SHOWN in failure.text
    assert f"Pod/{NAMESPACE_SHOWN}/{NAME_SHOWN}" in failure.text
    assert RAW_CONTROL.findall(raw.decode()) == []


def test_check_text_escapes_control_characters(hostile: Path) -> None:
    done = winpod("check", "pod.yaml", "--backend", "process", cwd=hostile)
    assert done.returncode == 1, done.stderr
    assert RAW_CONTROL.findall(done.stdout) == []
    assert done.stdout.startswith(f"pod.yaml document 1 (line 1): Pod/{NAMESPACE_SHOWN}/{NAME_SHOWN}: denied\n")
    assert USER_SHOWN in done.stdout


def test_an_error_line_escapes_the_file_name_it_names(tmp_path: Path) -> None:
    (tmp_path / "bad\x1b[2J.yaml").write_text("kind: [\n")
    done = winpod("check", ".", "--backend", "process", cwd=tmp_path)
    assert done.returncode == 2
    assert RAW_CONTROL.findall(done.stderr) == []
    assert done.stderr.startswith(r"winpod: bad\x1b[2J.yaml document 1 (line ")


def test_audit_table_and_sarif_escape_control_characters(hostile: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(hostile)
    assert main(["audit", "pod.yaml", "--backend", "process"]) == 1
    table = capsys.readouterr().out
    assert RAW_CONTROL.findall(table) == []
    assert f"namespace {NAMESPACE_SHOWN}\n  Pod/{NAME_SHOWN}  (pod.yaml:9)\n" in table
    assert main(["audit", "pod.yaml", "--backend", "process", "--format", "sarif", "-o", "audit.sarif"]) == 1
    run = json.loads((hostile / "audit.sarif").read_text())["runs"][0]
    (result,) = run["results"]
    assert RAW_CONTROL.findall(json.dumps(result, ensure_ascii=False)) == []
    assert USER_SHOWN in result["message"]["text"]
    assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].startswith(
        f"Pod/{NAMESPACE_SHOWN}/{NAME_SHOWN}:spec.containers[0]")


# --- SARIF locations -----------------------------------------------------------------

# RFC 3986 section 4.2: a relative-path reference is segments of pchar (unreserved,
# pct-encoded, sub-delims, ":" and "@") joined by "/", with no ":" in the first one.
_PCHAR_CHARS = r"A-Za-z0-9\-._~!$&'()*+,;=@"
_SEGMENT_NZ_NC = rf"(?:[{_PCHAR_CHARS}]|%[0-9A-F]{{2}})+"
_SEGMENT = rf"(?:[{_PCHAR_CHARS}:]|%[0-9A-F]{{2}})*"
RELATIVE_PATH = re.compile(rf"{_SEGMENT_NZ_NC}(?:/{_SEGMENT})*")
ABSOLUTE_FILE = re.compile(rf"file://{_SEGMENT}(?:/{_SEGMENT})*")

DENIED = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes: [{name: h, hostPath: {path: /}}]\n"


def _sarif(args: list[str], target: Path) -> dict:
    assert main(["audit", *args, "--backend", "process", "--format", "sarif", "-o", str(target)]) == 2
    document = json.loads(target.read_text())
    sarif_loader.load_sarif_file(str(target))  # a maintained SARIF library reads it back
    return document


def test_sarif_uris_are_percent_encoded_and_parse_failures_are_results(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tmp_path / "tree"
    odd = Path("dir with space") / "a#b%c?d[e]:f é.yaml"
    (tree / odd.parent).mkdir(parents=True)
    (tree / odd).write_text(DENIED)
    not_utf8 = os.fsdecode(b"\xff-name.yaml")
    (tree / not_utf8).write_text(DENIED)
    # The broken document is the second: a key given twice, refused at the 8th line of the file.
    (tree / "broken.yaml").write_text(DENIED + "---\nkind: Pod\nkind: Pod\nmetadata: {name: q}\n")
    outside = tmp_path / "outside.yaml"
    outside.write_text(DENIED)
    monkeypatch.chdir(tree)
    run = _sarif([".", str(outside)], tmp_path / "audit.sarif")["runs"][0]

    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": tree.resolve().as_uri() + "/"}}
    locations = [r["locations"][0]["physicalLocation"] for r in run["results"]]
    relative = [loc["artifactLocation"] for loc in locations if "uriBaseId" in loc["artifactLocation"]]
    for where in relative:
        assert where["uriBaseId"] == "%SRCROOT%"
        assert RELATIVE_PATH.fullmatch(where["uri"]), where["uri"]
    assert sorted(unquote_to_bytes(where["uri"]) for where in relative) == sorted(
        [os.fsencode(name) for name in ("broken.yaml", "broken.yaml", odd.as_posix(), not_utf8)])
    absolute = [loc["artifactLocation"]["uri"] for loc in locations if "uriBaseId" not in loc["artifactLocation"]]
    assert absolute == [outside.resolve().as_uri()]
    assert ABSOLUTE_FILE.fullmatch(absolute[0])

    (unreadable,) = [r for r in run["results"] if r["ruleId"] == "winpod.unreadable"]
    assert unreadable["level"] == "error"
    assert unreadable["message"]["text"].startswith("document 2 was not audited: ")
    assert unreadable["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "broken.yaml", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 8}}
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["hostpath.not-allowed", "winpod.unreadable"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])
    assert run["invocations"] == [{"executionSuccessful": False}]


# --- SARIF within GitHub's limits ------------------------------------------------------

LIMIT = 25_000  # docs.github.com: "Results per run: 25,000" (a larger run is rejected)


def _finding(i: int, action: str) -> audit.Finding:
    return audit.Finding(source="big.json", document=1, item=i, line=i + 1, namespace="ns", kind="Pod",
                         name=f"p{i}", container="app", rule="users", code="users.not-allowed",
                         constraint=f"c-{action}", enforcementAction=action, field="spec.containers[0]",
                         msg=f"pod {i}")


def _audit(findings: list[audit.Finding], errors: int = 0) -> audit.Audit:
    return audit.Audit(scanned=len(findings), skipped={}, findings=findings,
                       errors=[DocumentError("big.json", 1, 1, f"bad {i}") for i in range(errors)])


def _write(result: audit.Audit, path: Path) -> dict:
    with path.open("w") as out:
        audit.write_sarif(result, out)
    sarif_loader.load_sarif_file(str(path))
    return json.loads(path.read_text())


def test_a_run_over_githubs_limit_keeps_the_most_severe_and_says_how_many_are_left_out(tmp_path: Path) -> None:
    # Warnings first in the input: what is kept must not depend on the order.
    findings = [_finding(i, "warn") for i in range(LIMIT)] + [_finding(LIMIT + i, "deny") for i in range(3)]
    (run,) = _write(_audit(findings, errors=2), tmp_path / "big.sarif")["runs"]
    assert len(run["results"]) == LIMIT
    levels = [r["level"] for r in run["results"]]
    assert levels.count("error") == 5  # the 2 unreadable documents and the 3 denials, all kept
    assert {r["ruleId"] for r in run["results"] if r["level"] == "error"} == {"users.not-allowed",
                                                                               "winpod.unreadable"}
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    left_out = LIMIT + 3 + 2 - LIMIT
    assert note["message"]["text"].startswith(f"{left_out:,} of {LIMIT + 5:,} results left out: GitHub code "
                                              f"scanning refuses a run of more than {LIMIT:,} results.")
    assert run["properties"] == {"results": LIMIT + 5, "resultsLeftOut": left_out}


def test_a_run_at_githubs_limit_is_whole_and_carries_no_note(tmp_path: Path) -> None:
    (run,) = _write(_audit([_finding(i, "deny") for i in range(LIMIT)]), tmp_path / "full.sarif")["runs"]
    assert len(run["results"]) == LIMIT
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert run["properties"] == {"results": LIMIT, "resultsLeftOut": 0}


def test_a_lone_surrogate_from_json_input_is_escaped_in_text_and_json_never_a_crash(tmp_path: Path) -> None:
    # JSON may carry "\ud800" (no UTF-8 text can): Python reads it as a lone surrogate.
    (tmp_path / "pod.json").write_text('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a\\ud800b"}, '
                                       '"spec": {"containers": []}}')
    text = winpod("check", "pod.json", "--backend", "process", cwd=tmp_path)
    assert (text.returncode, text.stderr) == (0, "")
    assert text.stdout.startswith("pod.json document 1 (line 1): Pod/default/a\\ud800b: allowed\n")
    done = winpod("check", "pod.json", "--backend", "process", "--format", "json", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["objects"][0]["name"] == "a\ud800b"


@pytest.mark.parametrize("closed, args, code", [
    pytest.param(1, ["check", "pod.yaml"], 1, id="stdout-closed-check-still-exits-1-on-a-denial"),
    pytest.param(1, ["test", "cases.yaml"], 1, id="stdout-closed-test-still-exits-1-on-a-mismatch"),
    pytest.param(0, ["check", "-"], 2, id="stdin-closed-reads-as-no-input"),
])
def test_a_closed_standard_stream_is_no_traceback(hostile: Path, closed: int, args: list[str], code: int) -> None:
    # The child closes the stream itself, as a shell's >&- or <&- would before exec.
    done = subprocess.run([sys.executable, "-m", "harness.cli", *args, "--backend", "process"], cwd=hostile,
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          timeout=120, preexec_fn=lambda: os.close(closed), check=False)
    assert done.returncode == code
    assert "Traceback" not in done.stderr
