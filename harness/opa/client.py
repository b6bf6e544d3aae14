"""OPA's REST API as the harness uses it: policies and config in, decisions out, each checked against SPEC 4."""

import concurrent.futures
import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote

import requests

from harness.errors import OpaError
from harness.tools import REPO_ROOT

logger = logging.getLogger(__name__)

T = TypeVar("T")

POLICIES = REPO_ROOT / "policies"
DECISION_PATH = "winpod/decision"
BATCH_PATH = "winpod/batch"
CONFIG_PATH = "winpod/config"
BATCH_CHUNK = 250
# Batch requests in flight at once: one per core of a small machine keeps OPA busy.
BATCH_WORKERS = 2
REQUEST_TIMEOUT = 60.0


class Evaluation(NamedTuple):
    result: Any
    metrics: dict[str, int]


class OpaClient:
    """OPA's REST API over one keep-alive HTTP session."""

    def __init__(self, url: str, *, timeout: float = REQUEST_TIMEOUT):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        # OPA is on this machine: never route it through a proxy from the
        # environment (and skip the per-request proxy lookup, half the cost
        # of a small decision).
        self._session.trust_env = False

    def close(self) -> None:
        self._session.close()

    def load_policies(self, directory: str | Path) -> list[Path]:
        """PUT every ``*.rego`` under ``directory`` except tests, as ``/v1/policies/<relative path>``.

        Returns the files loaded. A module that does not compile raises
        OpaError naming ``file:row:col`` and OPA's message.
        """
        root = Path(directory)
        if not root.is_dir():
            raise OpaError(f"{root}: no such directory of policies")
        files = sorted(p for p in root.rglob("*.rego") if not p.name.endswith("_test.rego"))
        if not files:
            raise OpaError(f"no policy files (*.rego other than *_test.rego) under {root}")
        paths = {p.relative_to(root).as_posix(): p for p in files}
        # A module deleted or renamed on disk must not stay loaded (--watch
        # reloads into the same server): drop every id that is not a file now.
        loaded = self._request("GET", "/v1/policies").get("result", [])
        for stale in sorted({m.get("id") for m in loaded if isinstance(m, dict)} - set(paths) - {None}):
            self._request("DELETE", f"/v1/policies/{quote(stale)}")
            logger.info("unloaded %s: no longer under %s", stale, root)
        pending = dict(paths)
        # OPA compiles all loaded modules on every PUT, so a module calling a
        # function of one not loaded yet fails: retry until a pass adds nothing.
        while pending:
            problems: list[str] = []
            progress = False
            for policy_id, path in list(pending.items()):
                errors = self._put_policy(policy_id, path)
                if errors is None:
                    del pending[policy_id]
                    progress = True
                else:
                    problems += [_compile_error(error, paths) for error in errors]
            if not progress:
                raise OpaError("policies do not compile: " + "\n  ".join(sorted(dict.fromkeys(problems))))
        logger.info("loaded %d policy files from %s", len(files), root)
        return files

    def put_data(self, path: str, value: Any) -> None:
        """Write ``value`` at ``data.<path>`` (``path`` slash-separated, e.g. ``winpod/config``)."""
        self._request("PUT", f"/v1/data/{_data_path(path)}", json=value, ok=(204,))

    def delete_data(self, path: str) -> None:
        """Remove ``data.<path>``; already absent is fine (the outcome is the same)."""
        self._request("DELETE", f"/v1/data/{_data_path(path)}", ok=(204, 404))

    def put_config(self, config: dict) -> None:
        """Make ``config`` (a validated config file as JSON) the one every decision uses."""
        self.put_data(CONFIG_PATH, config)

    def reset_config(self) -> None:
        """Back to the policies' built-in default config."""
        self.delete_data(CONFIG_PATH)

    @contextlib.contextmanager
    def config(self, config: dict) -> Iterator[None]:
        """``config`` for the duration of the block, then the built-in default again."""
        self.put_config(config)
        try:
            yield
        finally:
            self.reset_config()

    def evaluate(self, path: str, input_document: Any, *, metrics: bool = False) -> Evaluation:
        """POST ``input_document`` to ``data.<path>``; an undefined result is an OpaError, never a default."""
        body = self._request(
            "POST",
            f"/v1/data/{_data_path(path)}",
            json={"input": input_document},
            # A built-in function's error (lower of a number) would otherwise
            # make its expression undefined and could drop a violation: fail
            # closed, as an error.
            params={"strict-builtin-errors": "true", **({"metrics": "true"} if metrics else {})},
        )
        if "result" not in body:
            raise OpaError(
                f"undefined decision: data.{path.strip('/').replace('/', '.')} has no value for this input "
                f"at {self.url} (are the policies loaded?)"
            )
        return Evaluation(body["result"], body.get("metrics", {}))

    def decide(self, obj: Any) -> dict:
        """The decision (SPEC 4) for one manifest, AdmissionReview or Gatekeeper review."""
        return _checked_decision(self.evaluate(DECISION_PATH, obj).result, DECISION_PATH)

    def decide_many(self, objs: Iterable[Any], *, chunk: int = BATCH_CHUNK,
                    workers: int = BATCH_WORKERS) -> list[dict]:
        """Decisions for ``objs`` in order, through the batch endpoint, ``chunk`` objects per request.

        Up to ``workers`` requests are in flight at once: OPA evaluates each on a
        core of its own, and the next batch is encoded while one is evaluated.
        """
        return map_batches(objs, self._decide_batch, chunk=chunk, workers=workers)

    def _decide_batch(self, part: list[Any], start: int) -> list[dict]:
        result = self.evaluate(BATCH_PATH, {"items": part}).result
        answered = result.get("decisions") if isinstance(result, dict) else None
        if not isinstance(answered, list) or len(answered) != len(part):
            count = len(answered) if isinstance(answered, list) else "no list of"
            raise OpaError(
                f"data.{BATCH_PATH.replace('/', '.')} answered {count} decisions for {len(part)} items "
                f"(items {start}..{start + len(part) - 1})"
            )
        return [_checked_decision(d, BATCH_PATH) for d in answered]

    def _put_policy(self, policy_id: str, path: Path) -> list[dict] | None:
        """None when OPA accepts the module, else OPA's compile errors."""
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise OpaError(f"{path}: cannot read: {exc.strerror}") from exc
        response = self._send("PUT", f"/v1/policies/{quote(policy_id)}", data=text,
                              headers={"Content-Type": "text/plain"})
        if response.status_code == 200:
            return None
        body = _json(response)
        if response.status_code == 400 and body.get("errors"):
            return body["errors"]
        raise _http_error("PUT", response)

    def _request(self, method: str, path: str, *, ok: Sequence[int] = (200,), **kwargs: Any) -> dict:
        response = self._send(method, path, **kwargs)
        if response.status_code not in ok:
            raise _http_error(method, response)
        return _json(response) if response.content else {}

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.url}{path}"
        try:
            return self._session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.exceptions.Timeout as exc:
            raise OpaError(f"{method} {url}: no answer within {self.timeout:g}s") from exc
        except requests.exceptions.RequestException as exc:
            raise OpaError(f"{method} {url}: {reason(exc)}") from exc


