"""The CEL cost of the generated ValidatingAdmissionPolicies, as kube-apiserver counts it.

``tools/celcost`` (built by ``make cluster-tools``) compiles each policy with
k8s.io/apiserver's own ValidatingAdmissionPolicy compiler and reports, per
expression, cel-go's static estimate under Kubernetes' cost estimator, and per
object, the actual cost the API server tracks. This module feeds it the
policies of a config and the objects of the fixture corpus, and reads back,
per policy, the worst actual cost and the case that gives it, against the API
server's runtime limits: 1,000,000 per expression (``celconfig.PerCallLimit``)
and 10,000,000 per policy and request (``celconfig.RuntimeCELCostBudget``);
matchConditions have their own 2,500,000.
"""

import hashlib
import json
import os
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.fixtures import load_fixtures
from harness.gatekeeper import dump_yaml
from harness.inputs import manifest_of
from harness.tools import REPO_ROOT
from harness.vap import policy

SOURCE = REPO_ROOT / "tools" / "celcost"
# In the order the Makefile hashes them (CELCOST_SOURCES).
SOURCES = ("go.mod", "go.sum", "main.go")
TIMEOUT_S = 600
UNBOUNDED = 2**64 - 1  # cel-go saturates an estimate it cannot bound at the largest uint64


def celcost_path() -> Path:
    """$WINPOD_CELCOST, else the build of this checkout's tools/celcost (its source hash names the directory)."""
    override = os.environ.get("WINPOD_CELCOST")
    if override:
        candidate = Path(override)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
        raise HarnessError(f"WINPOD_CELCOST={override} is not an executable file")
    try:
        digest = hashlib.sha256(b"".join((SOURCE / name).read_bytes() for name in SOURCES)).hexdigest()[:12]
    except OSError as exc:
        raise HarnessError(f"cannot read the CEL cost tool's source {exc.filename}: {exc.strerror}; "
                           "set WINPOD_CELCOST to a built celcost") from exc
    found = sorted((REPO_ROOT / ".tools").glob(f"celcost-*-{digest}/celcost"))
    if not found:
        raise HarnessError(f"the CEL cost tool for tools/celcost as it is now (.tools/celcost-<version>-{digest}) "
                           "is not built: run `make cluster-tools`")
    return found[-1]


@dataclass(frozen=True)
class Limits:
    per_expression: int
    per_policy: int
    match_conditions: int
    max_request_size: int


