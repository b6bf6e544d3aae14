"""The Python table of governed kinds and the Rego's are the same list (SPEC 1 "Objects")."""

from harness.kinds import WORKLOADS, match_kinds


def test_rego_governs_the_kinds_the_harness_sends(opa_session):
    spec_paths = opa_session.evaluate("lib/winpod/pods/spec_paths", None).result
    assert spec_paths == {kind: [*path, "spec"] for kind, (_, path) in WORKLOADS.items()}


def test_rego_match_kinds_are_the_generated_constraints_default(opa_session):
    assert opa_session.evaluate("lib/winpod/pods/kinds", None).result == match_kinds()
