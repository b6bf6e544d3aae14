"""Shared fixtures: one OPA container per session, the ``docker`` marker, and a leftover check.

Tests marked ``docker`` are skipped when no Docker engine answers, unless
WINPOD_REQUIRE_DOCKER=1 (CI), which turns the skip into a failure; the session's
OPA then runs as a local process. At the end of the session no container and no
process this session started may be left; if one is, the run fails.
"""

import functools
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import DockerUnavailable
from harness.opa import LABEL, POLICIES, RUN_ID_ENV, RUN_LABEL, OpaServer, docker_client

REQUIRE_DOCKER_ENV = "WINPOD_REQUIRE_DOCKER"
# CI sets it: every test is required there, so a skip of any cause fails the run.
FORBID_SKIPS_ENV = "WINPOD_FORBID_SKIPS"


def pytest_configure(config: pytest.Config) -> None:
    # Inherited by every process the session starts, and put on every
    # container as a label: how the leftover check recognises what is ours.
    # Always a new one: a pytest run inside a test must not claim (and reap)
    # its parent's servers.
    os.environ[RUN_ID_ENV] = f"pytest-{uuid.uuid4().hex[:12]}"


@functools.cache
def docker_problem() -> str | None:
    """Why no Docker engine can be used, or None when one answers."""
    try:
        docker_client().close()
    except DockerUnavailable as exc:
        return str(exc)
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is None:
        return
    problem = docker_problem()
    if problem is None:
        return
    if os.environ.get(REQUIRE_DOCKER_ENV) == "1":
        pytest.fail(f"{problem}, and {REQUIRE_DOCKER_ENV}=1 forbids skipping the container tests", pytrace=False)
    pytest.skip(problem)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and os.environ.get(FORBID_SKIPS_ENV) == "1":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped ({reason}), and {FORBID_SKIPS_ENV}=1 forbids skipping a required test"


@pytest.fixture(scope="session")
def opa_session() -> Iterator[OpaServer]:
    """One OPA for the whole session with the repository's policies loaded.

    A container when an engine answers (always, in CI); else a local ``opa``
    process, so the policy tests run on a machine without Docker too and only
    the tests about containers skip.
    """
    problem = docker_problem()
    if problem is not None and os.environ.get(REQUIRE_DOCKER_ENV) == "1":
        pytest.fail(f"{problem}, and {REQUIRE_DOCKER_ENV}=1 forbids falling back to a local opa", pytrace=False)
    with (OpaServer.docker() if problem is None else OpaServer.process()) as server:
        server.load_policies(POLICIES)
        yield server


@pytest.fixture
def opa(opa_session: OpaServer) -> Iterator[OpaServer]:
    """The session's OPA; whatever config a test puts, the next test starts from the built-in default."""
    yield opa_session
    opa_session.reset_config()


def run_processes(run_id: str) -> dict[int, str]:
    """Live processes (pid: command line) whose environment carries ``run_id``, this one excepted."""
    needle = f"{RUN_ID_ENV}={run_id}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return found


def run_containers(run_id: str) -> list:
    client = docker_client()
    try:
        return client.containers.list(all=True, filters={"label": [LABEL, f"{RUN_LABEL}={run_id}"]})
    finally:
        client.close()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # trylast: after the runner has torn down the session fixtures.
    run_id = os.environ[RUN_ID_ENV]
    leftovers = []
    if Path("/proc").is_dir():
        for pid, command in run_processes(run_id).items():
            leftovers.append(f"process {pid}: {command}")
            os.kill(pid, signal.SIGKILL)
    if docker_problem() is None:
        for container in run_containers(run_id):
            leftovers.append(f"container {container.name} ({container.status})")
            container.remove(force=True)
    if leftovers:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_line("this test session left behind (now removed):", red=True)
        for line in leftovers:
            reporter.write_line(f"  {line}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
