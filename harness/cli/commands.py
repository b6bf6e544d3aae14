"""The commands of ``winpod``: the parser, the logging set-up and the error boundary every command shares."""

import argparse
import importlib
import logging
import os
import sys

from harness.errors import HarnessError
from harness.report import visible_lines

logger = logging.getLogger(__name__)

# Each command is a module of this package with register(subparsers); the
# parser it adds sets ``func`` to a callable taking the parsed arguments and
# returning an exit code. The user's commands first, then the developer ones
# the Makefile runs.
COMMANDS = ("serve", "constraints", "vap", "test", "check", "audit", "demo", "generate", "bundle", "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="winpod",
        description="Keep Windows pods from reaching their host: test, check and audit with a real OPA.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    # The developer commands name themselves in their error lines (``generate: ...``),
    # as they did when each was a ``python -m`` module of its own.
    parser.set_defaults(error_prefix="winpod")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        importlib.import_module(f"harness.cli.{command}").register(subparsers)
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def run(args: argparse.Namespace) -> int:
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except HarnessError as exc:
        logger.debug("failed", exc_info=True)
        print(visible_lines(f"{args.error_prefix}: {exc}"), file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader (| head) has gone: nothing left to say, and nothing to say it to.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        # A file or socket the run needed, not a bug: one line, like any other user-facing error.
        logger.debug("failed", exc_info=True)
        print(visible_lines(f"{args.error_prefix}: {exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}"),
              file=sys.stderr)
        return 2
