"""What the commands share: the OPA server options and the server they ask for, and where a report goes."""

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from harness.errors import HarnessError
from harness.opa import POLICIES, OpaServer
from harness.opa.docker import OFFICIAL_REPOSITORY


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


def prepare_output(path: str | None) -> None:
    """Make sure a report can be written to ``path`` (None: stdout) before the run that produces it starts."""
    if path is None:
        # Python sets sys.stdout to None when the process starts with file descriptor 1 closed.
        if sys.stdout is None or sys.stdout.closed:
            raise HarnessError("stdout is closed: write the report to a file with -o FILE, or redirect stdout")
        return
    parent = Path(path).resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HarnessError(f"{path}: cannot write the report: {exc.strerror}") from exc
    if not os.access(parent, os.W_OK) or Path(path).is_dir():
        raise HarnessError(f"{path}: cannot write the report: not a writable file")


def write_output(path: str | None, text: str) -> None:
    """``text`` to the file ``path``, or to stdout when there is none."""
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise HarnessError(f"{path}: cannot write the report: {exc.strerror}") from exc
