"""What the commands share: the OPA server options and the server they ask for, and where a report goes."""

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from harness.errors import HarnessError
from harness.opa import POLICIES, OpaServer
from harness.opa.docker import DEFAULT_MEMORY, OFFICIAL_REPOSITORY

logger = logging.getLogger(__name__)


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
    group.add_argument("--opa-memory", metavar="SIZE",
                       help=f"memory limit of the OPA container, e.g. 512m or 2g (default: {DEFAULT_MEMORY})")


def server_from_args(args: argparse.Namespace) -> OpaServer:
    """The OpaServer the options of add_server_arguments ask for."""
    if args.backend == "process":
        if args.image or args.host_network or args.opa_memory:
            raise HarnessError("--image, --host-network and --opa-memory apply to --backend docker only")
        return OpaServer.process(port=args.opa_port)
    return OpaServer.docker(args.image, host_network=True if args.host_network else None, port=args.opa_port,
                            memory=args.opa_memory or DEFAULT_MEMORY)


@contextlib.contextmanager
def serving(args: argparse.Namespace, config: dict | None = None) -> Iterator[OpaServer]:
    """The server the options ask for, with ``--policies`` loaded and ``config`` put (else the built-in one)."""
    with server_from_args(args) as opa:
        opa.load_policies(args.policies)
        if config is not None:
            opa.put_config(config)
        yield opa


def add_config_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--config FILE``, the PolicyConfig a command reads; ``help_text`` says what it is for there."""
    parser.add_argument("--config", metavar="FILE", help=help_text)


def add_report_arguments(parser: argparse.ArgumentParser, formats: Sequence[str], default: str, *,
                         output: bool = True) -> None:
    """``--format`` and, with ``output``, ``-o/--output FILE``: the report of a command that writes one."""
    parser.add_argument("--format", choices=formats, default=default, help=f"report format (default: {default})")
    if output:
        parser.add_argument("-o", "--output", metavar="FILE", help="write the report to this file instead of stdout")


def prepare_output(path: str | None) -> None:
    """Make sure a report can be written to ``path`` before the run that produces it starts."""
    if path is None:
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


def write_documents(output: str, documents: list[tuple[str, str]], header: str, what: str) -> int:
    """Generated (name, YAML) documents to ``DIR/<name>.yaml``, or as one multi-document stream when ``output`` is -."""
    if output == "-":
        sys.stdout.write(header + "---\n".join(text for _, text in documents))
        return 0
    directory = Path(output)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in documents:
            (directory / f"{name}.yaml").write_text(header + text, encoding="utf-8")
    except OSError as exc:
        raise HarnessError(f"{directory}: cannot write the {what}: {exc}") from exc
    written = {f"{name}.yaml" for name, _ in documents}
    for leftover in sorted(p.name for p in directory.glob("*.yaml") if p.name not in written):
        logger.warning("%s was not written by this run: remove it if its entry left the config", directory / leftover)
    logger.info("wrote %d %s to %s", len(documents), what, directory)
    return 0
