"""A real Kubernetes API server for the harness: a local cluster, and any cluster a kubeconfig names."""

from harness.cluster.api import Api, Resource, Response, Unserved
from harness.cluster.local import LocalCluster, free_port, gatekeeper_webhook_configuration

__all__ = ["Api", "LocalCluster", "Resource", "Response", "Unserved", "free_port", "gatekeeper_webhook_configuration"]
