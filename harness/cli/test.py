"""``winpod test``: send every fixture case through a real OPA server and compare with its expectation.

Exit 0 when every case agrees, 1 when some disagree, 2 on a usage or input
error (found before OPA starts). ``--watch`` keeps one server up and re-runs on
every save, reloading policies, configs and fixtures over the REST API.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from harness.cli.options import add_server_arguments, prepare_output, serving, write_output
from harness.errors import HarnessError
from harness.fixtures import Suite, load_fixtures
from harness.opa import OpaClient
from harness.report import FORMATS, CaseResult, summary

logger = logging.getLogger(__name__)

WATCH_INTERVAL = 0.2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "test",
        help="run fixture cases through OPA and compare with their expectations",
        description="Run every case of the fixture files under PATH (default: fixtures) through a real OPA "
        "server and compare each decision with the case's expectation. "
        "Exit 0: all agree; 1: some disagree; 2: usage or input error.",
    )
    parser.add_argument("paths", nargs="*", default=["fixtures"], metavar="PATH",
                        help="fixture files or directories (default: fixtures)")
    parser.add_argument("--config", metavar="FILE",
                        help="config for the cases that name none (default: the built-in one)")
    parser.add_argument("--format", choices=sorted(FORMATS), default="text", help="report format (default: text)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    parser.add_argument("-k", metavar="PATTERN", dest="pattern",
                        help="only cases whose id (file::case) contains PATTERN, or matches it as a glob "
                             "when it has * ? or [ (case-insensitive)")
    parser.add_argument("--watch", action="store_true",
                        help="keep OPA up; re-run whenever a policy, config or fixture file changes")
    add_server_arguments(parser)
    parser.set_defaults(func=run)


def evaluate(opa: OpaClient, suite: Suite, progress: Callable[[int, int], None] | None = None) -> list[CaseResult]:
    """Decide every case: per config one load and one batch; results in the suite's order."""
    by_id: dict[str, CaseResult] = {}
    done = 0
    for config, cases in suite.groups():
        if config is None:
            opa.reset_config()
        else:
            opa.put_config(suite.configs[config])
        started = time.perf_counter()
        decisions = opa.decide_many(case.input for case in cases)
        share = (time.perf_counter() - started) / len(cases)
        for case, decision in zip(cases, decisions, strict=True):
            by_id[case.id] = CaseResult(case, decision, tuple(case.expect.mismatches(decision)), share)
        done += len(cases)
        if progress:
            progress(done, len(suite.cases))
    opa.reset_config()
    return [by_id[case.id] for case in suite.cases]


def run(args: argparse.Namespace) -> int:
    suite = _load(args)
    prepare_output(args.output)
    with serving(args) as opa:
        if args.watch:
            return _watch(opa, args, suite)
        return _run_once(opa, suite, args)


def _load(args: argparse.Namespace) -> Suite:
    suite = load_fixtures(args.paths, default_config=args.config).select(args.pattern)
    if not suite.cases:
        raise HarnessError(f"no fixture cases in {' '.join(args.paths)}"
                           + (f" match -k {args.pattern!r}" if args.pattern else ""))
    return suite


def _run_once(opa: OpaClient, suite: Suite, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    results = evaluate(opa, suite, _progress_line() if args.format == "text" else None)
    seconds = time.perf_counter() - started
    _write_report(args, results, seconds)
    return 0 if all(r.passed for r in results) else 1


def _progress_line() -> Callable[[int, int], None] | None:
    """A progress line on stderr, when stderr is a terminal (never in CI logs)."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(f"\r{done}/{total} cases", end=end, file=sys.stderr, flush=True)

    return show


def _write_report(args: argparse.Namespace, results: Sequence[CaseResult], seconds: float) -> None:
    write_output(args.output, FORMATS[args.format](results, seconds))
    if args.output or args.format != "text":
        print(summary(results, seconds), file=sys.stderr if not args.output else sys.stdout, flush=True)


# --- --watch -----------------------------------------------------------------------


def _snapshot(paths: Sequence[Path]) -> dict[Path, int]:
    """Modification times of every file under ``paths``: what a save changes."""
    stamps: dict[Path, int] = {}
    for path in paths:
        candidates = path.rglob("*") if path.is_dir() else [path]
        for file in candidates:
            with contextlib.suppress(OSError):
                if file.is_file():
                    stamps[file] = file.stat().st_mtime_ns
    return stamps


def _watched(args: argparse.Namespace, suite: Suite | None) -> tuple[list[Path], list[Path]]:
    """(policy paths, everything else): fixture paths, the default config, and what the cases use."""
    others = {Path(p).resolve() for p in args.paths}
    if args.config:
        others.add(Path(args.config).resolve())
    if suite is not None:
        others |= suite.sources
    return [args.policies.resolve()], sorted(others)


def _watch(opa: OpaClient, args: argparse.Namespace, suite: Suite, out: TextIO = sys.stdout) -> NoReturn:
    """Re-run on every change until a signal stops it (main() then exits 130 for Ctrl-C, 143 for SIGTERM)."""
    _run_once(opa, suite, args)
    policy_paths, other_paths = _watched(args, suite)
    policies, others = _snapshot(policy_paths), _snapshot(other_paths)
    print(f"watching {args.policies} and {len(others)} fixture and config files; Ctrl-C stops", file=out, flush=True)
    while True:
        time.sleep(WATCH_INTERVAL)
        new_policies, new_others = _snapshot(policy_paths), _snapshot(other_paths)
        policy_changes, other_changes = _changed(policies, new_policies), _changed(others, new_others)
        if not policy_changes and not other_changes:
            continue
        changed = sorted(set(policy_changes + other_changes))
        print(f"--- {time.strftime('%H:%M:%S')} changed: {', '.join(str(p) for p in changed[:3])}"
              + (f" and {len(changed) - 3} more" if len(changed) > 3 else ""), file=out, flush=True)
        try:
            if policy_changes:
                opa.load_policies(args.policies)
            suite = _load(args)
            _run_once(opa, suite, args)
        except HarnessError as exc:
            # A half-written file is the normal state of an editor loop:
            # say what is wrong and wait for the next save.
            print(f"winpod: {exc}", file=out, flush=True)
        # Stamps from before the run, so a save during it is seen next
        # time; a fixed fixture may name new bases and configs, watched
        # from now on.
        policies = new_policies
        policy_paths, other_paths = _watched(args, suite)
        others = {**_snapshot(other_paths), **new_others}


def _changed(before: dict[Path, int], after: dict[Path, int]) -> list[Path]:
    return [path for path in before.keys() | after.keys() if before.get(path) != after.get(path)]
