"""The docker backend: OPA in a labelled container, its image, and the reaping of containers left behind.

Containers carry labels naming the process that started them; every start
removes the labelled containers whose owner is gone, so a run killed with
SIGKILL leaves nothing behind for longer than the next start.

The image is the wanted one if the engine has it, else pulled, else built here.
Building is the fallback that always works offline: a ``FROM scratch`` image
around the pinned, statically linked ``.tools/bin/opa``.
"""

import functools
import gc
import io
import json
import logging
import os
import re
import struct
import subprocess
import tarfile
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors
import requests
from docker.utils import parse_repository_tag

from harness.errors import DockerUnavailable, HarnessError, OpaError
from harness.opa import signals
from harness.opa.client import reason
from harness.owners import LABEL, OWNER_PID_LABEL, owner_alive, owner_labels
from harness.tools import tool_path

logger = logging.getLogger(__name__)

OFFICIAL_REPOSITORY = "openpolicyagent/opa"
LOCAL_REPOSITORY = "winpod-guard/opa"
PULL_TIMEOUT = 15.0
# Batches of the bench corpus (250 objects, two in flight) peak under 300 MB
# here (the cgroup's max_usage) with GOGC=400; memory follows the batch, not
# the run. Three times that leaves room for larger objects and still keeps a
# hostile input from taking the machine's memory.
DEFAULT_MEMORY = "1g"
# Go collects harder as the heap nears GOMEMLIMIT rather than letting the
# kernel kill it at the cgroup's limit; the rest is stacks and the binary.
_GO_SHARE = 0.9
_SIZE = re.compile(r"(\d+)([bkmg]?)", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}

_CONTAINER_PORT = 8181
NO_ENGINE_HINT = "start one, or use --backend process"

_DOCKERFILE = b'FROM scratch\nCOPY opa /opa\nENTRYPOINT ["/opa"]\n'
_PT_INTERP = 3


def resolve_image(client: docker.DockerClient, image: str | None = None, *, pull_timeout: float = PULL_TIMEOUT) -> str:
    """A local image that runs OPA, logging in one line where it came from.

    ``image=None`` wants the official static image of the pinned binary's
    version. A local build left by an earlier run is reused before any pull is
    tried, so an offline machine pays for the failed pull once.
    """
    if image is None:
        wanted = f"{OFFICIAL_REPOSITORY}:{opa_version(_opa_binary())}-static"
    else:
        wanted = image
    if _present(client, wanted):
        logger.info("OPA image %s: present locally", wanted)
        return wanted
    if image is None:
        built = _built_tag(_opa_binary())
        if _present(client, built):
            logger.info("OPA image %s: local build from an earlier run (%s is not present)", built, wanted)
            return built
    pull_error = _pull(client, wanted, pull_timeout)
    if pull_error is None:
        logger.info("OPA image %s: pulled", wanted)
        return wanted
    try:
        binary = _opa_binary()
        problem = _not_static(binary)
        if problem:
            raise OpaError(f"{binary} {problem}, so it cannot run in a FROM scratch image")
        built = _built_tag(binary)
        if _present(client, built):
            logger.info("OPA image %s: local build from an earlier run (%s: %s)", built, wanted, pull_error)
            return built
        _build(client, binary, built)
    except HarnessError as exc:
        raise OpaError(
            f"no OPA image: {wanted} is not present locally, pulling it failed ({pull_error}), "
            f"and building one failed: {exc}"
        ) from exc
    logger.info("OPA image %s: built from %s (%s: %s)", built, binary, wanted, pull_error)
    return built


