"""``winpod serve``: a real OPA with the policies and a config loaded, until Ctrl-C or SIGTERM."""

import argparse
import signal
import sys
from pathlib import Path

from harness.config import load_config
from harness.errors import OpaError
from harness.opa import add_server_arguments, server_from_args
from harness.tools import REPO_ROOT


class _Stop(Exception):
    """SIGTERM, raised in the main thread so the server's ``with`` block cleans up."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run OPA with the policies (and a config) loaded until Ctrl-C",
        description="Start OPA, load the policies and the config, print its URL on stdout, "
        "and serve until Ctrl-C or SIGTERM; then stop it and leave nothing running.",
    )
    parser.add_argument("--policies", type=Path, default=REPO_ROOT / "policies", metavar="DIR",
                        help="the Rego to load (default: the repository's policies/)")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="a winpod-guard config file (default: the policies' built-in default)")
    add_server_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Refuse a bad config before anything starts.
    config = load_config(args.config) if args.config else None
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        with server_from_args(args) as opa:
            opa.load_policies(args.policies)
            if config is not None:
                opa.put_config(config)
            print(opa.url, flush=True)
            print(f"winpod: serving {args.policies} with {args.config or 'the built-in default config'} "
                  f"({opa.description}); Ctrl-C stops it", file=sys.stderr, flush=True)
            code = opa.wait()
            raise OpaError(f"OPA stopped by itself with code {code} ({opa.description}){opa.log_excerpt()}")
    except (KeyboardInterrupt, _Stop):
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop(signum: int, frame: object) -> None:
    # A second SIGTERM must not interrupt the cleanup the first one started.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _Stop()
