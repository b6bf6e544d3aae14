"""The OPA server the harness asks for decisions (being split into client, server and backends)."""

from harness.opa.client import (
    BATCH_CHUNK,
    BATCH_PATH,
    DECISION_PATH,
    LABEL,
    OWNER_PID_LABEL,
    POLICIES,
    RUN_ID_ENV,
    RUN_LABEL,
    OpaClient,
    OpaServer,
    add_server_arguments,
    docker_client,
    serving,
)

__all__ = [
    "BATCH_CHUNK", "BATCH_PATH", "DECISION_PATH", "LABEL", "OWNER_PID_LABEL", "POLICIES", "RUN_ID_ENV", "RUN_LABEL",
    "OpaClient", "OpaServer", "add_server_arguments", "docker_client", "serving",
]
