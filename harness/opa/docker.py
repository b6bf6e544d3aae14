"""The OPA container image: the wanted one if the engine has it, else pulled, else built here.

Building is the fallback that always works offline: a ``FROM scratch`` image
around the pinned, statically linked ``.tools/bin/opa``.
"""

import functools
import io
import json
import logging
import re
import struct
import subprocess
import tarfile
import time
from pathlib import Path

import docker
import docker.errors
import requests
from docker.utils import parse_repository_tag

from harness.errors import HarnessError, OpaError
from harness.tools import tool_path

logger = logging.getLogger(__name__)

OFFICIAL_REPOSITORY = "openpolicyagent/opa"
LOCAL_REPOSITORY = "winpod-guard/opa"
PULL_TIMEOUT = 15.0

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
