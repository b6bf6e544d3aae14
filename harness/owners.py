"""Who owns a container, process or directory the harness made, and whether that owner still runs.

The Docker backend writes these as container labels, the local cluster as
its working directory's owner file; a later start reaps what a dead owner
(killed, crashed) left. The start time tells a process from a new one that
reuses its pid.
"""

import os
import socket
from pathlib import Path

LABEL = "winpod-guard.harness"
OWNER_HOST_LABEL = "winpod-guard.owner-host"
OWNER_PID_LABEL = "winpod-guard.owner-pid"
OWNER_START_LABEL = "winpod-guard.owner-start"
RUN_LABEL = "winpod-guard.run"
# Set by a CI job or a test session and inherited by everything it starts, so
# it can check afterwards that none of its containers or processes is left.
RUN_ID_ENV = "WINPOD_RUN_ID"


def owner_labels() -> dict[str, str]:
    """Who is making a container or a working directory now: this process, on this host, in this run."""
    labels = {
        LABEL: "1",
        OWNER_HOST_LABEL: socket.gethostname(),
        OWNER_PID_LABEL: str(os.getpid()),
        OWNER_START_LABEL: process_start(os.getpid()) or "",
    }
    if os.environ.get(RUN_ID_ENV):
        labels[RUN_LABEL] = os.environ[RUN_ID_ENV]
    return labels


def process_start(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot), None if it is gone, a zombie, or there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name: state is the first, start time the 20th.
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else fields[19]


def owner_alive(labels: dict[str, str]) -> bool:
    """Whether the owner ``labels`` name may still run: False only when this host can tell it is gone."""
    if labels.get(OWNER_HOST_LABEL) != socket.gethostname():
        return True  # another machine's process: nothing here can tell, leave it alone
    try:
        pid = int(labels[OWNER_PID_LABEL])
    except (KeyError, ValueError):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = labels.get(OWNER_START_LABEL)
    if not started or not Path("/proc").is_dir():
        return True
    # A different start time is a new process that reuses the pid.
    return process_start(pid) == started
