"""The cluster's processes and working directory, reaped the way the OPA backends reap.

Every component runs in its own process group (so a stop reaches anything it
forks) with the kernel's parent-death signal set, so a harness killed with
SIGKILL takes them with it. The working directory (certificates, etcd's data)
records its owner the way OPA's containers do in labels; a start removes the
directories whose owner is gone.
"""

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.errors import ClusterError
from harness.opa.process import die_with_parent
from harness.owners import OWNER_PID_LABEL, owner_alive, owner_labels

logger = logging.getLogger(__name__)

WORKDIR_PREFIX = "winpod-cluster-"
_OWNER_FILE = "owner.json"
_LOG_TAIL = 15


def make_workdir() -> Path:
    """A fresh private directory for one cluster, after removing those of dead owners."""
    reap_stale_workdirs()
    directory = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
    (directory / _OWNER_FILE).write_text(json.dumps(owner_labels()), encoding="utf-8")
    return directory


def reap_stale_workdirs(parent: Path | None = None) -> None:
    for directory in Path(parent or tempfile.gettempdir()).glob(WORKDIR_PREFIX + "*"):
        try:
            owner = json.loads((directory / _OWNER_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # being created right now, or not ours
        if isinstance(owner, dict) and not owner_alive(owner):
            shutil.rmtree(directory, ignore_errors=True)
            logger.info("removed stale cluster directory %s (its owner, pid %s, is gone)", directory, owner.get(OWNER_PID_LABEL))


class Component:
    """One binary of the cluster running as a child process, its output in a log file."""

    def __init__(self, name: str, binary: Path, args: list[str], log: Path, env: dict[str, str] | None = None):
        self.name = name
        self.binary = binary
        self.log = log
        with log.open("wb") as out:
            try:
                self._process = subprocess.Popen(
                    [str(binary), *args], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    env={**os.environ, **(env or {})}, start_new_session=True,
                    preexec_fn=die_with_parent() if sys.platform == "linux" else None,
                )
            except OSError as exc:
                raise ClusterError(f"{name} ({binary}) does not start: {exc.strerror}; "
                                   f"rebuild it with `make cluster-tools`") from exc
        logger.info("%s started, pid %d", name, self._process.pid)

    @property
    def pid(self) -> int:
        return self._process.pid

    def exit_code(self) -> int | None:
        return self._process.poll()

    def log_tail(self, lines: int = _LOG_TAIL) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"; its log is unavailable: {exc.strerror}"
        chosen = [line for line in text.splitlines() if line.strip()][-lines:]
        return f"; the end of its log ({self.log}):\n  " + "\n  ".join(chosen) if chosen else "; its log is empty"

    def check_running(self, doing: str) -> None:
        code = self.exit_code()
        if code is not None:
            raise ClusterError(f"{self.name} ({self.binary}) exited with code {code} {doing}{self.log_tail()}")

    def stop(self, grace: float = 5.0) -> None:
        if self._process.poll() is None:
            try:
                os.killpg(self._process.pid, signal.SIGTERM)
                self._process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
            except ProcessLookupError:
                self._process.wait()
