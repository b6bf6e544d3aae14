"""Faults of the OPA server's life: each ends in a clear error (or a clean reap) and leaves nothing running."""

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import requests

from harness.errors import DockerUnavailable, OpaError
from harness.opa import OWNER_PID_LABEL, RUN_ID_ENV, OpaServer

DATA = Path(__file__).parent / "data" / "opa"
BACKENDS = [pytest.param(OpaServer.docker, id="docker", marks=pytest.mark.docker),
            pytest.param(OpaServer.process, id="process")]


def containers_of(pid: int) -> list:
    client = docker.from_env()
    try:
        return client.containers.list(all=True, filters={"label": f"{OWNER_PID_LABEL}={pid}"})
    finally:
        client.close()


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def nothing_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the test, this process runs the same containers and child processes as before it."""
    engine = request.node.get_closest_marker("docker") is not None
    before = (children_of(os.getpid()), [c.id for c in containers_of(os.getpid())] if engine else [])
    yield
    assert (children_of(os.getpid()), [c.id for c in containers_of(os.getpid())] if engine else []) == before


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else already listens on (and never answers)."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        yield squatter.getsockname()[1]


@pytest.fixture
def dead_docker_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DOCKER_HOST at a unix socket nobody listens on: the real client fails to connect."""
    path = tmp_path / "docker.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    return path


def test_docker_unreachable_says_so_and_names_the_process_backend(dead_docker_socket: Path) -> None:
    with pytest.raises(DockerUnavailable) as caught:
        with OpaServer.docker():
            pass
    assert str(caught.value) == (
        f"no Docker engine answers at unix://{dead_docker_socket} (Connection refused); "
        "start one, or use --backend process"
    )


def test_docker_unreachable_on_the_command_line_is_one_line_and_exit_2(dead_docker_socket: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "harness.cli", "serve", "--policies", str(DATA / "decision")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"winpod: no Docker engine answers at unix://{dead_docker_socket} (Connection refused); "
        "start one, or use --backend process\n"
    )


@pytest.mark.docker
@pytest.mark.parametrize("binary, problem", [
    pytest.param(Path("/bin/true").resolve(), "is dynamically linked", id="dynamic-elf"),
    pytest.param(None, "is not an ELF executable", id="script"),
])
def test_no_image_when_it_can_be_neither_pulled_nor_built(binary: Path | None, problem: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, nothing_left: None) -> None:
    if binary is None:
        binary = tmp_path / "opa"
        binary.write_text("#!/bin/sh\necho 'Version: 0.0.0'\n")
        binary.chmod(0o755)
    monkeypatch.setenv("WINPOD_OPA", str(binary))
    # Port 1 on localhost: a registry that refuses at once, and traffic that never leaves the machine.
    image = "localhost:1/winpod-guard/missing:0"
    with pytest.raises(OpaError) as caught:
        with OpaServer.docker(image):
            pass
    message = str(caught.value)
    assert message.startswith(f"no OPA image: {image} is not present locally, pulling it failed (")
    assert "connection refused" in message
    assert message.endswith(f"and building one failed: {binary} {problem}, so it cannot run in a FROM scratch image")


@pytest.mark.docker
def test_a_pull_that_hangs_gives_up_at_its_timeout(monkeypatch: pytest.MonkeyPatch, taken_port: int) -> None:
    monkeypatch.setenv("WINPOD_OPA", "/bin/true")
    started = time.monotonic()
    with pytest.raises(OpaError, match=r"pulling it failed \(timed out after 1s\)"):
        with OpaServer.docker(f"127.0.0.1:{taken_port}/winpod-guard/missing:0", pull_timeout=1):
            pass
    # Generous on purpose: the point is that it ends at all (the SDK's own pull never times out).
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("start", BACKENDS)
def test_a_port_taken_before_opa_binds_it(start, taken_port: int, nothing_left: None) -> None:
    with pytest.raises(OpaError) as caught:
        with start(port=taken_port):
            pass
    message = str(caught.value)
    assert message.startswith("OPA exited at start with code 1 (")
    assert f"listen tcp 127.0.0.1:{taken_port}: bind: address already in use" in message


