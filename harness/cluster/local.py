"""A local cluster for the length of a ``with`` block: etcd, kube-apiserver and, if asked, Gatekeeper.

    with LocalCluster(gatekeeper=True) as cluster:
        cluster.api.create(pod, "default")

Each component is a pinned binary from .tools (``make cluster-tools``) on free
loopback ports, with certificates generated for the run. Starting polls each
one's health within a bounded time and puts the component's log tail in the
error; a failed start tears down what did start. Nothing outlives the block,
nor a harness killed by SIGKILL (see ``processes``).
"""

import base64
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import kubernetes.client
import requests
import yaml

from harness.cluster import certs
from harness.cluster.api import Api
from harness.cluster.processes import Component, make_workdir
from harness.errors import ClusterError, HarnessError
from harness.opa.server import free_port
from harness.tools import tool_path

logger = logging.getLogger(__name__)

ETCD_TIMEOUT = 30.0
APISERVER_TIMEOUT = 60.0
GATEKEEPER_TIMEOUT = 90.0
GATEKEEPER_NAMESPACE = "gatekeeper-system"
GATEKEEPER_WEBHOOK = "validation.gatekeeper.sh"
GATEKEEPER_WEBHOOK_CONFIGURATION = "gatekeeper-validating-webhook-configuration"
# The subresources Gatekeeper's chart (v3.23.0 values.yaml) sends to its
# webhook beside every resource; pods/ephemeralcontainers is how `kubectl
# debug` adds a container to a running pod.
GATEKEEPER_SUBRESOURCES = (
    "pods/ephemeralcontainers", "pods/exec", "pods/log", "pods/eviction", "pods/portforward", "pods/proxy",
    "pods/attach", "pods/binding", "pods/resize", "deployments/scale", "replicasets/scale", "statefulsets/scale",
    "replicationcontrollers/scale", "services/proxy", "nodes/proxy", "services/status",
)
_POLL = 0.1


def _local_session() -> requests.Session:
    session = requests.Session()
    # Else $REQUESTS_CA_BUNDLE, when set, replaces the cluster's CA on every request.
    session.trust_env = False
    return session



def _binary(name: str) -> Path:
    try:
        return tool_path(name)
    except HarnessError as exc:
        raise ClusterError(f"{name} is not built ({exc}); build it with `make cluster-tools`") from exc


