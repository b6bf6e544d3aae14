"""What runs in a cluster, read through its API server: every governed kind in every namespace, page by page.

``winpod audit --cluster`` judges these documents as it judges a
``kubectl get -o json`` export, without kubectl: the kubeconfig (its
contexts, exec plugins such as AKS's) is read by the official client.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from harness.documents import Document
from harness.errors import ClusterError
from harness.kinds import WORKLOADS

if TYPE_CHECKING:
    from harness.cluster.api import Api

logger = logging.getLogger(__name__)

PAGE = 500


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("live cluster")
    group.add_argument("--cluster", action="store_true",
                       help="audit what runs in the cluster of the kubeconfig instead of files (no kubectl needed)")
    group.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    group.add_argument("--context", help="kubeconfig context (default: its current-context)")


def objects(api: Api, *, limit: int = PAGE) -> Iterator[dict]:
    """Every object of every governed kind the server serves, across namespaces, ``limit`` a page.

    List items come without ``apiVersion`` and ``kind``; they are put back,
    as ``kubectl get -o json`` does, so each object is judged as its kind.
    """
    from harness.cluster.api import Unserved

    for kind, (api_version, _) in WORKLOADS.items():
        try:
            resource = api.resource(api_version, kind)
        except Unserved:
            logger.info("%s: the server serves no %s %s, none to audit", api.where, api_version, kind)
            continue
        for page in api.list_pages(resource, limit=limit):
            for item in page.get("items") or []:
                yield {"apiVersion": api_version, "kind": kind, **item}


def read(kubeconfig: str | None, context: str | None, *, limit: int = PAGE) -> list[Document]:
    """The cluster's governed objects as documents of one source naming the cluster."""
    from harness.cluster.api import Api

    api = Api.from_kubeconfig(kubeconfig, context)
    source = f"cluster {context or api.where}"
    try:
        return [Document(source, number, 1, obj) for number, obj in enumerate(objects(api, limit=limit), start=1)]
    except ClusterError as exc:
        raise ClusterError(f"{exc} (kubeconfig {kubeconfig or 'default'}"
                           f"{f', context {context}' if context else ''})") from exc
    finally:
        api.close()
