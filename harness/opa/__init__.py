"""The OPA server the harness asks for decisions: in a container or a subprocess, one client API.

    with OpaServer.docker() as opa:
        opa.load_policies("policies")
        opa.put_config(config)
        opa.decide(manifest)
"""

from harness.opa.client import (
    BATCH_CHUNK,
    BATCH_PATH,
    CONFIG_PATH,
    DECISION_PATH,
    POLICIES,
    Evaluation,
    OpaClient,
    map_batches,
)
from harness.opa.docker import docker_client
from harness.opa.server import OpaServer
from harness.owners import LABEL, OWNER_PID_LABEL, RUN_ID_ENV, RUN_LABEL

__all__ = [
    "BATCH_CHUNK", "BATCH_PATH", "CONFIG_PATH", "DECISION_PATH", "LABEL", "OWNER_PID_LABEL", "POLICIES",
    "RUN_ID_ENV", "RUN_LABEL", "Evaluation", "OpaClient", "OpaServer", "docker_client",
    "map_batches",
]