class LocalCluster:
    def __init__(self, *, gatekeeper: bool = False, audit_interval: int = 0,
                 etcd_timeout: float = ETCD_TIMEOUT, apiserver_timeout: float = APISERVER_TIMEOUT,
                 gatekeeper_timeout: float = GATEKEEPER_TIMEOUT):
        self._with_gatekeeper = gatekeeper
        self._audit_interval = audit_interval
        self._etcd_timeout = etcd_timeout
        self._apiserver_timeout = apiserver_timeout
        self._gatekeeper_timeout = gatekeeper_timeout
        self._components: list[Component] = []
        self._session: requests.Session | None = None
        self.workdir: Path | None = None
        self.api: Api | None = None
        self.url = ""
        self.gatekeeper: Component | None = None
        self.gatekeeper_url = ""

    # --- lifecycle ----------------------------------------------------------------

    def __enter__(self) -> "LocalCluster":
        try:
            self._start()
        except BaseException:
            self._shut_down()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._shut_down()

    @property
    def components(self) -> tuple[Component, ...]:
        """The processes running now, in the order they started (etcd first)."""
        return tuple(self._components)

    def _start(self) -> None:
        started = time.monotonic()
        self.workdir = make_workdir()
        pki = self.workdir / "pki"
        pki.mkdir()
        self.ca = certs.CertificateAuthority(pki)
        serving = self.ca.issue(pki, "serving", "kube-apiserver", server=True)
        self.admin = self.ca.issue(pki, "admin", "winpod-admin", organization="system:masters", client=True)
        service_accounts = certs.signing_key(pki, "service-accounts")

        etcd_port, peer_port = free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        etcd = self._run("etcd", [
            "--name", "winpod", "--data-dir", str(self.workdir / "etcd"),
            "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"winpod=http://127.0.0.1:{peer_port}",
            "--log-level", "warn",
            # One run's data, thrown away after it: no crash to survive.
            "--unsafe-no-fsync",
        ])
        self._wait(etcd, self._etcd_timeout, f"{etcd_url}/health", lambda r: r.ok and r.json().get("health") == "true",
                   own_session=True)

        port = free_port()
        self.url = f"https://127.0.0.1:{port}"
        apiserver = self._run("kube-apiserver", [
            "--etcd-servers", etcd_url,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", str(port),
            "--tls-cert-file", str(serving.cert), "--tls-private-key-file", str(serving.key),
            "--client-ca-file", str(self.ca.cert),
            "--service-account-key-file", str(service_accounts.cert),
            "--service-account-signing-key-file", str(service_accounts.key),
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range", "10.96.0.0/24",
            "--authorization-mode", "RBAC",
            # Without it the API server refuses every HostProcess pod itself,
            # and the webhooks would never be asked.
            "--allow-privileged=true",
            # No node, no kube-proxy: the kubernetes Service would point at 127.0.0.1.
            "--endpoint-reconciler-type", "none",
            "--profiling=false",
        ])
        self._session = _local_session()
        self._session.verify = str(self.ca.cert)
        self._session.cert = (str(self.admin.cert), str(self.admin.key))
        self._wait(apiserver, self._apiserver_timeout, f"{self.url}/readyz", lambda r: r.ok)
        self.kubeconfig = self._write_kubeconfig()
        configuration = kubernetes.client.Configuration()
        configuration.host = self.url
        configuration.ssl_ca_cert = str(self.ca.cert)
        configuration.cert_file = str(self.admin.cert)
        configuration.key_file = str(self.admin.key)
        self.api = Api(kubernetes.client.ApiClient(configuration), f"the local API server at {self.url}")
        # No controller-manager runs: nothing else creates it, and the
        # ServiceAccount admission plugin refuses pods without it.
        self.ensure_namespace("default")
        logger.info("API server ready at %s after %.1fs", self.url, time.monotonic() - started)
        if self._with_gatekeeper:
            self._start_gatekeeper()
            logger.info("Gatekeeper ready at %s after %.1fs", self.gatekeeper_url, time.monotonic() - started)

    def _run(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Component:
        component = Component(name, _binary(name), args, self.workdir / f"{name}.log", env)
        self._components.append(component)
        return component

    def _wait(self, component: Component, timeout: float, url: str, ready: Callable[[requests.Response], bool],
              own_session: bool = False) -> None:
        """Poll ``url`` until ``ready``; ``own_session``: without the cluster's client certificate."""
        if own_session:
            with _local_session() as session:
                return self._poll(component, timeout, url, ready, session)
        return self._poll(component, timeout, url, ready, self._session)

    def _poll(self, component: Component, timeout: float, url: str, ready: Callable[[requests.Response], bool],
              session: requests.Session) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            component.check_running(f"while starting (waiting for {url})")
            try:
                response = session.get(url, timeout=2)
                if ready(response):
                    return
                last = f"HTTP {response.status_code} {response.text[:200]}"
            except (requests.exceptions.RequestException, ValueError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise ClusterError(f"{component.name} was not ready at {url} within {timeout:g}s "
                                   f"(last: {last}){component.log_tail()}")
            time.sleep(_POLL)

    def _shut_down(self) -> None:
        if self.api is not None:
            self.api.close()
            self.api = None
        if self._session is not None:
            self._session.close()
            self._session = None
        # Gatekeeper first, etcd last: each talks to the one started before it.
        while self._components:
            self._components.pop().stop()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def _write_kubeconfig(self) -> Path:
        path = self.workdir / "kubeconfig"
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "winpod-local",
            "clusters": [{"name": "winpod-local", "cluster": {"server": self.url, "certificate-authority": str(self.ca.cert)}}],
            "users": [{"name": "winpod-admin", "user": {"client-certificate": str(self.admin.cert),
                                                       "client-key": str(self.admin.key)}}],
            "contexts": [{"name": "winpod-local", "context": {"cluster": "winpod-local", "user": "winpod-admin"}}],
        }), encoding="utf-8")
        return path

    # --- objects --------------------------------------------------------------------

    @property
    def ca_bundle(self) -> str:
        return base64.b64encode(self.ca.pem).decode()

    def ensure_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        """The namespace (with ``labels``) and its ``default`` ServiceAccount."""
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        if labels:
            namespace["metadata"]["labels"] = labels
        self.api.apply(namespace)
        self.api.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}})

    def wait_until(self, what: str, check: Callable[[], bool], timeout: float, component: Component | None = None) -> None:
        """Poll ``check`` until true; on timeout the error names ``what`` and the component's log tail."""
        deadline = time.monotonic() + timeout
        while not check():
            if component is not None:
                component.check_running(f"while waiting for {what}")
            if time.monotonic() > deadline:
                tail = component.log_tail() if component is not None else ""
                raise ClusterError(f"{what} did not happen within {timeout:g}s{tail}")
            time.sleep(_POLL)

    # --- Gatekeeper -----------------------------------------------------------------

    def _start_gatekeeper(self) -> None:
        binary = _binary("gatekeeper")
        crds = binary.resolve().parent / "crds"
        if not crds.is_dir():
            raise ClusterError(f"the Gatekeeper CRDs are missing ({crds}); build them with `make cluster-tools`")
        for path in sorted(crds.glob("*.yaml")):
            for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                if document:
                    self.api.apply(document)
        self.wait_until("the Gatekeeper CRDs being established", self._crds_established, 30)
        self.ensure_namespace(GATEKEEPER_NAMESPACE)
        tls = self.workdir / "gatekeeper-tls"
        tls.mkdir()
        # tls.crt and tls.key: the names Gatekeeper reads from --cert-dir.
        self.ca.issue(tls, "tls", "gatekeeper-webhook", server=True)
        audit_cache = self.workdir / "gatekeeper-audit"
        audit_cache.mkdir()
        port, health = free_port(), free_port()
        self.gatekeeper_url = f"https://127.0.0.1:{port}/v1/admit"
        self.gatekeeper = self._run("gatekeeper", [
            "--kubeconfig", str(self.kubeconfig),
            "--host", "127.0.0.1", "--port", str(port), "--cert-dir", str(tls), "--disable-cert-rotation",
            "--health-addr", f"127.0.0.1:{health}", "--metrics-addr", "0",
            # The default metrics backend, prometheus, listens on every interface (":PORT", no host flag). The
            # OpenTelemetry one listens nowhere; it would push to this closed loopback port, once a day.
            "--metrics-backend", "opentelemetry", "--otlp-endpoint", "127.0.0.1:9", "--otlp-metric-interval", "24h",
            # Without generate the constraint CRDs of the templates never appear.
            "--operation", "webhook", "--operation", "audit", "--operation", "status", "--operation", "generate",
            "--audit-interval", str(self._audit_interval), "--constraint-violations-limit", "20",
            "--api-cache-dir", str(audit_cache),
            "--debug-use-fake-pod", "--shutdown-delay", "0", "--log-level", "INFO",
            "--exempt-namespace", GATEKEEPER_NAMESPACE,
        ], env={"POD_NAMESPACE": GATEKEEPER_NAMESPACE, "POD_NAME": "gatekeeper-local"})
        self._wait(self.gatekeeper, self._gatekeeper_timeout, f"http://127.0.0.1:{health}/readyz", lambda r: r.ok,
                   own_session=True)
        self.api.apply(gatekeeper_webhook_configuration(self.gatekeeper_url, self.ca_bundle))

    def _crds_established(self) -> bool:
        listing = self.api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", "the CRDs")
        return all(any(c.get("type") == "Established" and c.get("status") == "True"
                       for c in (crd.get("status") or {}).get("conditions") or [])
                   for crd in listing.get("items", []))


