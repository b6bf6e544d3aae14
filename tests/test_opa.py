"""The OPA client against a real server, both backends, with the stand-in policies of tests/data/opa.

The stand-in decision (tests/data/opa/decision/decision.rego) denies objects whose
metadata.name equals, case-insensitively, one of ``deniedNames`` from the config;
its built-in default denies the name "denied".
"""

import logging
import os
import re
import shutil
import uuid
from pathlib import Path

import docker
import docker.errors
import pytest
import requests
from test_opa_faults import containers_of

from harness.errors import HarnessError, OpaError
from harness.opa import LABEL, RUN_ID_ENV, RUN_LABEL, OpaServer
from harness.opa import docker as image
from harness.tools import tool_path

DATA = Path(__file__).parent / "data" / "opa"
ALLOWED = {"allowed": True, "violations": []}


def denied(name: str) -> dict:
    return {"allowed": False,
            "violations": [{"rule": "names", "code": "names.denied", "constraint": "deny-names",
                            "enforcementAction": "deny", "field": "metadata.name",
                            "msg": f'name "{name}" is denied'}]}


def pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": []}}


@pytest.fixture(scope="module", params=[pytest.param("docker", marks=pytest.mark.docker), "process"])
def server(request: pytest.FixtureRequest) -> OpaServer:
    with (OpaServer.docker() if request.param == "docker" else OpaServer.process()) as opa:
        opa.load_policies(DATA / "decision")
        yield opa


def test_load_policies_skips_tests_and_finds_an_order_that_compiles(server: OpaServer) -> None:
    loaded = requests.get(f"{server.url}/v1/policies", timeout=10).json()["result"]
    assert sorted(policy["id"] for policy in loaded) == ["decision.rego", "names.rego"]


def test_load_policies_returns_the_files_it_loaded() -> None:
    with OpaServer.process() as opa:
        assert opa.load_policies(DATA / "decision") == [
            DATA / "decision" / "decision.rego",
            DATA / "decision" / "names.rego",
        ]


def test_decide_under_the_builtin_default(server: OpaServer) -> None:
    assert server.decide(pod("Denied")) == denied("denied")
    assert server.decide(pod("other")) == ALLOWED


def test_config_replaces_the_default_until_reset(server: OpaServer) -> None:
    with server.config({"deniedNames": ["x"]}):
        assert server.decide(pod("denied")) == ALLOWED
        assert server.decide(pod("X")) == denied("x")
    assert server.decide(pod("denied")) == denied("denied")
    assert server.decide(pod("x")) == ALLOWED


def test_reset_config_without_a_config_is_fine(server: OpaServer) -> None:
    server.reset_config()
    assert server.decide(pod("denied")) == denied("denied")


def test_put_and_delete_data(server: OpaServer) -> None:
    server.put_data("winpod/config", {"deniedNames": ["y"]})
    assert server.decide(pod("y")) == denied("y")
    server.delete_data("winpod/config")
    server.delete_data("winpod/config")
    assert server.decide(pod("y")) == ALLOWED


@pytest.mark.parametrize("workers", [1, 2, 5])
def test_decide_many_keeps_the_order_across_chunks(server: OpaServer, workers: int) -> None:
    names = ["a", "denied", "b", "c", "DENIED", "d", "e", "f", "Denied", "g", "h"]
    assert server.decide_many([pod(n) for n in names], chunk=2, workers=workers) == [
        denied("denied") if n.lower() == "denied" else ALLOWED for n in names
    ]


def test_decide_many_of_nothing_asks_nothing(server: OpaServer) -> None:
    assert server.decide_many([]) == []


def test_metrics_carry_opa_timers(server: OpaServer) -> None:
    evaluation = server.evaluate("winpod/decision", pod("denied"), metrics=True)
    assert evaluation.result == denied("denied")
    assert isinstance(evaluation.metrics["timer_rego_query_eval_ns"], int)
    assert evaluation.metrics["timer_rego_query_eval_ns"] > 0


def test_http_error_names_the_endpoint_and_opa_message(server: OpaServer) -> None:
    # data.winpod.decision is a rule: OPA refuses to overwrite it with data.
    with pytest.raises(OpaError) as caught:
        server.put_data("winpod/decision", {})
    assert re.fullmatch(
        rf"PUT {re.escape(server.url)}/v1/data/winpod/decision: HTTP 400 invalid_parameter .*"
        r"conflicting rule for data path winpod/decision found",
        str(caught.value),
    )


