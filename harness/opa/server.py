"""A real OPA server for the length of a ``with`` block: start, readiness, teardown, whatever the backend."""

import logging
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import requests

from harness.errors import HarnessError, OpaError
from harness.opa.client import OpaClient
from harness.opa.docker import DEFAULT_MEMORY, PULL_TIMEOUT, DockerBackend
from harness.opa.process import ProcessBackend

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT = 15.0
_EXIT_NOTICE = 2.0

# No version check against GitHub: OPA talks to nothing but its client here.
# Errors only, so a benchmark does not measure OPA writing access logs.
# Every decision reads the stored config; a read-optimised store keeps it as
# Rego values instead of converting it on each read.
# Go's collector at its default (GOGC=100) runs every few decisions on OPA's
# small heap; at 400 the heap may grow to five times the live data between
# collections (tens of MB here) and decisions run faster, with a shorter tail
# (figures in the README's benchmark section).
_OPA_ENV = {"GOGC": "400"}
_OPA_FLAGS = ("--skip-version-check", "--log-level", "error", "--optimize-store-for-read-speed")
# OPA echoes its config labels on /v1/config; a random one tells our server
# from whatever else may have bound the port first.
_INSTANCE_LABEL = "winpod_instance"


_CONTAINER_TLS_DIR = "/winpod-tls"


class Tls(NamedTuple):
    """A directory of tls.crt, tls.key and ca.crt, and where OPA sees it (in a container: its mount point)."""

    directory: Path
    seen_from_opa: str

    @property
    def ca(self) -> Path:
        return self.directory / "ca.crt"

    def seen_as(self, name: str) -> str:
        return f"{self.seen_from_opa}/{name}"


class Backend(Protocol):
    description: str

    def start(self, port: int, command: Callable[[str], list[str]], env: dict[str, str]) -> None:
        """Run OPA listening on 127.0.0.1:``port``; ``command(address)`` is its argument list."""

    def exit_code(self) -> int | None: ...
    def exit_reason(self) -> str | None: ...
    def logs(self) -> str: ...
    def wait(self) -> int: ...
    def stop(self) -> None: ...


def _opa_command(address: str, token: str, extra: Sequence[str]) -> list[str]:
    return ["run", "--server", "--addr", address, *_OPA_FLAGS, "--set", f"labels.{_INSTANCE_LABEL}={token}", *extra]


class OpaServer(OpaClient):
    """A real OPA server for the length of a ``with`` block, in a container or a subprocess."""

    def __init__(self, backend: Backend, *, port: int | None = None, opa_args: Sequence[str] = (),
                 startup_timeout: float = STARTUP_TIMEOUT, tls: Tls | None = None):
        super().__init__("")
        self._backend = backend
        self._port = port
        self._opa_args = tuple(opa_args)
        self._startup_timeout = startup_timeout
        self._tls = tls
        if tls is not None:
            self._opa_args += ("--tls-cert-file", tls.seen_as("tls.crt"), "--tls-private-key-file", tls.seen_as("tls.key"))
            self._session.verify = str(tls.ca)

    @classmethod
    def docker(
        cls,
        image: str | None = None,
        *,
        host_network: bool | None = None,
        port: int | None = None,
        opa_args: Sequence[str] = (),
        pull_timeout: float = PULL_TIMEOUT,
        startup_timeout: float = STARTUP_TIMEOUT,
        memory: str = DEFAULT_MEMORY,
        tls_dir: Path | None = None,
    ) -> "OpaServer":
        """OPA in a Docker container. ``image=None``: the official image of the pinned
        version if present or pullable, else one built around .tools/bin/opa.
        ``host_network=None``: host networking when the engine has no bridge network.
        ``memory``: the container's memory limit, as Docker's ``--memory`` takes it.
        ``tls_dir``: serve HTTPS with its tls.crt and tls.key (mounted read-only), trusting its ca.crt."""
        tls = Tls(tls_dir, _CONTAINER_TLS_DIR) if tls_dir is not None else None
        mounts = {str(tls_dir): _CONTAINER_TLS_DIR} if tls_dir is not None else {}
        return cls(DockerBackend(image, host_network, pull_timeout, memory, mounts),
                   port=port, opa_args=opa_args, startup_timeout=startup_timeout, tls=tls)

    @classmethod
    def process(
        cls,
        *,
        opa: str | Path | None = None,
        port: int | None = None,
        opa_args: Sequence[str] = (),
        startup_timeout: float = STARTUP_TIMEOUT,
        tls_dir: Path | None = None,
    ) -> "OpaServer":
        """``opa run --server`` as a local subprocess (default binary: harness.tools)."""
        tls = Tls(tls_dir, str(tls_dir)) if tls_dir is not None else None
        return cls(ProcessBackend(opa), port=port, opa_args=opa_args, startup_timeout=startup_timeout, tls=tls)

    @property
    def description(self) -> str:
        return self._backend.description

    def __enter__(self) -> "OpaServer":
        try:
            port = self._port or free_port()
            token = uuid.uuid4().hex
            self.url = f"{'https' if self._tls else 'http'}://127.0.0.1:{port}"
            self._backend.start(port, lambda address: _opa_command(address, token, self._opa_args), _OPA_ENV)
            self._wait_ready(token)
        except BaseException:
            self._shut_down()
            raise
        logger.info("OPA ready at %s (%s)", self.url, self.description)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._shut_down()

    def wait(self) -> int:
        """Block until the server stops by itself; its exit code."""
        return self._backend.wait()

    def log_excerpt(self) -> str:
        """The server log's error lines (else its last lines), for error messages."""
        try:
            lines = [line for line in self._backend.logs().splitlines() if line.strip()]
        except HarnessError as exc:
            return f"; its log is unavailable: {exc}"
        chosen = ([line for line in lines if "error" in line.lower()] or lines)[-10:]
        return "; its log:\n  " + "\n  ".join(chosen) if chosen else "; its log is empty"

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return super()._send(method, path, **kwargs)
        except OpaError as exc:
            # A dropped connection says nothing of why; a dead server can, once
            # the engine has noticed (the kernel's OOM kill takes it a moment).
            deadline = time.monotonic() + _EXIT_NOTICE
            while (why := self._backend.exit_reason()) is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if why is None:
                raise
            raise OpaError(f"{exc}: {why}{self.log_excerpt()}") from exc

    def _wait_ready(self, token: str) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while True:
            code = self._backend.exit_code()
            if code is not None:
                raise OpaError(f"OPA exited at start with code {code} ({self.description}){self.log_excerpt()}")
            if self._answers_as(token):
                return
            if time.monotonic() > deadline:
                raise OpaError(
                    f"OPA did not answer {self.url}/health within {self._startup_timeout:g}s "
                    f"({self.description}){self.log_excerpt()}"
                )
            time.sleep(0.02)

    def _answers_as(self, token: str) -> bool:
        try:
            if self._session.get(f"{self.url}/health", timeout=0.5).status_code != 200:
                return False
            labels = self._session.get(f"{self.url}/v1/config", timeout=0.5).json()["result"]["labels"]
        except (requests.exceptions.RequestException, ValueError, KeyError, TypeError):
            return False
        return labels.get(_INSTANCE_LABEL) == token

    def _shut_down(self) -> None:
        self.close()
        self._backend.stop()


def free_port() -> int:
    """A loopback port free now (the OS picks it); every server the harness starts binds 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


