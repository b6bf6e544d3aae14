"""The process backend: ``opa run --server`` as a child that dies with the harness."""

import ctypes
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.errors import OpaError
from harness.opa import signals
from harness.tools import tool_path

_PR_SET_PDEATHSIG = 1


class ProcessBackend:
    def __init__(self, opa: str | Path | None):
        self._opa = opa
        self._process: subprocess.Popen | None = None
        self._log = None
        self.description = "process"

    def start(self, port: int, command: Callable[[str], list[str]], env: dict[str, str]) -> None:
        binary = Path(self._opa) if self._opa else tool_path("opa")
        # A file, not a pipe: nobody reads OPA's output while it serves, and a
        # full pipe would block it. Unlinked already, so nothing is left.
        self._log = tempfile.TemporaryFile()
        try:
            # A signal waits until the child is ours to stop (see signals.deferred).
            with signals.deferred():
                self._process = subprocess.Popen(
                    [str(binary), *command(f"127.0.0.1:{port}")],
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, **env},
                    stdout=self._log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=die_with_parent() if sys.platform == "linux" else None,
                )
        except OSError as exc:
            raise OpaError(f"cannot run {binary}: {exc.strerror}") from exc
        self.description = f"process {self._process.pid} of {binary}"

    def exit_code(self) -> int | None:
        return self._process.poll()

    def exit_reason(self) -> str | None:
        code = self._process.poll() if self._process is not None else None
        return None if code is None else f"OPA exited with code {code}"

    def logs(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def wait(self) -> int:
        return self._process.wait()

    def stop(self) -> None:
        with signals.deferred():
            process, self._process = self._process, None
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            if self._log is not None:
                self._log.close()
                self._log = None


def die_with_parent():
    """A preexec_fn making the kernel SIGKILL the child when the harness dies, even by SIGKILL."""
    parent = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)

    def set_death_signal() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        # The parent may have died before prctl took effect.
        if os.getppid() != parent:
            os._exit(1)

    return set_death_signal