def gatekeeper_webhook_configuration(url: str, ca_bundle: str, match_conditions: list[dict] | None = None) -> dict:
    """Gatekeeper's ValidatingWebhookConfiguration as its chart (v3.23.0, defaults) writes it, at ``url``."""
    configuration = {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": GATEKEEPER_WEBHOOK_CONFIGURATION},
        "webhooks": [{
            "name": GATEKEEPER_WEBHOOK,
            "admissionReviewVersions": ["v1", "v1beta1"],
            "clientConfig": {"url": url, "caBundle": ca_bundle},
            "failurePolicy": "Fail",
            "matchPolicy": "Exact",
            "namespaceSelector": {"matchExpressions": [
                {"key": "admission.gatekeeper.sh/ignore", "operator": "DoesNotExist"},
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [GATEKEEPER_NAMESPACE]},
            ]},
            "objectSelector": {},
            "rules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
                       "resources": ["*", *GATEKEEPER_SUBRESOURCES], "scope": "*"}],
            "sideEffects": "None",
            # The chart's 3 s is for a cluster with nothing else running; the
            # shared machine of CI needs more for the first requests.
            "timeoutSeconds": 10,
        }],
    }
    if match_conditions:
        configuration["webhooks"][0]["matchConditions"] = match_conditions
    return configuration
