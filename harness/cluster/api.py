"""A Kubernetes API server through the official client: discovery, apply, dry-run create, paginated list.

The ``kubernetes`` package authenticates (client certificates, tokens, exec
plugins such as AKS's ``kubelogin``, all from a kubeconfig); requests go
through its ``ApiClient`` by path, so any kind the server serves - custom
resources included - is reached the same way, and the response's warnings
(``Warning`` headers) and status are read as the server wrote them.
"""

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import kubernetes.client
import kubernetes.config
import urllib3

from harness.errors import ClusterError

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT = 30.0
FIELD_MANAGER = "winpod-guard"
_WARNING = re.compile(r'^\d{3} \S+ "((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Resource:
    """Where objects of one kind live: ``/api/v1`` or ``/apis/group/version``, plural name, namespaced or not."""

    prefix: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None, name: str | None = None, subresource: str | None = None) -> str:
        parts = [self.prefix]
        if self.namespaced and namespace is not None:
            parts += ["namespaces", quote(namespace, safe="")]
        parts.append(self.plural)
        if name is not None:
            parts.append(quote(name, safe=""))
        if subresource is not None:
            parts.append(subresource)
        return "/".join(parts)


@dataclass
class Response:
    status: int
    body: dict
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def message(self) -> str:
        return str(self.body.get("message", "")) if isinstance(self.body, dict) else ""

    @property
    def reason(self) -> str:
        return str(self.body.get("reason", "")) if isinstance(self.body, dict) else ""


class Unserved(ClusterError):
    """The API server serves no such apiVersion and kind."""


class Api:
    def __init__(self, client: kubernetes.client.ApiClient, where: str):
        self._client = client
        self.where = where
        self._group_versions: dict[str, dict[str, Resource]] = {}
        self._headers: dict[str, str] = {}
        self._owns_client = True

    def as_user(self, user: str) -> "Api":
        """The same client acting as ``user`` (in ``system:masters``) through impersonation; closing it is a no-op."""
        other = Api(self._client, self.where)
        other._group_versions = self._group_versions
        other._headers = {"Impersonate-User": user, "Impersonate-Group": "system:masters"}
        other._owns_client = False
        return other

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str | Path | None = None, context: str | None = None) -> "Api":
        """A client of the cluster a kubeconfig names (default: $KUBECONFIG, else ~/.kube/config)."""
        try:
            client = kubernetes.config.new_client_from_config(
                config_file=str(kubeconfig) if kubeconfig else None, context=context, persist_config=False)
        except (kubernetes.config.ConfigException, OSError, ValueError, TypeError) as exc:
            shown = kubeconfig or "the default kubeconfig"
            raise ClusterError(f"{shown}: cannot use it{f' (context {context})' if context else ''}: {exc}") from exc
        return cls(client, client.configuration.host)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def request(self, method: str, path: str, *, query: list[tuple[str, str]] | None = None, body: object = None,
                content_type: str = "application/json", timeout: float = REQUEST_TIMEOUT) -> Response:
        headers = {"Accept": "application/json", **self._headers}
        if body is not None:
            headers["Content-Type"] = content_type
        serialized = self._client.param_serialize(method, path, query_params=query or [], header_params=headers,
                                                  body=body, auth_settings=["BearerToken"])
        try:
            raw = self._client.call_api(*serialized, _request_timeout=timeout)
            data = raw.read()
        except (kubernetes.client.ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterError(f"{method} {path} on {self.where} failed: {exc}") from exc
        try:
            decoded = json.loads(data) if data else {}
        except ValueError:
            decoded = {"message": data.decode(errors="replace")[:500]}
        warnings = [_unquote(value) for value in raw.headers.getlist("Warning")] if hasattr(raw.headers, "getlist") else []
        return Response(raw.status, decoded if isinstance(decoded, dict) else {"items": decoded}, warnings)

    def get(self, path: str, what: str) -> dict:
        response = self.request("GET", path)
        if not response.ok:
            raise ClusterError(f"{self.where}: cannot read {what} ({path}): HTTP {response.status} {response.message}")
        return response.body

    # --- discovery ------------------------------------------------------------------

    def resource(self, api_version: object, kind: object) -> Resource:
        """The resource of ``kind`` at ``api_version``; asks the server again once if it did not know it."""
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or api_version.count("/") > 1:
            raise Unserved(f"the API server serves no apiVersion {api_version!r}")
        for fresh in (False, True):
            resources = self._resources(api_version, fresh)
            if kind in resources:
                return resources[kind]
        raise Unserved(f"the API server serves no {kind} in {api_version}")

    def _resources(self, api_version: str, fresh: bool) -> dict[str, Resource]:
        if fresh or api_version not in self._group_versions:
            prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            response = self.request("GET", prefix)
            found: dict[str, Resource] = {}
            if response.ok:
                for entry in response.body.get("resources", []):
                    if "/" not in entry["name"]:
                        found[entry["kind"]] = Resource(prefix, entry["name"], entry["namespaced"])
            elif response.status != 404:
                raise ClusterError(f"{self.where}: discovery of {prefix} failed: HTTP {response.status} {response.message}")
            self._group_versions[api_version] = found
        return self._group_versions[api_version]

    # --- writing --------------------------------------------------------------------

    def apply(self, obj: dict) -> dict:
        """Server-side apply of ``obj`` (``kubectl apply --server-side --force-conflicts``); the object as stored."""
        resource = self.resource(obj.get("apiVersion"), obj.get("kind"))
        metadata = obj.get("metadata") or {}
        path = resource.path(metadata.get("namespace") or "default", metadata["name"])
        response = self.request("PATCH", path, query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
                                body=obj, content_type="application/apply-patch+yaml")
        if not response.ok:
            raise ClusterError(f"{self.where}: applying {obj.get('kind')}/{metadata.get('name')} was refused: "
                               f"HTTP {response.status} {response.message}")
        return response.body

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        response = self.request("DELETE", self.resource(api_version, kind).path(namespace, name))
        if not response.ok and response.status != 404:
            raise ClusterError(f"{self.where}: deleting {kind}/{name} was refused: HTTP {response.status} {response.message}")

    def create(self, obj: dict, namespace: str, *, dry_run: bool = True) -> Response:
        """POST ``obj`` into ``namespace`` (with ``dryRun=All`` unless told otherwise): the server's answer as is."""
        resource = self.resource(obj.get("apiVersion"), obj.get("kind"))
        query = [("dryRun", "All")] if dry_run else []
        return self.request("POST", resource.path(namespace), query=query, body=obj)

    # --- reading --------------------------------------------------------------------

    def list_pages(self, resource: Resource, *, limit: int = 500):
        """Every object of ``resource`` in every namespace, ``limit`` a page, following ``continue``."""
        token = None
        while True:
            query = [("limit", str(limit))] + ([("continue", token)] if token else [])
            response = self.request("GET", resource.path(None), query=query)
            if not response.ok:
                raise ClusterError(f"{self.where}: cannot list {resource.plural}: HTTP {response.status} {response.message}")
            yield response.body
            token = (response.body.get("metadata") or {}).get("continue")
            if not token:
                return


def _unquote(header: str) -> str:
    found = _WARNING.match(header)
    if not found:
        return header
    return re.sub(r"\\(.)", r"\1", found.group(1))
