"""Where the pinned tools are: the Makefile builds them into .tools/bin."""

import os
import shutil
from pathlib import Path

from harness.errors import HarnessError

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = REPO_ROOT / ".tools" / "bin"


def tool_path(name: str) -> Path:
    """The ``name`` binary: $WINPOD_<NAME> (``-`` as ``_``), else .tools/bin/<name>, else PATH."""
    variable = "WINPOD_" + name.upper().replace("-", "_")
    override = os.environ.get(variable)
    if override:
        candidate = Path(override)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
        raise HarnessError(f"{variable}={override} is not an executable file")
    candidate = TOOLS_BIN / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    raise HarnessError(f"{name} not found in {TOOLS_BIN} or on PATH: run `make setup`")