def run_celcost(policies: list[dict], cases: list[dict]) -> dict:
    """The tool's report for ``policies`` (ValidatingAdmissionPolicy objects) over ``cases``
    ({name, object[, operation, subResource, namespace, oldObject]})."""
    binary = celcost_path()
    with tempfile.TemporaryDirectory(prefix="winpod-celcost-") as scratch:
        policy_file, case_file = Path(scratch, "policies.yaml"), Path(scratch, "cases.json")
        policy_file.write_text("---\n".join(dump_yaml(p) for p in policies), encoding="utf-8")
        case_file.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
        try:
            done = subprocess.run([str(binary), "-objects", str(case_file), str(policy_file)],
                                  capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(f"{binary}: no report within {TIMEOUT_S} s") from exc
    if done.returncode != 0:
        raise HarnessError(f"{binary} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{binary}: its report is not JSON: {exc}") from exc


def corpus_cases(root: Path = REPO_ROOT / "fixtures") -> list[dict]:
    """Every fixture case's object, as a create, named by case id (cases that send no object are left out)."""
    cases = []
    for case in load_fixtures([root], root=REPO_ROOT).cases:
        obj = manifest_of(case.input)
        if obj is not None:
            cases.append({"name": case.id, "object": obj})
    return cases


@dataclass(frozen=True)
class ExpressionCost:
    field: str
    name: str
    estimate: dict  # kind (or "dyn") -> {min, max} or {error}
    worst: int  # the largest actual cost of this expression alone, -1 when never evaluated
    worst_case: str

    @property
    def label(self) -> str:
        return f"{self.field} {self.name}".strip()


@dataclass(frozen=True)
class PolicyCost:
    name: str
    expressions: list[ExpressionCost]
    estimated_total: dict  # kind (or "dyn") -> the sum of its expressions' maximum estimates
    worst_total: int
    worst_total_case: str
    worst_match: int
    cases: int  # the objects that reached the policy (decoded, of a kind it matches)
    undecoded: int  # the objects the API server would refuse before admission (not decodable as their kind)
    over: list[str]  # the cases that go over a limit, with the error the tool met

    @property
    def worst_expression(self) -> ExpressionCost:
        return max(self.expressions, key=lambda e: e.worst)


def policy_costs(report: dict) -> list[PolicyCost]:
    """Per policy of a tool report, the worst actual costs and where they happen (the first case on a tie)."""
    found = []
    for item in report["policies"]:
        cases = [c for c in item["cases"] if c["matched"]]
        expressions = []
        for index, expression in enumerate(item["expressions"]):
            worst = max(cases, key=lambda c: c["costs"][index], default=None)
            expressions.append(ExpressionCost(
                expression["field"], expression.get("name", ""), expression["estimates"],
                worst["costs"][index] if worst else -1, worst["case"] if worst else ""))
        worst_total = max(cases, key=lambda c: c["total"], default=None)
        worst_match = max((c["matchConditions"] for c in cases), default=0)
        over = [f"{c['case']}: {c['errors'][0]}" for c in cases if any("cost" in e for e in c["errors"])]
        found.append(PolicyCost(item["name"], expressions, item["estimatedTotal"],
                                worst_total["total"] if worst_total else 0, worst_total["case"] if worst_total else "",
                                worst_match, len(cases), sum(1 for c in item["cases"] if c.get("refused")), over))
    return found


def limits(report: dict) -> Limits:
    given = report["limits"]
    return Limits(given["perExpression"], given["perPolicy"], given["matchConditions"], given["maxRequestSizeBytes"])


def measure(config: dict, cases: list[dict] | None = None) -> tuple[dict, list[PolicyCost]]:
    """The tool's report on ``config``'s policies over ``cases`` (default: the fixture corpus), and its summary."""
    report = run_celcost([policy(entry) for entry in config["constraints"]], corpus_cases() if cases is None else cases)
    return report, policy_costs(report)


# --- the table ------------------------------------------------------------------------


def _estimate(value: dict | None) -> str:
    if not value:
        return "-"
    if value.get("error"):
        return "type error"
    return "unbounded" if value["max"] >= UNBOUNDED else f"{value['max']:,}"


def _within(value: int, limit: int) -> str:
    return "yes" if value <= limit else "NO"


def cost_table(report: dict, costs: list[PolicyCost], source: str) -> str:
    """The ``winpod vap --cost`` text: per policy, each expression's estimate and worst actual cost, then the totals."""
    bounds = limits(report)
    header = [
        f"CEL cost of the ValidatingAdmissionPolicies of {source}, as k8s.io/apiserver v0.34.4 counts it "
        f"(CEL compatibility {report['celCompatibilityVersion']}, strict cost {'on' if report['strictCost'] else 'off'}).",
        f"Limits: {bounds.per_expression:,} per expression, {bounds.per_policy:,} per policy and request, "
        f"{bounds.match_conditions:,} for matchConditions. Estimates: cel-go's static maximum with Kubernetes' "
        "cost estimator, object untyped (dyn, as the API server compiles it) and typed by the Pod schema "
        f"(lists and strings bounded by the {bounds.max_request_size:,}-byte request limit); "
        "actual: the worst over the objects given, each expression's own cost (every expression evaluated), "
        "and the policy's total as the API server spends it (validations, then message expressions, each "
        "variable where it is first read). Every object counts as selected by namespaceSelector and objectSelector.",
    ]
    lines = [textwrap.fill(paragraph, 110) for paragraph in header]
    for item in costs:
        lines += ["", f"{item.name}: {item.cases} objects reached it ({item.undecoded} more the API server would not "
                      "decode)"]
        rows = [("expression", "estimate dyn", "estimate Pod", "worst actual", "case")]
        for e in item.expressions:
            rows.append((e.label, _estimate(e.estimate.get("dyn")), _estimate(e.estimate.get("Pod")),
                         f"{e.worst:,}" if e.worst >= 0 else "-", e.worst_case if e.worst > 0 else ""))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            lines.append("  " + "  ".join([row[0].ljust(widths[0]), *(row[i].rjust(widths[i]) for i in (1, 2, 3)),
                                           row[4]]).rstrip())
        worst = item.worst_expression
        lines += [
            f"  estimated total (sum of maxima): dyn {_estimate({'max': item.estimated_total.get('dyn', 0)})}, "
            f"Pod {_estimate({'max': item.estimated_total.get('Pod', 0)})}",
            f"  worst expression: {max(worst.worst, 0):,} ({worst.label}, {worst.worst_case or '-'}); "
            f"within {bounds.per_expression:,}: {_within(worst.worst, bounds.per_expression)}",
            f"  worst policy total: {item.worst_total:,} ({item.worst_total_case or '-'}); "
            f"within {bounds.per_policy:,}: {_within(item.worst_total, bounds.per_policy)}",
        ]
        if any(e.field.startswith("spec.matchConditions") for e in item.expressions):
            lines.append(f"  worst matchConditions: {item.worst_match:,}; "
                         f"within {bounds.match_conditions:,}: {_within(item.worst_match, bounds.match_conditions)}")
        lines += [f"  over a limit: {line}" for line in item.over]
    return "\n".join(lines) + "\n"


def within_limits(report: dict, costs: list[PolicyCost]) -> bool:
    bounds = limits(report)
    return all(not c.over and c.worst_expression.worst <= bounds.per_expression and c.worst_total <= bounds.per_policy
               and c.worst_match <= bounds.match_conditions for c in costs)
