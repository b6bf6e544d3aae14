"""``make demo`` on a fresh machine: no Docker engine, yet the demo runs and shows what the policies do.

The expected verdicts, messages and counts come from the fixture files' own
expectations; the demo prints what OPA decided. They agree only if the demo
reports the decisions faithfully (and every case passes).
"""

import os
import re
import subprocess
import sys
from collections import Counter

import pytest
from test_opa_faults import dead_docker_socket  # noqa: F401 - a fixture, used by name

from harness import rules
from harness.fixtures import load_fixtures
from harness.tools import REPO_ROOT

FIXTURES = REPO_ROOT / "fixtures"
CASE_LINE = re.compile(r"^  (allowed|denied) +(\S+)(?:  \(and (\d+) more forms of it\))?$")
MESSAGE_LINE = re.compile(r"^ {13}(deny|warn|dryrun) (\S+) \[([^\]]+)\]: .+$")


def demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", "demo", *args], capture_output=True, text=True,
                          timeout=300, check=False)


def _blocks(out: str) -> dict[tuple[str, str], tuple[str, int, list[tuple[str, str, str]]]]:
    """(file, case): (verdict, more forms, [(action, code, constraint)]) from the guidance part of the output."""
    blocks: dict = {}
    current_file = current = None
    for line in out.split("\n\nThe whole corpus:")[0].splitlines():
        if line.endswith(".yaml") and not line.startswith(" "):
            current_file = line
        elif found := CASE_LINE.match(line):
            current = (current_file, found.group(2))
            blocks[current] = (found.group(1), int(found.group(3) or 0), [])
        elif found := MESSAGE_LINE.match(line):
            blocks[current][2].append(found.groups())
    return blocks


@pytest.mark.usefixtures("dead_docker_socket")
def test_demo_without_an_engine_falls_back_and_shows_verdicts_messages_and_counts() -> None:
    done = demo()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert done.stderr == (
        f"winpod demo: no Docker engine answers at {os.environ['DOCKER_HOST']} (Connection refused), so OPA runs "
        "here as a local process; for the container path, start a Docker engine and run `make demo` again\n")

    suite = load_fixtures([str(FIXTURES)])
    guidance = [c for c in suite.cases if c.file.parent == FIXTURES / "guidance"]
    forms = Counter((c.file.name, c.name.split("[")[0]) for c in guidance)
    blocks = _blocks(done.stdout)
    assert set(blocks) == set(forms)
    for case in guidance:
        key = (case.file.name, case.name.split("[")[0])
        shown, more, messages = blocks[key]
        assert shown == ("allowed" if case.expect.allowed else "denied"), key
        assert more == forms[key] - 1, key
        if case.expect.violations is not None:
            # Every violation matches a pattern and every pattern a violation (fixtures/README.md).
            for action, code, constraint in messages:
                assert any(p.code == code and p.constraint in (None, constraint)
                           and p.enforcement_action in (None, action) for p in case.expect.violations), (key, code)
            assert {p.code for p in case.expect.violations} == {code for _, code, _ in messages}, key

    pinned = [c for c in suite.cases if c.expect.violations is not None]
    per_rule = Counter(rule for c in pinned for rule in {p.code.split(".")[0] for p in c.expect.violations})
    denied = sum(c.expect.allowed is False for c in suite.cases)
    width = max(len(rule) for rule in rules.names())
    expected = [f"The whole corpus: {len(suite.cases)} cases, {denied} denied, {len(suite.cases) - denied} allowed.",
                "Cases in which each rule reports a violation:"]
    expected += [f"  {rule:<{width}}  {per_rule[rule]}" for rule in rules.names()]
    expected.append(f"  and {len(suite.cases) - len(pinned)} cases that check only the verdict (fail-closed input: "
                    "any rule may be the one that denies it)")
    assert "\n".join(expected) in done.stdout
    assert re.search(rf"\n{len(suite.cases)} passed, 0 failed in \d+\.\d\ds\n$", done.stdout)


@pytest.mark.docker
def test_demo_with_an_engine_runs_opa_in_a_container_and_says_nothing_of_a_fallback() -> None:
    done = demo()
    assert (done.returncode, done.stderr) == (0, "")


def test_make_demo_runs_the_demo_command() -> None:
    # -n: what make would run, not run it (the tools and .venv are built by then). Under
    # `make test` this is a nested make, which would otherwise announce its directory.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    done = subprocess.run(["make", "-n", "--no-print-directory", "demo"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"{REPO_ROOT}/.venv/bin/winpod demo fixtures/"
