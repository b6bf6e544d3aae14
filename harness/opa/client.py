"""The OPA server the harness asks for decisions: in a container or a subprocess, one client API.

    with OpaServer.docker() as opa:
        opa.load_policies("policies")
        opa.put_config(config)
        opa.decide(manifest)

Containers carry labels naming the process that started them; every start
removes the labelled containers whose owner is gone, so a run killed with
SIGKILL leaves nothing behind for longer than the next start.
"""

import argparse
import concurrent.futures
import contextlib
import ctypes
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote

import docker
import docker.errors
import requests

from harness.errors import DockerUnavailable, HarnessError, OpaError
from harness.opa.docker import OFFICIAL_REPOSITORY, PULL_TIMEOUT, resolve_image
from harness.tools import REPO_ROOT, tool_path

logger = logging.getLogger(__name__)

LABEL = "winpod-guard.harness"
OWNER_HOST_LABEL = "winpod-guard.owner-host"
OWNER_PID_LABEL = "winpod-guard.owner-pid"
OWNER_START_LABEL = "winpod-guard.owner-start"
RUN_LABEL = "winpod-guard.run"
# Set by a CI job or a test session and inherited by everything it starts, so
# it can check afterwards that none of its containers or processes is left.
RUN_ID_ENV = "WINPOD_RUN_ID"

POLICIES = REPO_ROOT / "policies"
DECISION_PATH = "winpod/decision"
BATCH_PATH = "winpod/batch"
CONFIG_PATH = "winpod/config"
BATCH_CHUNK = 250
# Batch requests in flight at once: one per core of a small machine keeps OPA busy.
BATCH_WORKERS = 2
STARTUP_TIMEOUT = 15.0
REQUEST_TIMEOUT = 60.0

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
_CONTAINER_PORT = 8181
_PR_SET_PDEATHSIG = 1


class Evaluation(NamedTuple):
    result: Any
    metrics: dict[str, int]


