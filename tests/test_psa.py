"""Parity with Pod Security Admission's own fixtures for the checks this project shares.

``../shared/external/psa`` (see its README) holds PSA's test data for
windowsHostProcess and hostPathVolumes, used as they are: under the built-in
config every ``fail/`` file is denied by the matching rule alone and every
``pass/`` file is allowed with no violation at all. A missing corpus fails the
run: it is part of what CI proves.
"""

from pathlib import Path

import pytest
import yaml

from harness.tools import REPO_ROOT

PSA = REPO_ROOT.parent / "shared" / "external" / "psa"
FILES = sorted(PSA.glob("*/*/*.yaml"))

# PSA's check (the file name's stem) -> the one violation code SPEC makes of it:
# the fail/ pods carry no Windows user to object to and no hostPath besides the
# one under test, so nothing else may fire.
CODES = {"windowshostprocess": "hostprocess.not-allowed", "hostpathvolumes": "hostpath.not-allowed"}


def verdict_dir(path: Path) -> str:
    return path.parent.name


def check_of(path: Path) -> str:
    return path.stem.rstrip("0123456789")


@pytest.fixture(scope="session")
def psa_decisions(opa_session):
    opa_session.reset_config()
    objects = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in FILES]
    return dict(zip(FILES, opa_session.decide_many(objects), strict=True))


def test_corpus_present():
    assert PSA.is_dir(), f"the PSA parity corpus is missing: expected it at {PSA}"
    assert {verdict_dir(path) for path in FILES} == {"fail", "pass"}, f"expected fail/ and pass/ files under {PSA}"
    assert {check_of(path) for path in FILES if verdict_dir(path) == "fail"} == set(CODES)


@pytest.mark.parametrize("path", FILES, ids=lambda path: str(path.relative_to(PSA)))
def test_psa_file(path, psa_decisions):
    decision = psa_decisions[path]
    if verdict_dir(path) == "pass":
        assert decision == {"allowed": True, "violations": []}
    else:
        assert decision["allowed"] is False
        assert {v["code"] for v in decision["violations"]} == {CODES[check_of(path)]}