@pytest.mark.parametrize("start", BACKENDS)
def test_opa_exiting_at_start_carries_its_log(start, nothing_left: None) -> None:
    with pytest.raises(OpaError) as caught:
        with start(opa_args=["--no-such-flag"]):
            pass
    message = str(caught.value)
    assert message.startswith("OPA exited at start with code 1 (")
    assert "; its log:\n  Error: unknown flag: --no-such-flag" in message


@pytest.mark.parametrize("start", BACKENDS)
def test_a_policy_that_does_not_compile_names_file_row_col_and_stops_the_server(start, nothing_left: None) -> None:
    bad = DATA / "broken" / "bad.rego"
    lines = bad.read_text().splitlines()
    # The parser stops at the first token that cannot follow the dangling "==".
    row = next(i for i, line in enumerate(lines, 1) if line.startswith("}"))
    with pytest.raises(OpaError) as caught:
        with start() as opa:
            url = opa.url
            opa.load_policies(DATA / "broken")
    assert str(caught.value) == f"policies do not compile: {bad}:{row}:1: rego_parse_error: unexpected }} token"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/health", timeout=5)


def _child(script: str, run_id: str) -> subprocess.Popen:
    """A harness process of its own that prints its server's URL once it is up."""
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, RUN_ID_ENV: run_id},
    )
    with child.stdout:
        url = child.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), f"child did not start: {url!r}"
    return child


_SERVE_FOREVER = """
    import signal, sys, time
    from harness.opa import OpaServer
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with OpaServer.{backend}() as opa:
        print(opa.url, flush=True)
        while True:
            time.sleep(1)
"""


@pytest.mark.docker
def test_a_start_reaps_the_container_of_a_killed_run_but_not_of_a_live_one() -> None:
    run_id = os.environ[RUN_ID_ENV]
    killed = _child(_SERVE_FOREVER.format(backend="docker"), run_id)
    alive = _child(_SERVE_FOREVER.format(backend="docker"), run_id)
    try:
        killed.kill()
        killed.wait()
        assert len(containers_of(killed.pid)) == 1  # SIGKILL left it behind
        with OpaServer.docker():
            assert containers_of(killed.pid) == []
            assert len(containers_of(alive.pid)) == 1
    finally:
        alive.terminate()
        alive.wait(timeout=30)
    assert containers_of(alive.pid) == []


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_a_killed_run_takes_its_opa_process_with_it() -> None:
    child = _child(_SERVE_FOREVER.format(backend="process"), os.environ[RUN_ID_ENV])
    (opa,) = children_of(child.pid)
    child.kill()
    child.wait()
    assert gone(opa, within=5)


@pytest.mark.parametrize("required, exit_code, outcome", [
    pytest.param("", 0, "1 skipped", id="skipped"),
    pytest.param("1", 1, "1 error", id="required"),
])
def test_container_tests_skip_without_an_engine_unless_required(dead_docker_socket: Path, monkeypatch: pytest.MonkeyPatch,
                                                                required: str, exit_code: int, outcome: str) -> None:
    monkeypatch.setenv("WINPOD_REQUIRE_DOCKER", required)
    # CI forbids skips in its own run; this inner run is about the skip itself.
    monkeypatch.delenv("WINPOD_FORBID_SKIPS", raising=False)
    target = f"{Path(__file__).name}::test_a_pull_that_hangs_gives_up_at_its_timeout"
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", target],
                          cwd=Path(__file__).parent, capture_output=True, text=True, timeout=120)
    assert done.returncode == exit_code, done.stdout
    assert "no Docker engine answers" in done.stdout
    assert ("WINPOD_REQUIRE_DOCKER=1 forbids skipping" in done.stdout) == bool(required)
    assert done.stdout.rstrip().splitlines()[-1].startswith(outcome)