def map_batches(objs: Iterable[Any], answer: Callable[[list[Any], int], list[T]], *, chunk: int = BATCH_CHUNK,
                workers: int = BATCH_WORKERS) -> list[T]:
    """``answer(part, start)`` for ``objs`` in parts of ``chunk``, up to ``workers`` at once; one list, in order.

    ``answer`` asks OPA about the objects ``part`` (``start`` the index of
    the first) and returns one result per object.
    """
    items = list(objs)
    starts = range(0, len(items), chunk)
    if workers <= 1 or len(starts) <= 1:
        return [r for start in starts for r in answer(items[start : start + chunk], start)]
    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="winpod-batch") as pool:
        parts = list(pool.map(lambda start: answer(items[start : start + chunk], start), starts))
    return [r for part in parts for r in part]


def _data_path(path: str) -> str:
    return quote(path.strip("/"))


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _http_error(method: str, response: requests.Response) -> OpaError:
    body = _json(response)
    detail = " ".join(filter(None, (body.get("code"), body.get("message")))) or response.text[:200].strip()
    errors = body.get("errors") if isinstance(body.get("errors"), list) else []
    # Evaluation errors (strict-builtin-errors) say where, as compile errors do.
    causes = "; ".join(_compile_error(e, {}) for e in errors[:3] if isinstance(e, dict))
    return OpaError(f"{method} {response.url}: HTTP {response.status_code} {detail}" + (f": {causes}" if causes else ""))


def reason(exc: BaseException) -> str:
    """The operating system's word at the bottom of an exception chain ("Connection refused"), else the message."""
    pending, seen, reason = [exc], set(), None
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            reason = current.strerror
        nested = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        pending += [e for e in nested if isinstance(e, BaseException)]
    return reason or str(exc)


def _compile_error(error: dict, paths: dict[str, Path]) -> str:
    """``file:row:col: code: message`` of a compile or evaluation error OPA reports."""
    location = error.get("location") if isinstance(error.get("location"), dict) else {}
    message = f"{error.get('code')}: {error.get('message')}"
    if not location:
        return message
    where = paths.get(location.get("file"), location.get("file", "?"))
    return f"{where}:{location.get('row', '?')}:{location.get('col', '?')}: {message}"


VIOLATION_KEYS = ("rule", "code", "constraint", "enforcementAction", "field", "msg")


def _checked_decision(decision: Any, path: str) -> dict:
    # Fail closed: anything but the SPEC 4 shape is an error, never read as "allowed".
    where = f"data.{path.replace('/', '.')}"
    if not (isinstance(decision, dict) and isinstance(decision.get("allowed"), bool)
            and isinstance(decision.get("violations"), list)):
        raise OpaError(f"{where} answered {str(decision)[:200]}, "
                       'not {"allowed": <bool>, "violations": [...]}')
    for violation in decision["violations"]:
        if not (isinstance(violation, dict) and all(isinstance(violation.get(k), str) for k in VIOLATION_KEYS)):
            raise OpaError(f"{where} answered a violation {str(violation)[:200]}, "
                           f"not an object of strings {', '.join(VIOLATION_KEYS)}")
    denied = any(v["enforcementAction"] == "deny" for v in decision["violations"])
    if decision["allowed"] == denied:
        raise OpaError(f"{where} answered allowed={decision['allowed']} with "
                       f"{'a' if denied else 'no'} deny violation: SPEC 4 says allowed is false iff one fired")
    return decision