def test_undefined_decision_is_an_error_never_allowed() -> None:
    with OpaServer.process() as opa:
        opa.load_policies(DATA / "other_package")
        with pytest.raises(OpaError, match=r"^undefined decision: data\.winpod\.decision has no value"):
            opa.decide(pod("x"))
        with pytest.raises(OpaError, match=r"^undefined decision: data\.winpod\.batch has no value"):
            opa.decide_many([pod("x")])


@pytest.mark.parametrize("name, problem", [
    ("string-allowed", r'not \{"allowed": <bool>'),
    ("thin-violation", r"a violation .* not an object of strings rule, code, constraint"),
    ("allowed-despite-deny", r"allowed=True with a deny violation"),
    ("denied-without-reason", r"allowed=False with no deny violation"),
])
def test_a_decision_of_the_wrong_shape_is_an_error(name: str, problem: str) -> None:
    with OpaServer.process() as opa:
        opa.load_policies(DATA / "malformed")
        with pytest.raises(OpaError, match=rf"^data\.winpod\.decision answered .*{problem}"):
            opa.decide(pod(name))


def test_a_builtin_error_is_an_error_never_allowed() -> None:
    with OpaServer.process() as opa:
        opa.load_policies(DATA / "builtin_error")
        assert opa.decide(pod("x"))["allowed"] is False
        wrong = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": 7}}
        with pytest.raises(OpaError, match=r"HTTP 500 internal_error .*: winpod\.rego:\d+:\d+: eval_type_error: "
                                           r"lower: operand 1 must be string but got number$"):
            opa.decide(wrong)


def test_a_batch_that_loses_an_item_is_an_error() -> None:
    with OpaServer.process() as opa:
        opa.load_policies(DATA / "short_batch")
        with pytest.raises(OpaError, match=r"^data\.winpod\.batch answered 2 decisions for 3 items \(items 0\.\.2\)$"):
            opa.decide_many([pod("a"), pod("b"), pod("c")])
        # Concurrent requests: the first failing chunk is the one named.
        with pytest.raises(OpaError, match=r"^data\.winpod\.batch answered 2 decisions for 3 items \(items 0\.\.2\)$"):
            opa.decide_many([pod(str(n)) for n in range(9)], chunk=3, workers=3)


def test_no_policy_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "only_test.rego").write_text("package x_test\n")
    (tmp_path / "x_test.rego").write_text("package x_test\n")
    with OpaServer.process() as opa:
        with pytest.raises(OpaError, match=rf"^no policy files \(\*\.rego other than \*_test\.rego\) under {tmp_path}$"):
            opa.load_policies(tmp_path)


def test_a_stopped_server_is_an_error_naming_the_endpoint() -> None:
    with OpaServer.process() as opa:
        url = opa.url
    with pytest.raises(OpaError) as caught:
        opa.decide(pod("x"))
    assert str(caught.value) == f"POST {url}/v1/data/winpod/decision: Connection refused"


@pytest.mark.docker
@pytest.mark.parametrize("server", ["docker"], indirect=True)
def test_the_container_is_labelled_locked_down_and_local(server: OpaServer) -> None:
    client = docker.from_env()
    try:
        bridge = any(n.name == "bridge" for n in client.networks.list())
    finally:
        client.close()
    mine = containers_of(os.getpid())
    assert mine
    for container in mine:
        attrs = container.attrs
        labels = attrs["Config"]["Labels"]
        assert labels[LABEL] == "1"
        assert labels[RUN_LABEL] == os.environ[RUN_ID_ENV]
        assert attrs["HostConfig"]["NetworkMode"] == ("default" if bridge else "host")
        assert attrs["HostConfig"]["AutoRemove"] is False
        assert attrs["HostConfig"]["ReadonlyRootfs"] is True
        assert attrs["Config"]["User"] == "65534:65534"
    assert server.url.startswith("http://127.0.0.1:")