@functools.cache
def opa_version(binary: Path) -> str:
    """The version ``binary version`` reports (asked once per binary and process)."""
    try:
        out = subprocess.run([str(binary), "version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise OpaError(f"cannot tell the OPA version: `{binary} version` failed: {exc}") from exc
    found = re.search(r"^Version:\s*(\S+)", out, re.MULTILINE)
    if not found:
        raise OpaError(f"cannot tell the OPA version: `{binary} version` printed no 'Version:' line")
    return found.group(1)


def memory_bytes(size: str) -> int:
    """``512m``, ``2g``, ``1073741824``: a size as Docker's ``--memory`` takes it (binary units), in bytes."""
    found = _SIZE.fullmatch(size.strip())
    if not found or int(found.group(1)) == 0:
        raise HarnessError(f"OPA memory limit {size!r}: expected a size like 512m or 2g (bytes, k, m, g)")
    return int(found.group(1)) * _UNITS[found.group(2).lower()]


def _build(client: docker.DockerClient, binary: Path, tag: str) -> None:
    """Build ``tag`` ``FROM scratch`` around the static executable ``binary``."""
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        dockerfile = tarfile.TarInfo("Dockerfile")
        dockerfile.size = len(_DOCKERFILE)
        tar.addfile(dockerfile, io.BytesIO(_DOCKERFILE))
        tar.add(binary, arcname="opa")
    context.seek(0)
    try:
        client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True)
    except (docker.errors.BuildError, docker.errors.APIError) as exc:
        raise OpaError(f"building {tag} from {binary} failed: {exc}") from exc


def _opa_binary() -> Path:
    # .tools/bin/opa is a symlink into a versioned directory; the build context
    # needs the file itself.
    return tool_path("opa").resolve()


def _built_tag(binary: Path) -> str:
    return f"{LOCAL_REPOSITORY}:{opa_version(binary)}"


def _present(client: docker.DockerClient, image: str) -> bool:
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    except docker.errors.APIError as exc:
        raise OpaError(f"cannot inspect image {image}: {exc}") from exc
    return True


def _pull(client: docker.DockerClient, image: str, timeout: float) -> str | None:
    """Pull ``image`` within ``timeout`` seconds; None on success, else why not.

    The SDK's pull has no timeout at all, so this streams the engine's
    /images/create itself and closes the stream at the deadline (the engine
    then abandons the pull).
    """
    repository, tag = parse_repository_tag(image)
    api = client.api
    url = f"{api.base_url}/v{api.api_version}/images/create"
    deadline = time.monotonic() + timeout
    try:
        with api.post(url, params={"fromImage": repository, "tag": tag or "latest"}, stream=True, timeout=timeout) as response:
            if response.status_code != 200:
                return response.json().get("message", f"HTTP {response.status_code}")
            for line in response.iter_lines():
                if time.monotonic() > deadline:
                    return f"timed out after {timeout:g}s"
                if line and "error" in (event := json.loads(line)):
                    return event["error"]
    except requests.exceptions.Timeout:
        return f"timed out after {timeout:g}s"
    except (requests.exceptions.RequestException, ValueError) as exc:
        return str(exc)
    return None


def _not_static(binary: Path) -> str | None:
    """Why ``binary`` cannot run without a dynamic loader, or None."""
    try:
        with binary.open("rb") as f:
            header = f.read(64)
            if header[:4] != b"\x7fELF" or len(header) < 64:
                return "is not an ELF executable"
            endian = "<" if header[5] == 1 else ">"
            if header[4] == 2:
                (phoff,) = struct.unpack_from(endian + "Q", header, 0x20)
                phentsize, phnum = struct.unpack_from(endian + "HH", header, 0x36)
            else:
                (phoff,) = struct.unpack_from(endian + "I", header, 0x1C)
                phentsize, phnum = struct.unpack_from(endian + "HH", header, 0x2A)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    for offset in range(0, len(table) - 3, phentsize):
        if struct.unpack_from(endian + "I", table, offset)[0] == _PT_INTERP:
            return "is dynamically linked"
    return None


class DockerBackend:
    def __init__(self, image: str | None, host_network: bool | None, pull_timeout: float,
                 memory: str = DEFAULT_MEMORY, mounts: dict[str, str] | None = None):
        self._image = image
        self._mounts = mounts or {}
        self._host_network = host_network
        self._pull_timeout = pull_timeout
        self._memory = memory
        self._memory_bytes = memory_bytes(memory)
        self._client: docker.DockerClient | None = None
        self._container = None
        self.description = "docker"

    def start(self, port: int, command: Callable[[str], list[str]], env: dict[str, str]) -> None:
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
        name = f"winpod-opa-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.description = (f"container {name}, image {image}, {'host network' if host_network else 'published port'}, "
                            f"memory limit {self._memory}")
        try:
            # Create and start separately: when start fails (a port taken), the
            # created container must still be removed. A signal waits until the
            # handle is stored, so teardown always finds what the engine created.
            with signals.deferred():
                self._container = self._client.containers.create(
                    image,
                    command(address),
                    name=name,
                    labels=owner_labels(),
                    user="65534:65534",
                    read_only=True,
                    cap_drop=["ALL"],
                    security_opt=["no-new-privileges"],
                    # No swap on top: the limit is what the machine gives.
                    mem_limit=self._memory_bytes,
                    memswap_limit=self._memory_bytes,
                    environment={**env, "GOMEMLIMIT": str(int(self._memory_bytes * _GO_SHARE))},
                    volumes={source: {"bind": target, "mode": "ro"} for source, target in self._mounts.items()},
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

    def exit_reason(self) -> str | None:
        """Why the container has stopped, or None while it runs (or when the engine cannot tell)."""
        if self._container is None:
            return None
        try:
            code = self.exit_code()
        except OpaError:
            return None
        if code is None:
            return None
        if self._container.attrs["State"].get("OOMKilled"):
            return (f"OPA was killed for going over its memory limit of {self._memory} "
                    "(--opa-memory sets another)")
        return f"OPA exited with code {code}"

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
        # A second Ctrl-C must not cut the removal short: it waits until the container is gone.
        with signals.deferred():
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
            problem = reason(exc)
        if problem is not None:
            gc.collect()
    if problem is not None:
        raise DockerUnavailable(f"no Docker engine answers at {where} ({problem}); {NO_ENGINE_HINT}")
    return client


def _has_bridge_network(client: docker.DockerClient) -> bool:
    return any(network.name == "bridge" for network in client.networks.list(names=["bridge"]))


def _reap_stale_containers(client: docker.DockerClient) -> None:
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        if owner_alive(container.labels):
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
