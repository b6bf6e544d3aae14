"""Holding Ctrl-C and SIGTERM back while a container or process is created and not yet ours to tear down."""

import contextlib
import signal
import threading
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Inside the block, SIGINT and SIGTERM are noted, not acted on; after it, they are delivered.

    A create call that a signal interrupts may have created the container in
    the engine (or forked the process) with its handle lost before the caller
    holds it, and teardown then has nothing to remove. Held back, the signal
    arrives once the handle is stored, and teardown finds it. Only the main
    thread runs signal handlers, so elsewhere there is nothing to hold back.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {}
    try:
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, lambda signum, frame: pending.append(signum))
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)
