"""``winpod bundle`` (``make bundle``): the policies as an OPA bundle, config included."""

import argparse
from pathlib import Path

from harness.bundle import build


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bundle",
        help="build an OPA bundle of the policies, a config inside",
        description="Build the policies (roots winpod, lib) into an OPA bundle carrying a config at "
        "winpod/config (a developer command).",
    )
    parser.add_argument("-o", "--output", type=Path, default=Path("dist/winpod-bundle.tar.gz"))
    parser.add_argument("--config", help="PolicyConfig to carry in the bundle (default: the built-in one)")
    parser.add_argument("--revision", default="dev")
    parser.set_defaults(func=run, error_prefix="bundle")


def run(args: argparse.Namespace) -> int:
    path = build(args.output, config_path=args.config, revision=args.revision)
    print(f"{path} (revision {args.revision}, config {args.config or 'built-in default'})")
    return 0
