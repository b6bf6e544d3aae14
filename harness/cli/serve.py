"""``winpod serve``: a real OPA with the policies and a config loaded, until Ctrl-C or SIGTERM."""

import argparse
import sys
from pathlib import Path

from harness.cli.options import add_server_arguments, serving
from harness.config import load_config
from harness.errors import OpaError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run OPA with the policies (and a config) loaded until Ctrl-C",
        description="Start OPA, load the policies and the config, print its URL on stdout, "
        "and serve until Ctrl-C or SIGTERM; then stop it and leave nothing running.",
    )
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="a winpod-guard config file (default: the policies' built-in default)")
    add_server_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Refuse a bad config before anything starts.
    config = load_config(args.config) if args.config else None
    # Serving ends only by a signal, which main() turns into its exit code
    # (130, 143) once the server is torn down.
    with serving(args, config) as opa:
        # The note first: whoever reads the URL may stop us right away.
        print(f"winpod: serving {args.policies} with {args.config or 'the built-in default config'} "
              f"({opa.description}); Ctrl-C stops it", file=sys.stderr, flush=True)
        print(opa.url, flush=True)
        code = opa.wait()
        raise OpaError(f"OPA stopped by itself with code {code} ({opa.description}){opa.log_excerpt()}")
