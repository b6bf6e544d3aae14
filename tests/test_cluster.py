"""The local cluster's own discipline (issue 13, "Bad input and faults"): clear errors, bounded waits, nothing left.

A separate module from test_admission, so no other cluster runs while these
count the processes and directories left behind.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from conftest import run_processes

from harness.cluster import LocalCluster, local
from harness.cluster.admission import OPA_ADMISSION_PATH, dry_run, opa_webhook_configuration
from harness.cluster.gatekeeper import apply_constraints, install_templates
from harness.cluster.local import GATEKEEPER_WEBHOOK
from harness.cluster.processes import WORKDIR_PREFIX, make_workdir
from harness.config import default_config
from harness.errors import ClusterError
from harness.opa import RUN_ID_ENV
from harness.tools import REPO_ROOT

pytestmark = pytest.mark.cluster


def _workdirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob(WORKDIR_PREFIX + "*"))


def _ours() -> dict[int, str]:
    return run_processes(os.environ[RUN_ID_ENV])


@pytest.fixture
def nothing_left():
    """Fails the test if a cluster process or working directory outlives it."""
    before = _workdirs()
    yield
    assert _workdirs() - before == set(), "a cluster directory was left behind"
    assert _ours() == {}, f"cluster processes left running: {_ours()}"


def test_a_binary_that_is_not_built_is_named_with_the_command_that_builds_it(monkeypatch, tmp_path, nothing_left):
    monkeypatch.setenv("WINPOD_KUBE_APISERVER", str(tmp_path / "missing"))
    with pytest.raises(ClusterError) as raised, LocalCluster():
        pass
    message = str(raised.value)
    assert message.startswith("kube-apiserver is not built") and "make cluster-tools" in message
    assert "\n" not in message


def test_a_port_taken_stops_the_start_with_the_components_log(monkeypatch, nothing_left):
    """etcd's client port already bound by someone else: etcd exits, and the error says so with its log."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = iter([taken.getsockname()[1]])
        real = local.free_port
        monkeypatch.setattr(local, "free_port", lambda: next(ports, None) or real())
        with pytest.raises(ClusterError) as raised, LocalCluster():
            pass
    message = str(raised.value)
    assert message.startswith(f"etcd ({local.tool_path('etcd')}) exited with code "), message
    assert "while starting" in message and "address already in use" in message


def test_a_slow_api_server_times_out_with_its_log_tail_and_is_torn_down(nothing_left):
    with pytest.raises(ClusterError) as raised, LocalCluster(apiserver_timeout=1.0):
        pass
    message = str(raised.value)
    assert "kube-apiserver was not ready at https://127.0.0.1:" in message and "within 1s" in message
    assert "; the end of its log (" in message or message.endswith("; its log is empty")


def test_a_harness_killed_by_sigkill_leaves_nothing(tmp_path):
    """The kernel kills the components with their parent; the next start removes the directory."""
    script = textwrap.dedent("""
        import sys, time
        from harness.cluster import LocalCluster, local
        with LocalCluster() as cluster:
            print(cluster.workdir, flush=True)
            time.sleep(600)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        workdir = Path(child.stdout.readline().strip())
        assert workdir.name.startswith(WORKDIR_PREFIX)
        components = {pid: command for pid, command in _ours().items() if pid != child.pid}
        assert any("kube-apiserver" in c for c in components.values()) and any("etcd" in c for c in components.values())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    deadline = time.monotonic() + 10
    while _ours() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _ours() == {}, "components outlived the harness killed by SIGKILL"
    assert workdir.is_dir()
    fresh = make_workdir()
    try:
        assert not workdir.exists(), "the next start did not remove the dead run's directory"
    finally:
        shutil.rmtree(fresh)


def _listening(pid: int) -> list[tuple[str, int]]:
    """The TCP addresses ``pid`` listens on, from /proc (no ss or netstat on every machine)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host order (little endian here).
            words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.append((socket.inet_ntop(socket.AF_INET if width == 8 else socket.AF_INET6, words), int(port, 16)))
    return found


def test_gatekeeper_stopped_fails_closed(nothing_left):
    """failurePolicy: Fail - with Gatekeeper gone, the API server refuses even a pod the policies allow."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
           "spec": {"os": {"name": "windows"}, "securityContext": {"windowsOptions": {"runAsUserName": "ContainerUser"}},
                    "containers": [{"name": "web", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}]}}
    with LocalCluster(gatekeeper=True) as cluster:
        install_templates(cluster)
        apply_constraints(cluster, default_config())
        before = dry_run(cluster.api, pod, "default")
        assert before.allowed, before.describe()
        # Everything a local cluster serves is on loopback (Gatekeeper's default metrics backend was not).
        for component in cluster.components:
            listening = _listening(component.pid)
            assert listening and all(host in ("127.0.0.1", "::1") for host, _ in listening), (component.name, listening)
        cluster.gatekeeper.stop()
        after = dry_run(cluster.api, pod, "default")
    assert not after.allowed and after.failed_webhook == GATEKEEPER_WEBHOOK, after.describe()


def test_the_readme_shows_the_webhook_configuration_the_tests_register():
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("### The webhook configuration for OPA", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    shown = yaml.safe_load(block)
    clients = shown["webhooks"][0]["clientConfig"]
    assert shown == opa_webhook_configuration(clients["url"], clients["caBundle"])
    assert clients["url"].endswith(OPA_ADMISSION_PATH)
