"""``winpod bundle`` (``make bundle``): the policies as an OPA bundle, config included.

A bundle owns its roots (``winpod``, ``lib``), so an OPA server running it refuses
``PUT /v1/data/winpod/config``: a bundle deployment carries its config inside,
at ``winpod/config``, validated exactly as the harness validates a config file.
Without ``--config`` the bundle runs on the policies' built-in default.
"""

import json
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.config import load_config
from harness.errors import HarnessError
from harness.opa import POLICIES
from harness.tools import tool_path

logger = logging.getLogger(__name__)

TEST_SUFFIX = "_test.rego"


def build(output: Path, *, config_path: str | None = None, revision: str = "dev", policies: Path = POLICIES) -> Path:
    """Write the bundle to ``output``; a bad config is refused before anything is written."""
    config = load_config(config_path) if config_path else None
    with tempfile.TemporaryDirectory(prefix="winpod-bundle-") as staging:
        root = Path(staging)
        for source in sorted(policies.rglob("*")):
            if source.is_file() and not source.name.endswith(TEST_SUFFIX):
                target = root / source.relative_to(policies)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
        if config is not None:
            (root / "winpod" / "config").mkdir(parents=True, exist_ok=True)
            (root / "winpod" / "config" / "data.json").write_text(json.dumps(config, indent=2, sort_keys=True))
        output = output.resolve()
        output.parent.mkdir(parents=True, exist_ok=True)
        # Run inside the staging directory so module names in the bundle are
        # its own paths (winpod/rules/hostpath/hostpath.rego), not the temp dir's.
        command = [str(tool_path("opa")), "build", "--bundle", ".", "--revision", revision, "-o", str(output)]
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise HarnessError(f"opa build failed: {done.stderr.strip() or done.stdout.strip()}")
    return output