@pytest.mark.docker
@pytest.mark.parametrize("server", ["docker"], indirect=True)
def test_the_container_runs_under_the_default_memory_limit_and_still_decides(server: OpaServer) -> None:
    mine = containers_of(os.getpid())
    assert mine
    for container in mine:
        host = container.attrs["HostConfig"]
        # README: 1 GiB, and no swap on top of it.
        assert (host["Memory"], host["MemorySwap"]) == (1024**3, 1024**3)
        assert f"GOMEMLIMIT={int(1024**3 * 0.9)}" in container.attrs["Config"]["Env"]
    assert server.decide(pod("denied")) == denied("denied")


@pytest.mark.docker
def test_going_over_the_memory_limit_is_an_error_that_says_so() -> None:
    with OpaServer.docker(memory="48m") as opa:
        opa.load_policies(DATA / "decision")
        assert opa.decide(pod("denied")) == denied("denied")
        # About 20 MB of JSON: OPA's parsed copy of it is several times that.
        heavy = {**pod("heavy"), "data": ["y" * 100] * 200_000}
        with pytest.raises(OpaError) as caught:
            opa.decide(heavy)
    assert "OPA was killed for going over its memory limit of 48m (--opa-memory sets another)" in str(caught.value)


@pytest.mark.parametrize("size", ["lots", "0", "1.5g", "-1m", ""])
def test_a_memory_limit_that_is_not_a_size_is_refused_before_anything_starts(size: str) -> None:
    with pytest.raises(HarnessError) as caught:
        OpaServer.docker(memory=size)
    assert str(caught.value) == f"OPA memory limit {size!r}: expected a size like 512m or 2g (bytes, k, m, g)"


def test_the_session_server_decides_with_the_repository_policies(opa: OpaServer) -> None:
    # SPEC 4: an ungoverned kind is allowed with no violations. SPEC 3: the
    # built-in default (winpod.defaults: default-hostprocess, ...) denies every
    # HostProcess pod, and leaves HostProcess containers out of the users rule.
    assert opa.decide({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}) == ALLOWED
    host_process = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "agent", "namespace": "kube-system"},
        "spec": {
            "os": {"name": "windows"}, "hostNetwork": True,
            "securityContext": {"windowsOptions": {"hostProcess": True, "runAsUserName": "NT AUTHORITY\\LOCAL SERVICE"}},
            "containers": [{"name": "agent", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}],
        },
    }
    decision = opa.decide(host_process)
    assert decision["allowed"] is False
    assert {(v["rule"], v["code"], v["constraint"], v["enforcementAction"]) for v in decision["violations"]} == {
        ("hostprocess", "hostprocess.not-allowed", "default-hostprocess", "deny")
    }


@pytest.mark.docker
def test_an_image_is_built_from_the_pinned_opa_when_none_can_be_had(monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    # A repository of its own, so the build really happens and the shared
    # local build is left alone.
    repository = f"winpod-guard/opa-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(image, "LOCAL_REPOSITORY", repository)
    binary = tool_path("opa").resolve()
    built = f"{repository}:{image.opa_version(binary)}"
    missing = "localhost:1/winpod-guard/missing:0"
    caplog.set_level(logging.INFO, logger="harness.opa.docker")
    try:
        with OpaServer.docker(missing) as opa:
            assert f"image {built}," in opa.description
        (line,) = [r.getMessage() for r in caplog.records if r.name == "harness.opa.docker"]
        assert line.startswith(f"OPA image {built}: built from {binary} ({missing}: ")
    finally:
        client = docker.from_env()
        try:
            client.images.remove(built, force=True)
        except docker.errors.ImageNotFound:
            pass
        finally:
            client.close()


def test_reloading_drops_modules_no_longer_on_disk(tmp_path: Path) -> None:
    shutil.copytree(DATA / "decision", tmp_path / "policies")
    extra = tmp_path / "policies" / "extra.rego"
    extra.write_text("package winpod.extra\n\nanswer := 42\n")
    with OpaServer.process() as opa:
        opa.load_policies(tmp_path / "policies")
        assert opa.evaluate("winpod/extra/answer", None).result == 42
        extra.unlink()
        opa.load_policies(tmp_path / "policies")
        with pytest.raises(OpaError, match="undefined decision"):
            opa.evaluate("winpod/extra/answer", None)
        assert opa.decide(pod("denied")) == denied("denied")
