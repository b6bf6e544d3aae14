"""``winpod demo`` (``make demo``): what the policies do, shown to someone who has just cloned the repository.

Runs the fixture corpus like ``winpod test``, then shows the guidance's
examples (``fixtures/guidance``) with the verdict and the messages OPA gave
each, and how many cases each rule reports a violation in. A command of its
own rather than a ``winpod test`` flag because of one choice ``test`` must not
make: with no Docker engine, the demo runs OPA as a local process (and says
so), where ``test`` fails closed on the backend it was asked for.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from harness import rules
from harness.cli.options import add_server_arguments, serving
from harness.cli.test import evaluate
from harness.errors import DockerUnavailable, HarnessError
from harness.fixtures import load_fixtures
from harness.inputs import verdict
from harness.opa import docker_client
from harness.opa.docker import NO_ENGINE_HINT
from harness.report import CaseResult, failure, summary, visible
from harness.tools import REPO_ROOT

FIXTURES = REPO_ROOT / "fixtures"
GUIDANCE = "guidance"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the fixture corpus and show what the policies decide on the guidance's examples",
        description="Run every fixture case under DIR through OPA, then show the verdicts and messages of the "
        f"examples in DIR/{GUIDANCE} and how many cases each rule reports. OPA runs in a container when a "
        "Docker engine answers, else (saying so) as a local process. Exit 0: every case agrees; 1: some do not.",
    )
    parser.add_argument("fixtures", nargs="?", type=Path, default=FIXTURES, metavar="DIR",
                        help="the fixture corpus (default: the repository's fixtures/)")
    add_server_arguments(parser)
    # None: a container if an engine answers, else a process. Asked for by name, docker is required.
    parser.set_defaults(func=run, backend=None)


def run(args: argparse.Namespace) -> int:
    suite = load_fixtures([str(args.fixtures)])
    if not suite.cases:
        raise HarnessError(f"no fixture cases in {args.fixtures}")
    args.backend = _backend(args)
    started = time.perf_counter()
    with serving(args) as opa:
        results = evaluate(opa, suite)
    seconds = time.perf_counter() - started
    guidance = args.fixtures / GUIDANCE
    lines = [f"The guidance's examples ({_shown(guidance)}), as the policies decide them:", ""]
    lines += _guidance(results, guidance.resolve())
    lines += _by_rule(results)
    lines += [failure(r) for r in results if not r.passed]
    lines.append(summary(results, seconds))
    sys.stdout.write("\n".join(visible(line) for line in lines) + "\n")
    return 0 if all(r.passed for r in results) else 1


def _backend(args: argparse.Namespace) -> str:
    if args.backend is not None:
        return args.backend
    if args.image or args.host_network or args.opa_memory:
        return "docker"  # a container's options: the container is what was asked for
    try:
        docker_client().close()
    except DockerUnavailable as exc:
        print(f"winpod demo: {str(exc).removesuffix('; ' + NO_ENGINE_HINT)}, so OPA runs here as a local process; "
              "for the container path, start a Docker engine and run `make demo` again", file=sys.stderr, flush=True)
        return "process"
    return "docker"


def _guidance(results: Sequence[CaseResult], directory: Path) -> list[str]:
    """Per file, each case once (its first form: expanded shapes and kinds share the verdict), then its messages."""
    lines: list[str] = []
    forms: dict[tuple[str, str], list[CaseResult]] = {}
    for result in results:
        if result.case.file.resolve().parent == directory:
            forms.setdefault((result.case.display, result.case.name.split("[")[0]), []).append(result)
    current = None
    for (display, name), members in forms.items():
        if display != current:
            current = display
            lines += ([""] if lines else []) + [f"{Path(display).name}"]
        first = members[0]
        more = f"  (and {len(members) - 1} more forms of it)" if len(members) > 1 else ""
        lines.append(f"  {verdict(first.decision.get('allowed')):<8} {name}{more}")
        for v in first.decision.get("violations", []):
            lines.append(f"             {v['enforcementAction']} {v['code']} [{v['constraint']}]: {v['msg']}")
    if not lines:
        lines.append(f"  (no fixture files in {directory})")
    return lines


def _by_rule(results: Sequence[CaseResult]) -> list[str]:
    """How many cases each rule reports a violation in, over the cases that name the violations they expect."""
    denied = sum(r.decision.get("allowed") is False for r in results)
    pinned = [r for r in results if r.case.expect.violations is not None]
    per_rule = Counter(rule for r in pinned for rule in {v["rule"] for v in r.decision.get("violations", [])})
    width = max(len(rule) for rule in rules.names())
    lines = ["", f"The whole corpus: {len(results)} cases, {denied} denied, {len(results) - denied} allowed.",
             "Cases in which each rule reports a violation:"]
    lines += [f"  {rule:<{width}}  {per_rule[rule]}" for rule in rules.names()]
    unpinned = len(results) - len(pinned)
    if unpinned:
        lines.append(f"  and {unpinned} cases that check only the verdict (fail-closed input: "
                     "any rule may be the one that denies it)")
    return lines + [""]


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
