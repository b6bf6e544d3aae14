"""The ``winpod`` command line."""

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

from harness.errors import HarnessError

logger = logging.getLogger(__name__)

# Each command is a module with register(subparsers); the parser it adds sets
# ``func`` to a callable taking the parsed arguments and returning an exit code.
COMMANDS = ["serve", "constraints", "testcmd", "check", "audit"]


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="winpod",
        description="Keep Windows pods from reaching their host: test, check and audit with a real OPA.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"harness.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except HarnessError as exc:
        logger.debug("failed", exc_info=True)
        print(f"winpod: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("winpod: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (| head) has gone: nothing left to say, and nothing to say it to.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        # A file or socket the run needed, not a bug: one line, like any other user-facing error.
        logger.debug("failed", exc_info=True)
        print(f"winpod: {exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
