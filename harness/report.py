"""Reports of a fixture run: text for people, JSON for programs, JUnit XML for CI; ``visible`` for every report."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.fixtures import Case
from harness.inputs import verdict

# What a manifest value may carry that a terminal would act on (an ANSI
# sequence starts with ESC; C1 holds CSI itself), that would make a line look
# like two (CR, LF, NEL, the Unicode separators), that reorders what is read
# (bidirectional overrides and isolates, "Trojan Source"), or that XML 1.0
# cannot carry at all, even as a character reference (C0 but tab, LF and CR;
# lone surrogates; U+FFFE, U+FFFF). Tab, LF and CR are escaped too: in a
# value they are as misleading as the rest.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


_SURROGATE = re.compile("[\ud800-\udfff]")


def visible(text: str) -> str:
    """``text`` with every control character written out as an escape (``\\x1b``, ``\\u202e``)."""
    return _INVISIBLE.sub(_escape, text)


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def json_text(document: object) -> str:
    """``document`` as indented JSON, non-ASCII kept as itself, but a lone surrogate (a JSON
    input's ``"\\ud800"``, a file name that is not UTF-8) escaped: UTF-8 cannot carry it raw."""
    return _SURROGATE.sub(_escape, json.dumps(document, indent=2, ensure_ascii=False)) + "\n"


def visible_lines(text: str) -> str:
    """Each line of ``text`` made ``visible``, the line breaks kept."""
    return "\n".join(visible(line) for line in text.split("\n"))


@dataclass(frozen=True)
class CaseResult:
    """A case, what OPA decided and what disagrees with the expectation."""

    case: Case
    decision: object
    problems: tuple[str, ...]
    seconds: float  # the case's share of its batch request

    @property
    def passed(self) -> bool:
        return not self.problems


def summary(results: Sequence[CaseResult], seconds: float) -> str:
    failed = sum(not r.passed for r in results)
    return f"{len(results) - failed} passed, {failed} failed in {seconds:.2f}s"


def _actual(decision: object) -> str:
    if not isinstance(decision, dict):
        return repr(decision)
    violations = decision.get("violations") if isinstance(decision.get("violations"), list) else []
    codes = ", ".join(f"{v.get('code')} ({v.get('constraint')}, {v.get('enforcementAction')})"
                      for v in violations if isinstance(v, dict))
    return f"{verdict(decision.get('allowed'))} [{codes}]"


def _details(result: CaseResult) -> list[str]:
    """Which violations disagree (the verdict is on the header line), then every message OPA gave."""
    if not isinstance(result.decision, dict):
        return list(result.problems)
    lines = result.case.expect.violation_mismatches(result.decision)
    violations = result.decision.get("violations")
    for violation in violations if isinstance(violations, list) else []:
        message = violation.get("msg") if isinstance(violation, dict) else violation
        lines.append(f"msg: {message}")
    return lines


def failure(result: CaseResult) -> str:
    """A failing case: its id, expected vs actual on one line, then the disagreeing violations and the messages."""
    case = result.case
    lines = [f"FAILED {case.id} (line {case.line}): expected {case.expect.describe()}, got {_actual(result.decision)}"]
    lines.extend(f"    {detail}" for detail in _details(result))
    return "\n".join(visible(line) for line in lines)


def text(results: Sequence[CaseResult], seconds: float) -> str:
    """One block per failing case, then the summary line."""
    lines = [failure(result) for result in results if not result.passed]
    lines.append(summary(results, seconds))
    return "\n".join(lines) + "\n"


def _expected_json(case: Case) -> dict:
    patterns = case.expect.violations
    return {
        "allowed": case.expect.allowed,
        "violations": None
        if patterns is None
        else [
            {key: value for key, value in (("code", p.code), ("constraint", p.constraint),
                                           ("enforcementAction", p.enforcement_action), ("field", p.field))
             if value is not None}
            for p in patterns
        ],
    }


def as_json(results: Sequence[CaseResult], seconds: float) -> str:
    failed = sum(not r.passed for r in results)
    document = {
        "summary": {"total": len(results), "passed": len(results) - failed, "failed": failed,
                    "seconds": round(seconds, 3)},
        "cases": [
            {
                "id": r.case.id,
                "file": r.case.display,
                "line": r.case.line,
                "name": r.case.name,
                "description": r.case.description,
                "config": str(r.case.config) if r.case.config else "builtin",
                "passed": r.passed,
                "expected": _expected_json(r.case),
                "actual": r.decision,
                "problems": list(r.problems),
            }
            for r in results
        ],
    }
    return json_text(document)


def junit(results: Sequence[CaseResult], seconds: float) -> str:
    """One ``testsuite`` per fixture file, one ``testcase`` per case named ``file::case``."""
    failed = sum(not r.passed for r in results)
    root = ET.Element("testsuites", name="winpod", tests=str(len(results)), failures=str(failed),
                      errors="0", time=f"{seconds:.3f}")
    by_file: dict[str, list[CaseResult]] = {}
    for result in results:
        by_file.setdefault(result.case.display, []).append(result)
    for display, members in by_file.items():
        suite = ET.SubElement(
            root, "testsuite", name=visible(display), tests=str(len(members)),
            failures=str(sum(not r.passed for r in members)), errors="0", skipped="0",
            time=f"{sum(r.seconds for r in members):.3f}",
        )
        for result in members:
            case = result.case
            testcase = ET.SubElement(suite, "testcase", classname=visible(display), name=visible(case.id),
                                     file=visible(display), line=str(case.line), time=f"{result.seconds:.3f}")
            if not result.passed:
                failure = ET.SubElement(testcase, "failure", type="mismatch", message=visible(
                    f"expected {case.expect.describe()}, got {_actual(result.decision)}"))
                failure.text = "\n".join(visible(detail) for detail in _details(result))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


FORMATS: dict[str, Callable[[Sequence[CaseResult], float], str]] = {"text": text, "json": as_json, "junit": junit}
