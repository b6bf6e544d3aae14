"""The ``winpod`` command line: one entry point for every command, and what a signal does to a run.

SIGINT (Ctrl-C) and SIGTERM (a supervisor's stop) end any command the same
way: its ``with`` blocks tear down what they started, then the exit code is
128 + the signal's number (130, 143), as a shell reports a process the
signal ended. The handlers go in before anything else is imported (the
commands pull in docker, requests, yaml and jsonschema, a good part of a
second), so a signal at any moment after the interpreter has started ends
in the same clean exit.
"""

import os
import signal
import sys

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM: the run ends, its ``with`` blocks tearing down what they started."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop(signum: int, frame: object) -> None:
    # Teardown runs next, and a second signal must not cut it short.
    for other in STOP_SIGNALS:
        signal.signal(other, signal.SIG_IGN)
    raise Stopped(signum)


def _open_closed_streams() -> None:
    """A standard stream its caller closed (``>&-``, ``<&-``) is None in Python; the null device
    stands in, so a closed stdin reads as empty input and a closed stdout loses only the report:
    the exit code still says what was found."""
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, mode, encoding="utf-8"))  # open for the whole run


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code, or 130 / 143 when SIGINT / SIGTERM ends it."""
    previous = {}
    prefix = "winpod"
    try:
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, _stop)
        _open_closed_streams()
        from harness.cli import commands  # after the handlers, see above

        args = commands.parse(argv)
        prefix = args.error_prefix
        return commands.run(args)
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
        print(f"{prefix}: stopped by {signal.Signals(signum).name}", file=sys.stderr)
        return 128 + signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
