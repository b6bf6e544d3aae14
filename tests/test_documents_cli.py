"""Hostile and unreadable input through the commands: a clear line and exit 2, never a skip or a traceback."""

import ctypes
import json
import os
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path

import pytest
from test_documents_kubectl import BILLION_LAUGHS

from harness import manifests
from harness.cli import audit
from harness.documents import Document

POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: default}\nspec:\n  containers: [{name: c, image: x}]\n"
DENIED = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata: {name: admin, namespace: default}
    spec:
      os: {name: windows}
      securityContext:
        windowsOptions: {hostProcess: true, runAsUserName: "NT AUTHORITY\\\\SYSTEM"}
      hostNetwork: true
      containers: [{name: c, image: x}]
    """)

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _without_file_capabilities() -> None:
    # Tests run as root here, and root reads a mode-000 file: dropped from the bounding set
    # before exec, CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH are gone from the command, which
    # then meets file modes as any user does (as it would as the non-root user of CI).
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def winpod(*args: str, stdin: str | None = None, cwd: Path | None = None, **options) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, timeout=120, check=False,
                          preexec_fn=_without_file_capabilities if os.geteuid() == 0 else None, **options)


@pytest.fixture
def tree(tmp_path: Path):
    """A denied pod in a readable file, and a directory and a file no one may read."""
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "denied.yaml").write_text(DENIED)
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "denied.yaml").write_text(DENIED)
    (tmp_path / "secret.yaml").write_text(DENIED)
    (tmp_path / "locked").chmod(0)
    (tmp_path / "secret.yaml").chmod(0)
    yield tmp_path
    (tmp_path / "locked").chmod(0o755)
    (tmp_path / "secret.yaml").chmod(0o644)


def test_check_names_what_it_cannot_read_and_exits_2(tree):
    result = winpod("check", str(tree), "--backend", "process")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"winpod: {tree / 'locked'}: a directory that cannot be read: Permission denied",
        f"{tree / 'secret.yaml'}: cannot be read: Permission denied",
    ]


def test_audit_decides_the_rest_and_exits_2_on_what_it_cannot_read(tree):
    result = winpod("audit", str(tree), "--backend", "process", "--format", "json")
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    assert [f["name"] for f in report["findings"]] != [] and {f["name"] for f in report["findings"]} == {"admin"}
    assert {(e["source"], e["message"]) for e in report["errors"]} == {
        (str(tree / "locked"), "a directory that cannot be read: Permission denied"),
        (str(tree / "secret.yaml"), "cannot be read: Permission denied"),
    }


FIXTURE = textwrap.dedent("""\
    apiVersion: winpod-guard/v1alpha1
    kind: Fixture
    config: builtin
    base: {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: c, image: x}]}}
    cases:
    - name: plain
      expect: {allowed: true}
    """)


def test_an_unreadable_fixture_directory_is_an_error_not_vanished_cases(tmp_path):
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "a.yaml").write_text(FIXTURE)
    (tmp_path / "suite" / "more").mkdir()
    (tmp_path / "suite" / "more" / "b.yaml").write_text(FIXTURE.replace("allowed: true", "allowed: false"))
    (tmp_path / "suite" / "more").chmod(0)
    try:
        result = winpod("test", "suite", "--backend", "process", cwd=tmp_path)
    finally:
        (tmp_path / "suite" / "more").chmod(0o755)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == "winpod: suite/more: a directory that cannot be read: Permission denied\n"


def test_a_billion_laughs_is_refused_by_check_audit_and_test(tmp_path):
    (tmp_path / "lol.yaml").write_text(BILLION_LAUGHS)
    (tmp_path / "pod.yaml").write_text(POD % "a")
    checked = winpod("check", "lol.yaml", "pod.yaml", "--backend", "process", cwd=tmp_path)
    assert checked.returncode == 2
    # a to c decode about 1,000 nodes, 90% of them aliased; the first few aliases of c in d (line 8)
    # take the share past 99%.
    assert checked.stderr.startswith("winpod: lol.yaml document 1 (line 8): invalid YAML: document contains excessive "
                                     "aliasing (")
    audited = winpod("audit", "lol.yaml", "pod.yaml", "--backend", "process", cwd=tmp_path)
    assert audited.returncode == 2
    assert audited.stdout.splitlines()[-1] == "1 objects scanned; 0 with violations; 1 unreadable documents"
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "f.yaml").write_text(FIXTURE + "x:\n" + textwrap.indent(BILLION_LAUGHS, "  "))
    tested = winpod("test", "suite", "--backend", "process", cwd=tmp_path)
    assert tested.returncode == 2
    assert "document contains excessive aliasing" in tested.stderr and "Traceback" not in tested.stderr


class _Tracked(dict):
    """A manifest whose lifetime a test can see (a plain dict takes no weak reference)."""


@pytest.mark.docker
def test_audit_drops_what_it_decided_before_reading_far_ahead(opa):
    # The export is a generator: by the time it gives object n, objects decided two rounds
    # before are gone. The old audit took a list, holding every object to the end.
    alive: list[weakref.ref] = []
    held_at: list[int] = []

    def export():
        for index in range(5 * audit.ROUND):
            obj = _Tracked(json.loads(json.dumps({"apiVersion": "v1", "kind": "Pod",
                                                  "metadata": {"name": f"p{index}", "namespace": "default"},
                                                  "spec": {"containers": [{"name": "c", "image": "x"}]}})))
            alive.append(weakref.ref(obj))
            held_at.append(sum(ref() is not None for ref in alive))
            yield Document("export.json", 1, index + 1, obj, item=index)

    result = audit.audit(opa, export())
    assert result.scanned == 5 * audit.ROUND and not result.errors
    assert max(held_at) <= audit.ROUND + 1


def test_manifests_stream_gives_objects_one_file_at_a_time(tmp_path):
    for index in range(3):
        (tmp_path / f"{index}.yaml").write_text(POD % f"p{index}")
    found = manifests.stream([str(tmp_path)])
    (tmp_path / "2.yaml").write_text(POD % "changed")  # read when reached, not before
    assert [d.obj["metadata"]["name"] for d in found] == ["p0", "p1", "changed"]
