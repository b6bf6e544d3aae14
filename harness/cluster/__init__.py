"""A real Kubernetes API server for the harness: a local cluster, and any cluster a kubeconfig names.

Names are loaded on first use: the ``kubernetes`` client takes a sixth of a
second to import, which every ``winpod`` command would otherwise pay.
"""

import importlib

_EXPORTS = {
    "Api": "harness.cluster.api", "Resource": "harness.cluster.api", "Response": "harness.cluster.api",
    "Unserved": "harness.cluster.api", "LocalCluster": "harness.cluster.local",
    "gatekeeper_webhook_configuration": "harness.cluster.local",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
