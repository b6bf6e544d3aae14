"""The generated ValidatingAdmissionPolicies agree with the Rego, case by case, in a real API server (issue 14).

Each config of the fixture corpus is generated with ``winpod vap`` (the
entries of the rules that have CEL under vap/) and applied to a local
kube-apiserver; every case's object is created with ``dryRun=All`` (an
ephemeral container goes the way ``kubectl debug`` does, as in
test_admission). The same object goes to the Rego decision API under the
same config, and the two must agree: the same verdict over those rules, a
refusal naming every deny constraint the Rego names, a warning for every warn
constraint. A case may differ only when DEPARTURES lists it, and then exactly as
listed: refused, beyond the Rego's constraints, by the constraints its entry
adds (never fewer, never allowed where the Rego denies). A listed case that
stops departing is a stale entry and fails too.
Cases the API server refuses itself prove nothing about admission; they are counted apart.
"""

import copy
import json
import re
from dataclasses import dataclass

import pytest
from test_admission import (
    API,
    CORPUS,
    DEBUG_CASES,
    DEBUG_CONFIG,
    _host_process_pod,
    _windows_pod,
    config_of,
    ensure_runtime_class,
    namespace_of,
)

from harness.cluster import LocalCluster
from harness.cluster.vap import VapOutcome, apply_policies, dry_run, remove_policies, vap_outcome
from harness.config import validate_config
from harness.errors import HarnessError
from harness.tools import REPO_ROOT
from harness.vap import cel_rules

pytestmark = [pytest.mark.cluster, pytest.mark.docker]

CEL_RULES = frozenset(cel_rules())

# README "CEL departures", by the bold name each has there.
ADMIN, PATHS, SIGNALS = "Admin accounts", "hostPath paths", "Windows signals"


@dataclass(frozen=True)
class Departure:
    readme: str  # the README departure the case belongs to
    adds: frozenset[str]  # the constraints that refuse it through the VAP and not in the Rego


def _departure(readme: str, *adds: str) -> Departure:
    return Departure(readme, frozenset(adds))


_CEL = "fixtures/cel/departures.yaml::"
# Every case where the generated policies are stricter than the Rego, and how (fixtures/cel/departures.yaml).
DEPARTURES: dict[str, Departure] = {
    _CEL + "domain-wildcard-non-ascii-user": _departure(ADMIN, "users", "hostpath"),
    _CEL + "domain-wildcard-long-s-user": _departure(ADMIN, "users", "hostpath"),
    _CEL + "domain-wildcard-kelvin-user": _departure(ADMIN, "users", "hostpath"),
    _CEL + "hostpath-non-ascii-user": _departure(ADMIN, "hostpath"),
    _CEL + "hostprocess-domain-wildcard-non-ascii-user": _departure(ADMIN, "hostprocess-pinned"),
    _CEL + "windows-path-non-ascii": _departure(PATHS, "hostpath"),
    _CEL + "posix-path-non-ascii": _departure(PATHS, "hostpath"),
    _CEL + "pipe-non-ascii": _departure(PATHS, "hostpath"),
    _CEL + "subpath-non-ascii": _departure(PATHS, "hostpath"),
    _CEL + "entry-non-ascii": _departure(PATHS, "hostpath"),
}
# Cases of a departure that never reach a policy: the API server refuses a non-ASCII label value (node
# selector, affinity value, toleration value) itself. They must stay refused; one it admits is a departure
# to list above.
UNREACHABLE: dict[str, str] = {
    _CEL + "affinity-in-dotless-i": SIGNALS,
    _CEL + "toleration-dotless-i": SIGNALS,
    _CEL + "node-selector-dotless-i": SIGNALS,
}


@pytest.fixture(scope="module")
def cluster():
    try:
        with LocalCluster() as started:
            yield started
    except HarnessError as exc:
        pytest.fail(str(exc), pytrace=False)


def cel_config(config: dict) -> dict:
    return {**config, "constraints": [entry for entry in config["constraints"] if entry["rule"] in CEL_RULES]}


