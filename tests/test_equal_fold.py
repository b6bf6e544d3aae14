"""``lib.winpod.users.equal_fold`` is Go's ``strings.EqualFold`` (SPEC 1 "Case mappings").

OPA has no EqualFold built-in; the Rego builds it from Go's simple case
mappings. Go itself (a prerequisite of the project, like the pinned tools it
builds) prints its verdict on every character that has a case mapping or a
fold orbit, against each member of its orbit and each of its mappings, and
the real ``opa`` must give the same verdict on every pair - U+017F, U+212A,
U+0130 and U+0131 among them.
"""

import json
import shutil
import subprocess

from harness.tools import REPO_ROOT, tool_path

PROGRAM = REPO_ROOT / "tests" / "data" / "equalfold" / "main.go"
USERS = REPO_ROOT / "policies" / "lib" / "winpod" / "users" / "users.rego"
GLOBS = REPO_ROOT / "policies" / "lib" / "winpod" / "globs" / "globs.rego"


def go_pairs() -> list[dict]:
    go = shutil.which("go")
    assert go, "go is not on PATH: the project is built with Go (README), and this test asks Go's unicode tables"
    done = subprocess.run([go, "run", str(PROGRAM)], capture_output=True, text=True, timeout=300, check=False,
                          cwd=PROGRAM.parent)
    assert done.returncode == 0, f"go run {PROGRAM} failed: {done.stderr}"
    return json.loads(done.stdout)["pairs"]


def test_equal_fold_is_gos_on_every_case_mapped_character(tmp_path):
    pairs = go_pairs()
    by_char = {pair["a"] for pair in pairs}
    assert {"\u017f", "\u212a", "\u0130", "\u0131"} <= by_char
    assert {"equal": False, "a": "\u0130", "b": "i"} in pairs  # the pairs hold both verdicts
    given = tmp_path / "input.json"
    given.write_text(json.dumps({"pairs": pairs}), encoding="utf-8")
    done = subprocess.run(
        [str(tool_path("opa")), "eval", "--format", "json", "-d", str(USERS), "-d", str(GLOBS), "--input", str(given),
         "x := [p | some p in input.pairs; data.lib.winpod.users.equal_fold(p.a, p.b) != p.equal]"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    differing = json.loads(done.stdout)["result"][0]["bindings"]["x"]
    assert differing == [], f"{len(differing)} of {len(pairs)} pairs differ from Go, e.g. {differing[:5]}"
