"""Ctrl-C and SIGTERM at any moment of a start: the exit code says which, and nothing is left running.

A supervisor (systemd, Kubernetes, CI runners) stops a job with SIGTERM, a
person with Ctrl-C; either may come while the harness is still importing,
asking the engine for a container, starting it or loading the policies. Each
try here starts ``winpod serve`` as a user would, signals it after a delay
spread over the whole start window, and then looks for what it may have left:
a container carrying the try's run label, or a process carrying its run id.
"""

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import run_containers, run_processes

from harness.opa import RUN_ID_ENV

DATA = Path(__file__).parent / "data" / "opa"
TRIES = 20
# A start here takes 1-3 s to print its URL; delays run a little past that so
# the last tries land on a server that is up (the common Ctrl-C of `serve`).
WINDOW = 3.0


def _start(run_id: str, backend: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "serve", "--backend", backend, "--policies", str(DATA / "decision")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, RUN_ID_ENV: run_id},
    )


def _leftovers(run_id: str, backend: str) -> list[str]:
    """What the try left, removed once seen (the session's own check knows only its run id)."""
    # The engine may still be finishing a removal the harness asked for.
    deadline = time.monotonic() + 10
    while True:
        processes = run_processes(run_id)
        containers = run_containers(run_id) if backend == "docker" else []
        if (not processes and not containers) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for pid in processes:
        os.kill(pid, signal.SIGKILL)
    for container in containers:
        container.remove(force=True)
    return [f"process {pid}: {command}" for pid, command in processes.items()] + [
        f"container {c.name} ({c.status})" for c in containers]


@pytest.mark.parametrize("backend", [
    pytest.param("docker", marks=pytest.mark.docker),
    pytest.param("process"),
])
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_signal_at_any_moment_of_a_start_exits_128_plus_it_and_leaves_nothing(backend: str,
                                                                                stop: signal.Signals) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    # One delay in each twentieth of the window, at a random point of it.
    delays = [(i + rng.random()) * WINDOW / TRIES for i in range(TRIES)]
    problems = []
    early = 0
    for delay in delays:
        run_id = f"signals-{uuid.uuid4().hex[:12]}"
        server = _start(run_id, backend)
        time.sleep(delay)
        server.send_signal(stop)
        try:
            _, err = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            _, err = server.communicate()
            problems.append(f"{delay:.2f}s: still running 60 s after {stop.name}")
            continue
        problems += [f"{delay:.2f}s: left {thing}" for thing in _leftovers(run_id, backend)]
        if _in_interpreter_start_up(err):
            early += 1
            continue
        # Before main() installs its handlers, SIGTERM's default action ends the
        # process, which a shell reports as 143 too.
        if server.returncode not in (128 + stop, -stop):
            problems.append(f"{delay:.2f}s: exit {server.returncode}, stderr {err[-300:]!r}")
        if "Traceback" in err:
            problems.append(f"{delay:.2f}s: a traceback on stderr: {err[-300:]!r}")
    assert not problems, f"seed {seed}:\n" + "\n".join(problems)
    assert early <= 2, f"seed {seed}: {early} of {TRIES} signals came before the harness ran, which tests nothing"


def _in_interpreter_start_up(err: str) -> bool:
    """Python's own Ctrl-C traceback from before the first line of the harness runs (site, runpy, importlib)."""
    return "Traceback" in err and err.rstrip().endswith("KeyboardInterrupt") and "/harness/" not in err