def rego_verdict(decision: dict, constraints: dict[str, str]) -> tuple[bool, set[str], set[str]]:
    """Allowed, the deny and the warn constraints of a decision, over the constraints of the CEL rules only."""
    ours = [v for v in decision["violations"] if v["constraint"] in constraints]
    deny = {v["constraint"] for v in ours if v["enforcementAction"] == "deny"}
    warn = {v["constraint"] for v in ours if v["enforcementAction"] == "warn"}
    return not deny, deny, warn


def disagreements(case_id: str, decision: dict, actions: dict[str, str], got: VapOutcome, each: VapOutcome) -> list[str]:
    """How the VAP's answers (as generated, and every binding Warn) differ from the Rego's decision plus the
    case's listed departure; empty when they agree."""
    departure = DEPARTURES.get(case_id)
    adds = departure.adds if departure else frozenset()
    allowed, rego_deny, rego_warn = rego_verdict(decision, actions)
    violated = {v["constraint"] for v in decision["violations"] if v["constraint"] in actions}
    problems = []
    if adds & violated or not adds <= set(actions):
        problems.append(f"{case_id}: DEPARTURES says the VAP adds {sorted(adds)}, but the Rego names "
                        f"{sorted(adds & violated)} itself, or the config has no {sorted(adds - set(actions))}")
    failing = violated | adds
    deny = rego_deny | {name for name in adds if actions.get(name) == "deny"}
    warn = rego_warn | {name for name in adds if actions.get(name) == "warn"}
    if departure and each.warned == violated:
        problems.append(f"{case_id}: listed as a CEL departure ({departure.readme}), but the VAP now agrees with the "
                        f"Rego ({sorted(violated)}): a stale entry")
    elif each.warned != failing:
        lax = sorted(violated - each.warned)
        problems.append(f"{case_id}: with every binding Warn, the policies failing are {sorted(each.warned)}, the "
                        f"constraints the Rego names {sorted(violated)}"
                        + (f" plus the listed departure's {sorted(adds)}" if adds else "")
                        + (f"; laxer than the Rego for {lax}" if lax else "") + f": {each.describe()}")
    if got.allowed != (not deny):
        problems.append(f"{case_id}: Rego {'allows' if allowed else 'denies (' + ', '.join(sorted(rego_deny)) + ')'}"
                        + (f", the listed departure adds {sorted(adds)}" if adds else "") + f", VAP: {got.describe()}")
    elif deny and not (got.constraints and got.constraints <= deny):
        problems.append(f"{case_id}: the refusal names {sorted(got.constraints)}, expected some of {sorted(deny)}: "
                        f"{got.describe()}")
    if not got.warned >= warn:
        problems.append(f"{case_id}: no warning from {sorted(warn - got.warned)}: {got.describe()}")
    return problems


# A policy's refusal, and its warning when it fails under a Warn binding; the generated messages go on
# `CODE: FIELD: what`.
_NAMED = re.compile(r"ValidatingAdmissionPolicy '([^']+)' with binding '[^']+'(?: denied request)?: "
                    r"([a-z]+\.[a-z-]+): (\S+): ")


def named_fields(outcome: VapOutcome) -> set[tuple[str, str, str]]:
    """(policy, code, field) of each refusal or warning whose message names its field."""
    return {found.groups() for text in (outcome.message, *outcome.warnings) for found in _NAMED.finditer(text)}