class OpaClient:
    """OPA's REST API over one keep-alive HTTP session."""

    def __init__(self, url: str, *, timeout: float = REQUEST_TIMEOUT):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        # OPA is on this machine: never route it through a proxy from the
        # environment (and skip the per-request proxy lookup, half the cost
        # of a small decision).
        self._session.trust_env = False

    def close(self) -> None:
        self._session.close()

    def load_policies(self, directory: str | Path) -> list[Path]:
        """PUT every ``*.rego`` under ``directory`` except tests, as ``/v1/policies/<relative path>``.

        Returns the files loaded. A module that does not compile raises
        OpaError naming ``file:row:col`` and OPA's message.
        """
        root = Path(directory)
        if not root.is_dir():
            raise OpaError(f"{root}: no such directory of policies")
        files = sorted(p for p in root.rglob("*.rego") if not p.name.endswith("_test.rego"))
        if not files:
            raise OpaError(f"no policy files (*.rego other than *_test.rego) under {root}")
        paths = {p.relative_to(root).as_posix(): p for p in files}
        # A module deleted or renamed on disk must not stay loaded (--watch
        # reloads into the same server): drop every id that is not a file now.
        loaded = self._request("GET", "/v1/policies").get("result", [])
        for stale in sorted({m.get("id") for m in loaded if isinstance(m, dict)} - set(paths) - {None}):
            self._request("DELETE", f"/v1/policies/{quote(stale)}")
            logger.info("unloaded %s: no longer under %s", stale, root)
        pending = dict(paths)
        # OPA compiles all loaded modules on every PUT, so a module calling a
        # function of one not loaded yet fails: retry until a pass adds nothing.
        while pending:
            problems: list[str] = []
            progress = False
            for policy_id, path in list(pending.items()):
                errors = self._put_policy(policy_id, path)
                if errors is None:
                    del pending[policy_id]
                    progress = True
                else:
                    problems += [_compile_error(error, paths) for error in errors]
            if not progress:
                raise OpaError("policies do not compile: " + "\n  ".join(sorted(dict.fromkeys(problems))))
        logger.info("loaded %d policy files from %s", len(files), root)
        return files

    def put_data(self, path: str, value: Any) -> None:
        """Write ``value`` at ``data.<path>`` (``path`` slash-separated, e.g. ``winpod/config``)."""
        self._request("PUT", f"/v1/data/{_data_path(path)}", json=value, ok=(204,))

    def delete_data(self, path: str) -> None:
        """Remove ``data.<path>``; already absent is fine (the outcome is the same)."""
        self._request("DELETE", f"/v1/data/{_data_path(path)}", ok=(204, 404))

    def put_config(self, config: dict) -> None:
        """Make ``config`` (a validated config file as JSON) the one every decision uses."""
        self.put_data(CONFIG_PATH, config)

    def reset_config(self) -> None:
        """Back to the policies' built-in default config."""
        self.delete_data(CONFIG_PATH)

    @contextlib.contextmanager
    def config(self, config: dict) -> Iterator[None]:
        """``config`` for the duration of the block, then the built-in default again."""
        self.put_config(config)
        try:
            yield
        finally:
            self.reset_config()

    def evaluate(self, path: str, input_document: Any, *, metrics: bool = False) -> Evaluation:
        """POST ``input_document`` to ``data.<path>``; an undefined result is an OpaError, never a default."""
        body = self._request(
            "POST",
            f"/v1/data/{_data_path(path)}",
            json={"input": input_document},
            # A built-in function's error (lower of a number) would otherwise
            # make its expression undefined and could drop a violation: fail
            # closed, as an error.
            params={"strict-builtin-errors": "true", **({"metrics": "true"} if metrics else {})},
        )
        if "result" not in body:
            raise OpaError(
                f"undefined decision: data.{path.strip('/').replace('/', '.')} has no value for this input "
                f"at {self.url} (are the policies loaded?)"
            )
        return Evaluation(body["result"], body.get("metrics", {}))

    def decide(self, obj: Any) -> dict:
        """The decision (SPEC 4) for one manifest, AdmissionReview or Gatekeeper review."""
        return _checked_decision(self.evaluate(DECISION_PATH, obj).result, DECISION_PATH)

    def decide_many(self, objs: Iterable[Any], *, chunk: int = BATCH_CHUNK,
                    workers: int = BATCH_WORKERS) -> list[dict]:
        """Decisions for ``objs`` in order, through the batch endpoint, ``chunk`` objects per request.

        Up to ``workers`` requests are in flight at once: OPA evaluates each on a
        core of its own, and the next batch is encoded while one is evaluated.
        """
        items = list(objs)
        starts = range(0, len(items), chunk)
        if workers <= 1 or len(starts) <= 1:
            return [d for start in starts for d in self._decide_batch(items, start, chunk)]
        with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="winpod-batch") as pool:
            parts = list(pool.map(lambda start: self._decide_batch(items, start, chunk), starts))
        return [d for part in parts for d in part]

    def _decide_batch(self, items: list[Any], start: int, chunk: int) -> list[dict]:
        part = items[start : start + chunk]
        result = self.evaluate(BATCH_PATH, {"items": part}).result
        answered = result.get("decisions") if isinstance(result, dict) else None
        if not isinstance(answered, list) or len(answered) != len(part):
            count = len(answered) if isinstance(answered, list) else "no list of"
            raise OpaError(
                f"data.{BATCH_PATH.replace('/', '.')} answered {count} decisions for {len(part)} items "
                f"(items {start}..{start + len(part) - 1})"
            )
        return [_checked_decision(d, BATCH_PATH) for d in answered]

    def _put_policy(self, policy_id: str, path: Path) -> list[dict] | None:
        """None when OPA accepts the module, else OPA's compile errors."""
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise OpaError(f"{path}: cannot read: {exc.strerror}") from exc
        response = self._send("PUT", f"/v1/policies/{quote(policy_id)}", data=text,
                              headers={"Content-Type": "text/plain"})
        if response.status_code == 200:
            return None
        body = _json(response)
        if response.status_code == 400 and body.get("errors"):
            return body["errors"]
        raise _http_error("PUT", response)

    def _request(self, method: str, path: str, *, ok: Sequence[int] = (200,), **kwargs: Any) -> dict:
        response = self._send(method, path, **kwargs)
        if response.status_code not in ok:
            raise _http_error(method, response)
        return _json(response) if response.content else {}

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.url}{path}"
        try:
            return self._session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.exceptions.Timeout as exc:
            raise OpaError(f"{method} {url}: no answer within {self.timeout:g}s") from exc
        except requests.exceptions.RequestException as exc:
            raise OpaError(f"{method} {url}: {_reason(exc)}") from exc


