"""The ``winpod`` command line."""

import argparse
import importlib
import logging
import sys

from harness.errors import HarnessError

logger = logging.getLogger(__name__)

# Each command is a module with register(subparsers); the parser it adds sets
# ``func`` to a callable taking the parsed arguments and returning an exit code.
COMMANDS = ["serve", "constraints", "testcmd", "check", "audit"]


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


if __name__ == "__main__":
    sys.exit(main())