def field_problems(case_id: str, decision: dict, got: VapOutcome, each: VapOutcome) -> list[str]:
    """Where the VAP's messages differ from the Rego's violations: a (constraint, code, field) the refusal or a
    warning names and the Rego does not, or a policy failing (every binding Warn) without naming a field where
    the Rego names one."""
    rego = {(v["constraint"], v["code"], v.get("field")) for v in decision["violations"]}
    named = named_fields(each)
    problems = [f"{case_id}: {policy} names {code} at {field}, the Rego {sorted((k, f) for c, k, f in rego if c == policy)}"
                for policy, code, field in sorted((named | named_fields(got)) - rego)]
    expected = {c for c, code, _ in rego if not code.endswith(".malformed")} & each.warned
    for policy in sorted(expected - {p for p, _, _ in named}):
        problems.append(f"{case_id}: {policy} fails naming no field, the Rego {sorted((k, f) for c, k, f in rego if c == policy)}: "
                        f"{[w for w in each.warnings if repr(policy) in w]}")
    return problems


def _ephemeral(obj: dict) -> list | None:
    spec = obj.get("spec") if obj.get("kind") == "Pod" else None
    found = spec.get("ephemeralContainers") if isinstance(spec, dict) else None
    return found if isinstance(found, list) and found else None


def _debug(api, namespace: str, pod: str, containers: list) -> VapOutcome:
    path = api.resource("v1", "Pod").path(namespace, pod, "ephemeralcontainers")
    return vap_outcome(api.request("PATCH", path, query=[("dryRun", "All")], body={"spec": {"ephemeralContainers": containers}},
                                   content_type="application/strategic-merge-patch+json"))


def answers(cluster, members, debug_targets) -> list[VapOutcome | None]:
    """The API server's answer to each case (None: the pod an ephemeral container needs was refused)."""
    got = []
    for number, (_, obj) in enumerate(members):
        if number in debug_targets:
            target = debug_targets[number]
            got.append(None if isinstance(target, str) else _debug(cluster.api, *target, _ephemeral(obj)))
            continue
        namespace = namespace_of(obj)
        cluster.ensure_namespace(namespace)
        ensure_runtime_class(cluster, obj)
        got.append(dry_run(cluster.api, obj, namespace))
    return got


GROUPS = {name: members for name, members in CORPUS.items()
          if any(entry["rule"] in CEL_RULES for entry in config_of(name)["constraints"])}


@pytest.mark.parametrize("config_name", list(GROUPS))
def test_vap_and_rego_agree(config_name, cluster, opa):
    config = config_of(config_name)
    ours = cel_config(config)
    actions = {entry["name"]: entry["enforcementAction"] for entry in ours["constraints"]}
    members = GROUPS[config_name]
    # The pods kubectl debug would attach to exist before any policy does: only the patch is judged.
    remove_policies(cluster)
    debug_targets = {}
    for number, (_, obj) in enumerate(members):
        if _ephemeral(obj) is None:
            continue
        pod = copy.deepcopy(obj)
        del pod["spec"]["ephemeralContainers"]
        pod.setdefault("metadata", {}).pop("generateName", None)
        pod["metadata"]["name"] = f"vap-case-{number}"
        namespace = namespace_of(obj)
        cluster.ensure_namespace(namespace)
        ensure_runtime_class(cluster, obj)
        created = cluster.api.create(pod, namespace, dry_run=False)
        debug_targets[number] = (namespace, pod["metadata"]["name"]) if created.ok else created.message
    opa.put_config(config)
    decisions = opa.decide_many([obj for _, obj in members])
    problems, refusals = [], []
    try:
        # As generated: the verdict, and a refusal naming a deny constraint the Rego names.
        apply_policies(cluster, ours)
        enforced = answers(cluster, members, debug_targets)
        # Every binding Warn: each failing policy warns, so each constraint's verdict is seen.
        apply_policies(cluster, ours, warn_only=True)
        warned = answers(cluster, members, debug_targets)
    finally:
        remove_policies(cluster)
        for target in debug_targets.values():
            if not isinstance(target, str):
                cluster.api.delete("v1", "Pod", target[1], target[0])
    judged = refused = named = 0
    for (case, _), decision, got, each in zip(members, decisions, enforced, warned, strict=True):
        if got is None or got.api_refusal:
            refused += 1
            refusals.append(f"{case.id}: {got.api_refusal[:300] if got else 'its pod was refused'}")
            continue
        judged += 1
        if case.id in UNREACHABLE:
            problems.append(f"{case.id}: listed as refused by the API server itself ({UNREACHABLE[case.id]}), but it "
                            f"reached the policies: {got.describe()}")
        problems += disagreements(case.id, decision, actions, got, each)
        if case.id not in DEPARTURES:
            problems += field_problems(case.id, decision, got, each)
            named += len(named_fields(each))
    print(f"{config_name}: {judged} cases judged, {refused} refused by the API server itself, {named} fields named")
    print("\n".join(refusals))
    assert not problems, f"{len(problems)} disagreement(s) under {config_name}:\n" + "\n".join(problems[:40]) + \
        "\n" + json.dumps(ours["constraints"], indent=1)[:2000]


