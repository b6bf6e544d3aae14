"""``winpod serve`` as a user runs it: a real process, a real OPA, stopped by a signal."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from test_opa_faults import containers_of

from harness.opa import OpaClient

DATA = Path(__file__).parent / "data" / "opa"


def serve(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harness.cli", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("backend, stop", [
    pytest.param("docker", signal.SIGINT, id="docker-ctrl-c", marks=pytest.mark.docker),
    pytest.param("process", signal.SIGTERM, id="process-sigterm"),
])
def test_serve_answers_until_stopped_then_leaves_nothing(backend: str, stop: signal.Signals) -> None:
    server = serve("--backend", backend, "--policies", str(DATA / "decision"))
    try:
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), server.stderr.read()
        client = OpaClient(url)
        try:
            assert client.decide({"metadata": {"name": "denied"}})["allowed"] is False
        finally:
            client.close()
        server.send_signal(stop)
        out, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    # A shell's 130 / 143: serving ends only when something stops it.
    assert (server.returncode, out) == (128 + stop, "")
    assert err.startswith(f"winpod: serving {DATA / 'decision'} with the built-in default config (")
    assert err.endswith(f"; Ctrl-C stops it\nwinpod: stopped by {stop.name}\n")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/health", timeout=5)


def test_serve_refuses_a_policy_that_does_not_compile() -> None:
    bad = DATA / "broken" / "bad.rego"
    row = next(i for i, line in enumerate(bad.read_text().splitlines(), 1) if line.startswith("}"))
    server = serve("--backend", "process", "--policies", str(DATA / "broken"))
    out, err = server.communicate(timeout=60)
    assert (server.returncode, out) == (2, "")
    assert err == f"winpod: policies do not compile: {bad}:{row}:1: rego_parse_error: unexpected }} token\n"


def test_serve_refuses_image_with_the_process_backend() -> None:
    server = serve("--backend", "process", "--image", "x")
    out, err = server.communicate(timeout=60)
    assert (server.returncode, out, err) == (2, "", "winpod: --image, --host-network and --opa-memory apply to --backend docker only\n")


@pytest.mark.docker
def test_serve_puts_the_memory_limit_it_is_given_on_the_container() -> None:
    server = serve("--opa-memory", "256m", "--policies", str(DATA / "decision"))
    try:
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), server.stderr.read()
        (container,) = containers_of(server.pid)
        assert (container.attrs["HostConfig"]["Memory"], container.attrs["HostConfig"]["MemorySwap"]) == (256 * 1024**2,) * 2
        client = OpaClient(url)
        try:
            assert client.decide({"metadata": {"name": "denied"}})["allowed"] is False
        finally:
            client.close()
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 128 + signal.SIGTERM
    assert ", memory limit 256m); Ctrl-C stops it\n" in err
