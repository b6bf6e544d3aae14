"""``winpod generate`` (``make generate``): gatekeeper/ written, or checked, from policies/."""

import argparse
import sys

from harness.gatekeeper import generate, stale


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write gatekeeper/ from policies/, schema.json and winpod-config.yaml",
        description="Write the ConstraintTemplates, sample Constraints and versions.json of gatekeeper/ "
        "from policies/, harness/schema.json and winpod-config.yaml (a developer command).",
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a generated file is stale")
    parser.add_argument(
        "--bump", choices=("patch", "minor", "major"), default="patch",
        help="how far a changed template's version moves (default: patch)",
    )
    parser.set_defaults(func=run, error_prefix="generate")


def run(args: argparse.Namespace) -> int:
    if args.check:
        problems = stale()
        for line in problems:
            print(f"stale: {line}", file=sys.stderr)
        if problems:
            print("run `make generate`", file=sys.stderr)
        return 1 if problems else 0
    for line in generate(bump=args.bump):
        print(line)
    return 0