def test_each_listed_departure_is_a_corpus_case_that_readme_names():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### CEL departures from SPEC"):]
    section = section[:section.index("\n## ")]
    named = set(re.findall(r"^- \*\*([^*]+)\*\*", section, flags=re.MULTILINE))
    listed = {case_id: departure.readme for case_id, departure in DEPARTURES.items()} | UNREACHABLE
    cases = {case.id for members in CORPUS.values() for case, _ in members}
    assert not set(listed) - cases, f"listed, but no such case in the corpus: {sorted(set(listed) - cases)}"
    assert set(listed.values()) == named, f"README departures {sorted(named)}, listed cases' {sorted(set(listed.values()))}"
    for case_id, readme_name in listed.items():
        item = section[section.index(f"- **{readme_name}**"):]
        item = item[:item.find("\n- ", 1) if "\n- " in item[1:] else len(item)]
        assert f"`{case_id.split('::')[1]}`" in item, f"README's {readme_name!r} departure does not name {case_id}"
    assert not [a for a in DEPARTURES.values() if not a.adds], "a departure must add a constraint"


# --- kubectl debug: an ephemeral container added to an admitted pod (test_admission's attacks) ------------


@pytest.fixture(scope="module")
def debug_pods(cluster) -> dict[str, tuple[str, str]]:
    """Per target, the namespace and name of a pod the DEBUG_CONFIG policies admitted for real."""
    config = validate_config(DEBUG_CONFIG, "DEBUG_CONFIG")
    pods = {}
    apply_policies(cluster, config)
    try:
        for target, namespace, make in (("app", "debug-app", _windows_pod), ("hostprocess", "debug-hostprocess", _host_process_pod)):
            cluster.ensure_namespace(namespace)
            created = vap_outcome(cluster.api.create(make(f"{target}-vap"), namespace, dry_run=False))
            assert created.allowed, f"the {target} pod itself was not admitted: {created.describe()}"
            pods[target] = (namespace, f"{target}-vap")
        remove_policies(cluster)
        yield pods
    finally:
        for namespace, name in pods.values():
            cluster.api.delete("v1", "Pod", name, namespace)


@pytest.mark.parametrize(("name", "target", "container", "allowed"), DEBUG_CASES, ids=[c[0] for c in DEBUG_CASES])
def test_kubectl_debug_is_judged_on_the_ephemeral_container(name, target, container, allowed, cluster, debug_pods):
    # The corpus test replaces the policies per config: these cases put DEBUG_CONFIG's back each time.
    apply_policies(cluster, validate_config(DEBUG_CONFIG, "DEBUG_CONFIG"))
    try:
        got = _debug(cluster.api, *debug_pods[target], [container])
    finally:
        remove_policies(cluster)
    if allowed == API:
        assert got.api_refusal and "hostProcess" in got.api_refusal, got.describe()
        return
    assert got.api_refusal is None, got.describe()
    assert got.allowed is allowed, got.describe()
    if not allowed:
        assert got.constraints, got.describe()
        # The refusal names the field of the container kubectl debug added, as the Rego's violation does.
        fields = {field for _, _, field in named_fields(got)}
        assert fields and all(field.startswith("spec.ephemeralContainers[0].") for field in fields), got.describe()
