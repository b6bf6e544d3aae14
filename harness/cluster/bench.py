"""The admission section of ``winpod bench``: latency through Gatekeeper, OPA and the generated
ValidatingAdmissionPolicies in one API server.

Both webhooks and the policies are installed in one local cluster, each
limited by a ``matchCondition`` to one requesting user, and each request is
made as one of the three (by impersonation), so it reaches one engine, object
unchanged; a fourth user reaches none, for the API server's own share. Every object is sent to each engine in turn, straight after one
another, the order rotating by round (each first, second, third and last once),
so the shared machine's load weighs on all alike; the time is the client's,
from request to answer, so it includes the API server's own work, the same on
every side. Objects the API server refuses itself never reach an engine and
are left out. Cluster start to first refusal counts from nothing running to
the first pod Gatekeeper refuses (templates, constraints and all); policies
applied to enforced, from the first ``ValidatingAdmissionPolicy`` written to
the API server enforcing the last binding.
"""

import time

from harness.cluster import vap
from harness.cluster.admission import dry_run, only_from, opa_webhook
from harness.cluster.gatekeeper import apply_constraints, install_templates
from harness.cluster.local import LocalCluster, gatekeeper_webhook_configuration
from harness.config import default_config

# "none" is routed to no engine: the API server's own share of every figure.
USERS = {"gatekeeper": "winpod-bench:gatekeeper", "opa": "winpod-bench:opa", "vap": "winpod-bench:vap",
         "none": "winpod-bench:none"}
ARMS = tuple(USERS)
ENGINES = ARMS[:-1]
ROUNDS = len(ARMS)  # one rotation: each arm takes each place in the order once
LABELS = {"gatekeeper": "Gatekeeper webhook", "opa": "OPA webhook (/v0/data/winpod/admission)",
          "vap": "ValidatingAdmissionPolicies (winpod vap)", "none": "API server alone (no engine)"}
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
            applied = time.perf_counter()
            vap.apply_policies(cluster, config, match_conditions=only_from(USERS["vap"]))
            enforced = time.perf_counter() - applied
            for namespace in sorted({obj["metadata"]["namespace"] for obj in objects}):
                cluster.ensure_namespace(namespace)
            times: dict[str, list[float]] = {arm: [] for arm in ARMS}
            # Each engine's verdict on each object: an engine the routing missed would answer fast and allow all.
            allowed: dict[str, dict[int, bool]] = {arm: {} for arm in ARMS}
            ask = {"gatekeeper": dry_run, "opa": dry_run, "vap": vap.dry_run, "none": dry_run}
            admitted = [obj for obj in objects
                        if not dry_run(apis["opa"], obj, obj["metadata"]["namespace"]).api_refusal]
            for number in range(ROUNDS):
                order = ARMS[number:] + ARMS[:number]
                for index, obj in enumerate(admitted):
                    for engine in order:
                        start = time.perf_counter()
                        answer = ask[engine](apis[engine], obj, obj["metadata"]["namespace"])
                        times[engine].append(time.perf_counter() - start)
                        allowed[engine][index] = answer.allowed
    result = [("admission (dry-run create through a local kube-apiserver), objects it accepts",
               f"{len(admitted)}/{len(objects)}", "", "")]
    differing = sum(len({allowed[engine][index] for engine in ENGINES}) > 1 for index in range(len(admitted)))
    result.append(("  refused by " + ", ".join(f"{engine} {sum(not v for v in allowed[engine].values())}"
                                             for engine in ENGINES) + "; objects the verdicts differ on",
                   str(differing), "", ""))
    for engine in ARMS:
        ordered = sorted(times[engine])
        result.append((f"  through the {LABELS[engine]}, {ROUNDS} rotated rounds: p50", f"{_ms(ordered, 50)} ms", "", ""))
        result.append(("    p99", f"{_ms(ordered, 99)} ms", "", ""))
    result.append(("cluster start to first refusal (etcd, kube-apiserver, Gatekeeper, templates, constraints)",
                   f"{first_refusal:.1f} s", "", ""))
    result.append(("ValidatingAdmissionPolicies applied to enforced", f"{enforced:.1f} s", "", ""))
    return result


def _ms(ordered: list[float], pct: int) -> str:
    rank = max(1, -(-pct * len(ordered) // 100))
    return f"{ordered[rank - 1] * 1000:.1f}"
