"""The admission section of ``winpod bench``: latency through Gatekeeper and through OPA in one API server.

Both webhooks are registered in one local cluster, each limited by a
``matchCondition`` to one requesting user, and each request is made as one of
the two (by impersonation), so it reaches one engine, object unchanged. Every object is sent
to one and then at once to the other (the order alternating by round), so the
shared machine's load weighs on both alike; the time is the client's, from
request to answer, so it includes the API server's own work, the same on both
sides. Objects the API server refuses itself never reach a webhook and are
left out. Cluster start to first refusal counts from nothing running to the
first pod Gatekeeper refuses (templates, constraints and all).
"""

import time

from harness.cluster.admission import dry_run, only_from, opa_webhook
from harness.cluster.gatekeeper import apply_constraints, install_templates
from harness.cluster.local import LocalCluster, gatekeeper_webhook_configuration
from harness.config import default_config

ROUNDS = 2
USERS = {"gatekeeper": "winpod-bench:gatekeeper", "opa": "winpod-bench:opa"}
_REFUSED = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bench-probe"},
            "spec": {"os": {"name": "windows"}, "containers": [
                {"name": "app", "image": "mcr.microsoft.com/windows/servercore:ltsc2022",
                 "securityContext": {"windowsOptions": {"runAsUserName": "ContainerAdministrator"}}}]}}


def rows(objects: list[dict], config: dict | None, image: str | None) -> list[tuple[str, str, str, str]]:
    config = config or default_config()
    began = time.perf_counter()
    with LocalCluster(gatekeeper=True) as cluster:
        install_templates(cluster)
        apply_constraints(cluster, config)
        cluster.api.apply(gatekeeper_webhook_configuration(cluster.gatekeeper_url, cluster.ca_bundle))
        while dry_run(cluster.api, _REFUSED, "default").denied_by is None:
            time.sleep(0.05)
        first_refusal = time.perf_counter() - began
        cluster.api.apply(gatekeeper_webhook_configuration(cluster.gatekeeper_url, cluster.ca_bundle,
                                                           only_from(USERS["gatekeeper"])))
        apis = {engine: cluster.api.as_user(user) for engine, user in USERS.items()}
        with opa_webhook(cluster, image=image, match_conditions=only_from(USERS["opa"])) as opa:
            opa.put_config(config)
            for namespace in sorted({obj["metadata"]["namespace"] for obj in objects}):
                cluster.ensure_namespace(namespace)
            times: dict[str, list[float]] = {"gatekeeper": [], "opa": []}
            admitted = [obj for obj in objects
                        if not dry_run(apis["opa"], obj, obj["metadata"]["namespace"]).api_refusal]
            for number in range(ROUNDS):
                for obj in admitted:
                    for engine in (("gatekeeper", "opa") if number % 2 == 0 else ("opa", "gatekeeper")):
                        start = time.perf_counter()
                        dry_run(apis[engine], obj, obj["metadata"]["namespace"])
                        times[engine].append(time.perf_counter() - start)
    result = [("admission (dry-run create through a local kube-apiserver), objects it accepts",
               f"{len(admitted)}/{len(objects)}", "", "")]
    for engine, label in (("gatekeeper", "Gatekeeper webhook"), ("opa", "OPA webhook (/v0/data/winpod/admission)")):
        ordered = sorted(times[engine])
        result.append((f"  through {label}, {ROUNDS} interleaved rounds: p50", f"{_ms(ordered, 50)} ms", "", ""))
        result.append(("    p99", f"{_ms(ordered, 99)} ms", "", ""))
    result.append(("cluster start to first refusal (etcd, kube-apiserver, Gatekeeper, templates, constraints)",
                   f"{first_refusal:.1f} s", "", ""))
    return result


def _ms(ordered: list[float], pct: int) -> str:
    rank = max(1, -(-pct * len(ordered) // 100))
    return f"{ordered[rank - 1] * 1000:.1f}"