class OpaServer(OpaClient):
    """A real OPA server for the length of a ``with`` block, in a container or a subprocess."""

    def __init__(self, backend: "_Backend", *, port: int | None = None, startup_timeout: float = STARTUP_TIMEOUT):
        super().__init__("")
        self._backend = backend
        self._port = port
        self._startup_timeout = startup_timeout

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
    ) -> "OpaServer":
        """OPA in a Docker container. ``image=None``: the official image of the pinned
        version if present or pullable, else one built around .tools/bin/opa.
        ``host_network=None``: host networking when the engine has no bridge network."""
        return cls(_DockerBackend(image, host_network, pull_timeout, tuple(opa_args)),
                   port=port, startup_timeout=startup_timeout)

    @classmethod
    def process(
        cls,
        *,
        opa: str | Path | None = None,
        port: int | None = None,
        opa_args: Sequence[str] = (),
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> "OpaServer":
        """``opa run --server`` as a local subprocess (default binary: harness.tools)."""
        return cls(_ProcessBackend(opa, tuple(opa_args)), port=port, startup_timeout=startup_timeout)

    @property
    def description(self) -> str:
        return self._backend.description

    def __enter__(self) -> "OpaServer":
        try:
            port = self._port or _free_port()
            token = uuid.uuid4().hex
            self.url = f"http://127.0.0.1:{port}"
            self._backend.start(port, token)
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


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every command that starts an OPA server shares."""
    group = parser.add_argument_group("OPA server")
    group.add_argument("--policies", metavar="DIR", type=Path, default=POLICIES,
                       help="the Rego to load (default: the repository's policies/)")
    group.add_argument("--backend", choices=("docker", "process"), default="docker",
                       help="run OPA in a Docker container (default) or as a local process")
    group.add_argument("--image", help=f"OPA image for the docker backend (default: {OFFICIAL_REPOSITORY}:"
                                       "<pinned version>-static if present or pullable, else built from .tools/bin/opa)")
    group.add_argument("--host-network", action="store_true",
                       help="use the host network even when the engine has a bridge network")
    group.add_argument("--opa-port", type=int, metavar="PORT", help="listen on 127.0.0.1:PORT (default: a free port)")


def server_from_args(args: argparse.Namespace) -> OpaServer:
    """The OpaServer the options of add_server_arguments ask for."""
    if args.backend == "process":
        if args.image or args.host_network:
            raise HarnessError("--image and --host-network apply to --backend docker only")
        return OpaServer.process(port=args.opa_port)
    return OpaServer.docker(args.image, host_network=True if args.host_network else None, port=args.opa_port)


@contextlib.contextmanager
def serving(args: argparse.Namespace, config: dict | None = None) -> Iterator[OpaServer]:
    """The server the options ask for, with ``--policies`` loaded and ``config`` put (else the built-in one).

    SIGTERM ends the run like Ctrl-C (KeyboardInterrupt), so the ``with`` block
    still tears the server down; a second SIGTERM cannot interrupt that.
    """

    def interrupt(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        with server_from_args(args) as opa:
            opa.load_policies(args.policies)
            if config is not None:
                opa.put_config(config)
            yield opa
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Backend(Protocol):
    description: str

    def start(self, port: int, token: str) -> None: ...
    def exit_code(self) -> int | None: ...
    def logs(self) -> str: ...
    def wait(self) -> int: ...
    def stop(self) -> None: ...


def _opa_command(address: str, token: str, extra: Sequence[str]) -> list[str]:
    return ["run", "--server", "--addr", address, *_OPA_FLAGS, "--set", f"labels.{_INSTANCE_LABEL}={token}", *extra]


class _DockerBackend:
    def __init__(self, image: str | None, host_network: bool | None, pull_timeout: float, opa_args: tuple[str, ...]):
        self._image = image
        self._host_network = host_network
        self._pull_timeout = pull_timeout
        self._opa_args = opa_args
        self._client: docker.DockerClient | None = None
        self._container = None
        self.description = "docker"

    def start(self, port: int, token: str) -> None:
        self._client = docker_client()
        try:
            _reap_stale_containers(self._client)
            host_network = self._host_network
            if host_network is None:
                host_network = not _has_bridge_network(self._client)
        except docker.errors.APIError as exc:
            raise OpaError(f"the Docker engine refused a request: {exc.explanation or exc}") from exc
        image = resolve_image(self._client, self._image, pull_timeout=self._pull_timeout)
        if host_network:
            network = {"network_mode": "host"}
            address = f"127.0.0.1:{port}"
        else:
            network = {"ports": {f"{_CONTAINER_PORT}/tcp": ("127.0.0.1", port)}}
            address = f"0.0.0.0:{_CONTAINER_PORT}"
        name = f"winpod-opa-{os.getpid()}-{token[:8]}"
        self.description = f"container {name}, image {image}, {'host network' if host_network else 'published port'}"
        try:
            # Create and start separately: when start fails (a port taken), the
            # created container must still be removed.
            self._container = self._client.containers.create(
                image,
                _opa_command(address, token, self._opa_args),
                name=name,
                labels=_owner_labels(),
                user="65534:65534",
                read_only=True,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                environment=_OPA_ENV,
                **network,
            )
            self._container.start()
        except docker.errors.APIError as exc:
            raise OpaError(f"cannot start the OPA container ({self.description}): {exc.explanation or exc}") from exc

    def exit_code(self) -> int | None:
        try:
            self._container.reload()
        except docker.errors.APIError as exc:
            raise OpaError(f"lost the OPA container ({self.description}): {exc.explanation or exc}") from exc
        if self._container.status in ("exited", "dead"):
            return self._container.attrs["State"]["ExitCode"]
        return None

    def logs(self) -> str:
        try:
            return self._container.logs().decode(errors="replace")
        except docker.errors.APIError as exc:
            raise OpaError(f"cannot read the logs of {self.description}: {exc.explanation or exc}") from exc

    def wait(self) -> int:
        while True:
            try:
                return self._container.wait(timeout=60)["StatusCode"]
            except requests.exceptions.RequestException as exc:
                # A read timeout on a long wait only means it is still running
                # (over a unix socket it surfaces as a ConnectionError).
                if "timed out" not in str(exc).lower():
                    raise OpaError(f"lost the Docker engine while waiting on {self.description}: {exc}") from exc

    def stop(self) -> None:
        container, self._container = self._container, None
        client, self._client = self._client, None
        try:
            if container is not None:
                container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            raise OpaError(f"could not remove OPA container {container.name}: {exc.explanation or exc}; "
                           f"remove it with `docker rm -f {container.name}`") from exc
        finally:
            if client is not None:
                client.close()


class _ProcessBackend:
    def __init__(self, opa: str | Path | None, opa_args: tuple[str, ...]):
        self._opa = opa
        self._opa_args = opa_args
        self._process: subprocess.Popen | None = None
        self._log = None
        self.description = "process"

    def start(self, port: int, token: str) -> None:
        binary = Path(self._opa) if self._opa else tool_path("opa")
        # A file, not a pipe: nobody reads OPA's output while it serves, and a
        # full pipe would block it. Unlinked already, so nothing is left.
        self._log = tempfile.TemporaryFile()
        try:
            self._process = subprocess.Popen(
                [str(binary), *_opa_command(f"127.0.0.1:{port}", token, self._opa_args)],
                stdin=subprocess.DEVNULL,
                env={**os.environ, **_OPA_ENV},
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent() if sys.platform == "linux" else None,
            )
        except OSError as exc:
            raise OpaError(f"cannot run {binary}: {exc.strerror}") from exc
        self.description = f"process {self._process.pid} of {binary}"

    def exit_code(self) -> int | None:
        return self._process.poll()

    def logs(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def wait(self) -> int:
        return self._process.wait()

    def stop(self) -> None:
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


def _die_with_parent():
    """A preexec_fn making the kernel SIGKILL the child when the harness dies, even by SIGKILL."""
    parent = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)

    def set_death_signal() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        # The parent may have died before prctl took effect.
        if os.getppid() != parent:
            os._exit(1)

    return set_death_signal


def docker_client() -> docker.DockerClient:
    """A client of the engine DOCKER_HOST names (else the default socket) that has answered a ping."""
    where = os.environ.get("DOCKER_HOST") or "the default socket"
    problem = None
    # The SDK leaks its socket when a unix-socket connect fails; the warning
    # would surface at some later garbage collection, far from the cause.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            client = docker.from_env()
            client.ping()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            problem = _reason(exc)
        if problem is not None:
            gc.collect()
    if problem is not None:
        raise DockerUnavailable(f"no Docker engine answers at {where} ({problem}); start one, or use --backend process")
    return client


def _has_bridge_network(client: docker.DockerClient) -> bool:
    return any(network.name == "bridge" for network in client.networks.list(names=["bridge"]))


def _owner_labels() -> dict[str, str]:
    labels = {
        LABEL: "1",
        OWNER_HOST_LABEL: socket.gethostname(),
        OWNER_PID_LABEL: str(os.getpid()),
        OWNER_START_LABEL: _process_start(os.getpid()) or "",
    }
    if os.environ.get(RUN_ID_ENV):
        labels[RUN_LABEL] = os.environ[RUN_ID_ENV]
    return labels


def _process_start(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot), None if it is gone, a zombie, or there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name: state is the first, start time the 20th.
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else fields[19]


def _owner_alive(labels: dict[str, str]) -> bool:
    if labels.get(OWNER_HOST_LABEL) != socket.gethostname():
        return True  # another machine's process: nothing here can tell, leave it alone
    try:
        pid = int(labels[OWNER_PID_LABEL])
    except (KeyError, ValueError):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = labels.get(OWNER_START_LABEL)
    if not started or not Path("/proc").is_dir():
        return True
    # A different start time is a new process that reuses the pid.
    return _process_start(pid) == started


def _reap_stale_containers(client: docker.DockerClient) -> None:
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        if _owner_alive(container.labels):
            continue
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            continue  # a concurrent start reaped it first
        except docker.errors.APIError as exc:
            if exc.status_code == 409:  # removal already in progress elsewhere
                continue
            raise OpaError(f"cannot remove stale OPA container {container.name}: {exc.explanation or exc}") from exc
        logger.info("removed stale OPA container %s (its owner, pid %s, is gone)",
                    container.name, container.labels.get(OWNER_PID_LABEL))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _data_path(path: str) -> str:
    return quote(path.strip("/"))


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _http_error(method: str, response: requests.Response) -> OpaError:
    body = _json(response)
    detail = " ".join(filter(None, (body.get("code"), body.get("message")))) or response.text[:200].strip()
    errors = body.get("errors") if isinstance(body.get("errors"), list) else []
    # Evaluation errors (strict-builtin-errors) say where, as compile errors do.
    causes = "; ".join(_compile_error(e, {}) for e in errors[:3] if isinstance(e, dict))
    return OpaError(f"{method} {response.url}: HTTP {response.status_code} {detail}" + (f": {causes}" if causes else ""))


def _reason(exc: BaseException) -> str:
    """The operating system's word at the bottom of an exception chain ("Connection refused"), else the message."""
    pending, seen, reason = [exc], set(), None
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            reason = current.strerror
        nested = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        pending += [e for e in nested if isinstance(e, BaseException)]
    return reason or str(exc)


def _compile_error(error: dict, paths: dict[str, Path]) -> str:
    """``file:row:col: code: message`` of a compile or evaluation error OPA reports."""
    location = error.get("location") if isinstance(error.get("location"), dict) else {}
    message = f"{error.get('code')}: {error.get('message')}"
    if not location:
        return message
    where = paths.get(location.get("file"), location.get("file", "?"))
    return f"{where}:{location.get('row', '?')}:{location.get('col', '?')}: {message}"


VIOLATION_KEYS = ("rule", "code", "constraint", "enforcementAction", "field", "msg")


def _checked_decision(decision: Any, path: str) -> dict:
    # Fail closed: anything but the SPEC 4 shape is an error, never read as "allowed".
    where = f"data.{path.replace('/', '.')}"
    if not (isinstance(decision, dict) and isinstance(decision.get("allowed"), bool)
            and isinstance(decision.get("violations"), list)):
        raise OpaError(f"{where} answered {str(decision)[:200]}, "
                       'not {"allowed": <bool>, "violations": [...]}')
    for violation in decision["violations"]:
        if not (isinstance(violation, dict) and all(isinstance(violation.get(k), str) for k in VIOLATION_KEYS)):
            raise OpaError(f"{where} answered a violation {str(violation)[:200]}, "
                           f"not an object of strings {', '.join(VIOLATION_KEYS)}")
    denied = any(v["enforcementAction"] == "deny" for v in decision["violations"])
    if decision["allowed"] == denied:
        raise OpaError(f"{where} answered allowed={decision['allowed']} with "
                       f"{'a' if denied else 'no'} deny violation: SPEC 4 says allowed is false iff one fired")
    return decision
