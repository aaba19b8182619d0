"""Running cases end to end through a Stepline API: HTTP, PostgreSQL, Temporal and the function runtime.

Each case goes through the same steps as in ``runner`` (validate, create, start, run, compare with
``runner.compare``), but every step is a request to the API: the definition is created under a
name of its own, its functions are registered as real ``python3.11`` functions through
``POST /v1/functions``, the execution is started, described until it ends, and its history read
page by page. Only the translation from the native API's answers to the case's AWS terms happens
here (a problem+json code becomes the error name); nothing is compared differently.

Functions: a case names ``fn1``, ``fn2``...; concurrent cases would collide on these names, so each
case gets its own names (``<run>-<case>-fn1``) when every mention of a name in the definition and
the input is a whole function reference (a name, ``name:qualifier`` or a Lambda ARN) and no name
shows unmasked in what AWS recorded. Cases that cannot be rewritten that way run one at a time
afterwards, with the names as written, re-registered before each case.

Time-relative inputs (tag ``time_relative_input``): the recorder computed their timestamps from
its clock, frozen at ``runner.RECORDING_CLOCK``; the local runner starts executions at that instant,
but the API starts them now, so those timestamps are moved forward by the same distance.

Account id: the recorder replaced AWS's account id with ``111111111111`` in every string it stored
(corpus README, placeholders), so the same masking is applied to Stepline's account id in what the
API returns (``ARN``s in ``$$`` context values) before comparing; nothing else is masked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shell.conformance.cases import Case, FunctionSpec
from shell.conformance.functions import RECORDED_ACCOUNT, function_name, source_for
from shell.conformance.runner import (
    BASE_TIMEOUT_SECONDS,
    RECORDING_CLOCK,
    Actual,
    CaseResult,
    compare,
)
from statemachine import DEFAULT_ACCOUNT, JSON, Diagnostic, SteplineError, invalid_definition_message

FUNCTION_RUNTIME = "python3.11"
HANDLER = "handler.handler"
"""The corpus' handlers live in ``handler.py`` (``functions.HANDLER_FILE``)."""
LONG_FUNCTION_TIMEOUT = 90
"""Seconds: functions that sleep 60 s must outlive the Task's own TimeoutSeconds, as in the recording."""
FUNCTION_TIMEOUT = 30
HISTORY_PAGE = 100
POLL_SECONDS = 0.05

ACCOUNT_MASK = (rf"\b{re.escape(DEFAULT_ACCOUNT)}\b", RECORDED_ACCOUNT)
"""The recorder's account-id masking, as a regex transformer over Stepline's account id."""

_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z?)$")
_ARN = re.compile(r"^(arn:[^:]+:lambda:[^:]*:[^:]*:function:)([^:]+)(:[^:]+)?$")


class RemoteError(SteplineError):
    """The API answered something no case step expects (the message names the request)."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A case ready to run remotely: its (maybe renamed) definition and input, and its functions."""

    definition_text: str
    input: JSON
    functions: dict[str, FunctionSpec]
    """Registered name -> what the handler does."""
    isolated: bool
    """True when the functions got names of this case alone (the case may run concurrently)."""


def prepare(case: Case, prefix: str) -> Prepared:
    """Rename the case's functions to ``prefix + name`` where that is faithful (see module docs)."""
    specs = {f.name: f for f in case.functions}
    if not specs or case.definition is None or case.input_raw is not None:
        return Prepared(case.definition_text, case.input, specs, isolated=True)
    names = {name: f"{prefix}{name}" for name in specs}
    definition, inp = _rename(case.definition, names), _rename(case.input, names)
    leftover = _mentions(json.dumps([definition, inp]), names) or _mentions(
        json.dumps([case.expected.output, case.expected.cause]), names
    )
    if leftover:
        return Prepared(case.definition_text, case.input, specs, isolated=False)
    return Prepared(json.dumps(definition), inp, {names[n]: s for n, s in specs.items()}, isolated=True)


def _rename(value: JSON, names: dict[str, str]) -> JSON:
    """Every string that is a whole reference to one of ``names``, renamed."""
    if isinstance(value, dict):
        return {k: _rename(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename(v, names) for v in value]
    if not isinstance(value, str):
        return value
    arn = _ARN.match(value)
    if arn and arn.group(2) in names:
        return f"{arn.group(1)}{names[arn.group(2)]}{arn.group(3) or ''}"
    name, qualifier = function_name(value)
    if name in names and value in (name, f"{name}:{qualifier}"):
        return names[name] + (f":{qualifier}" if qualifier else "")
    return value


def shift_timestamps(value: JSON, delta: timedelta) -> JSON:
    """Every ``YYYY-MM-DDTHH:MM:SS[.fff][Z]`` string moved by ``delta`` (whole seconds), format kept."""
    if isinstance(value, dict):
        return {k: shift_timestamps(v, delta) for k, v in value.items()}
    if isinstance(value, list):
        return [shift_timestamps(v, delta) for v in value]
    found = _TIMESTAMP.match(value) if isinstance(value, str) else None
    if found is None:
        return value
    moved = datetime.fromisoformat(found.group(1)) + timedelta(seconds=int(delta.total_seconds()))
    return moved.strftime("%Y-%m-%dT%H:%M:%S") + (found.group(2) or "") + found.group(3)


def _mentions(text: str, names: dict[str, str]) -> bool:
    return any(re.search(rf"(?<![\w-]){re.escape(name)}(?!\w)", text) for name in names)


class RemoteRunner:
    """Runs cases against one API (an ``httpx.AsyncClient`` whose base URL is the API's)."""

    def __init__(self, client: httpx.AsyncClient, *, run_id: str | None = None) -> None:
        self._client = client
        self._run = run_id or uuid.uuid4().hex[:6]

    async def run_cases(self, cases: Sequence[Case], concurrency: int = 16) -> list[CaseResult]:
        """Isolated cases concurrently, then the others one at a time; results in the cases' order."""
        prepared = [prepare(c, f"c{self._run}-{i}-") for i, c in enumerate(cases)]
        results: list[CaseResult | None] = [None] * len(cases)
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with gate:
                results[i] = await self.run_case(cases[i], prepared[i], i)

        await asyncio.gather(*(one(i) for i, p in enumerate(prepared) if p.isolated))
        for i, p in enumerate(prepared):
            if not p.isolated:
                results[i] = await self.run_case(cases[i], p, i)
        return [r for r in results if r is not None]

    async def run_case(self, case: Case, prepared: Prepared, index: int) -> CaseResult:
        """One case, compared exactly as the local runner compares it."""
        started = time.perf_counter()
        crash: str | None = None
        try:
            actual = await self._perform(case, prepared, f"c{self._run}-{index}")
        except (httpx.HTTPError, RemoteError, ValueError) as exc:
            crash = "".join(traceback.format_exception_only(exc)).strip()
            actual = Actual("CRASHED", error=type(exc).__name__, cause=str(exc))
        masked = dataclasses.replace(case, regex_transformers=(*case.regex_transformers, ACCOUNT_MASK))
        differences = tuple(compare(masked, actual))
        return CaseResult(case, actual, differences, time.perf_counter() - started, crash)

    async def _perform(self, case: Case, prepared: Prepared, machine: str) -> Actual:
        if case.kind == "validate":
            return await self._validate(case)
        response = await self._client.post(
            "/v1/state-machines",
            json={"name": machine, "definition": prepared.definition_text, "type": case.state_machine_type},
        )
        if response.status_code != 201:
            return _create_failed(response)
        if case.kind == "create_error":
            return Actual("CREATED")
        await self._register(prepared)
        if case.sync:
            return await self._run_sync(case, prepared, machine)
        response = await self._start(case, prepared, machine)
        if response.status_code != 201:
            return _refused(response, "POST executions")
        if case.kind == "start_error":
            return Actual("STARTED")
        execution_id = str(_body(response, "POST executions")["executionId"])
        return await self._await_end(execution_id, BASE_TIMEOUT_SECONDS + 2 * case.wait_budget_seconds)

    async def _validate(self, case: Case) -> Actual:
        response = await self._client.post(
            "/v1/state-machines/validate", json={"definition": case.definition_text}
        )
        if response.status_code != 200:
            problem = _problem(response, "POST validate")
            return Actual("REFUSED", error=str(problem.get("title")), cause=problem.get("detail"))
        body = _body(response, "POST validate")
        return Actual(str(body.get("result")), output=body)

    async def _register(self, prepared: Prepared) -> None:
        for name, spec in prepared.functions.items():
            if not prepared.isolated:
                await self._client.delete(f"/v1/functions/{name}")
            sleeps = spec.behaviour_kind.startswith("sleep")
            response = await self._client.post(
                "/v1/functions",
                json={
                    "name": name,
                    "runtime": FUNCTION_RUNTIME,
                    "handler": HANDLER,
                    "code": {"files": {"handler.py": source_for(spec.behaviour_kind, spec.behaviour)}},
                    "timeout": LONG_FUNCTION_TIMEOUT if sleeps else FUNCTION_TIMEOUT,
                },
            )
            if response.status_code != 201:
                raise RemoteError(f"POST /v1/functions {name}: {response.status_code} {response.text[:500]}")

    async def _start(self, case: Case, prepared: Prepared, machine: str) -> httpx.Response:
        url = f"/v1/state-machines/{machine}/executions"
        if case.input_raw is None:
            value = prepared.input
            if "time_relative_input" in case.tags:
                value = shift_timestamps(value, datetime.now(UTC) - RECORDING_CLOCK)
            return await self._client.post(url, json={"input": value})
        return await self._client.post(url, json={"inputText": case.input_raw})

    async def _run_sync(self, case: Case, prepared: Prepared, machine: str) -> Actual:
        response = await self._client.post(
            f"/v1/state-machines/{machine}/sync-executions",
            json={"input": prepared.input},
            timeout=BASE_TIMEOUT_SECONDS + 2 * case.wait_budget_seconds,
        )
        if response.status_code != 200:
            return _refused(response, "POST sync-executions")
        if case.kind == "start_error":
            return Actual("STARTED")
        body = _body(response, "POST sync-executions")
        return Actual(str(body["status"]), body.get("output"), body.get("error"), body.get("cause"))

    async def _await_end(self, execution_id: str, seconds: float) -> Actual:
        deadline = time.monotonic() + seconds
        while True:
            response = await self._client.get(f"/v1/executions/{execution_id}")
            body = _body(response, f"GET /v1/executions/{execution_id}")
            if body["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                history = await self._history(execution_id)
                await self._client.post(f"/v1/executions/{execution_id}/stop", json={})
                return Actual("RUNNING", history=history)
            await asyncio.sleep(POLL_SECONDS)
        return Actual(
            status=str(body["status"]),
            output=body.get("output"),
            error=body.get("error"),
            cause=body.get("cause"),
            history=await self._history(execution_id),
        )

    async def _history(self, execution_id: str) -> tuple[str, ...]:
        """Every event type, following ``nextToken`` page by page."""
        types: list[str] = []
        token: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": HISTORY_PAGE}
            if token:
                params["nextToken"] = token
            response = await self._client.get(f"/v1/executions/{execution_id}/history", params=params)
            page = _body(response, f"GET /v1/executions/{execution_id}/history")
            types += [str(event["type"]) for event in page["events"]]
            token = page.get("nextToken")
            if not token:
                return tuple(types)


def _body(response: httpx.Response, what: str) -> dict[str, Any]:
    """The API's answer as read (an object; its fields are checked by using them)."""
    if response.status_code >= 400:
        raise RemoteError(f"{what}: {response.status_code} {response.text[:500]}")
    try:
        body = response.json()
    except json.JSONDecodeError:
        raise RemoteError(f"{what}: the answer is not JSON: {response.text[:200]!r}") from None
    if not isinstance(body, dict):
        raise RemoteError(f"{what}: expected a JSON object, got {response.text[:200]!r}")
    return body


def _problem(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except json.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        text = response.text[:200]
        raise RemoteError(f"{what}: {response.status_code} without a problem document: {text!r}")
    return body


def _create_failed(response: httpx.Response) -> Actual:
    """A refused create: InvalidDefinition (AWS's text built from the returned diagnostics) or else."""
    problem = _problem(response, "POST /v1/state-machines")
    diagnostics = problem.get("diagnostics")
    if response.status_code == 400 and isinstance(diagnostics, list):
        found = [
            Diagnostic(
                "ERROR" if d.get("severity") == "ERROR" else "WARNING",
                str(d["code"]),
                str(d["message"]),
                str(d.get("location") or ""),
            )
            for d in diagnostics
        ]
        return Actual("CREATE_FAILED", error="InvalidDefinition", cause=invalid_definition_message(found))
    return Actual("CREATE_FAILED", error=str(problem.get("title")), cause=problem.get("detail"))


def _refused(response: httpx.Response, what: str) -> Actual:
    """A refused start: the error code the API names (``errors[].code``), else the problem's title."""
    problem = _problem(response, what)
    detail = str(problem.get("detail") or "")
    codes = [e["code"] for e in problem.get("errors") or () if isinstance(e, dict) and e.get("code")]
    if codes:
        code = str(codes[0])
        return Actual("START_FAILED", error=code, cause=detail.removeprefix(f"{code}: "))
    return Actual("START_FAILED", error=str(problem.get("title")), cause=detail)


async def run_remote(
    cases: Sequence[Case], base_url: str, *, token: str | None = None, concurrency: int = 16
) -> list[CaseResult]:
    """Run ``cases`` against the API at ``base_url`` (bearer ``token`` when given)."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60, limits=limits) as client:
        await probe(client)
        return await RemoteRunner(client).run_cases(cases, concurrency)


async def probe(client: httpx.AsyncClient) -> None:
    """Fail once, clearly, when the API cannot be reached (httpx.TransportError) or refuses us
    (RemoteError), instead of once per case."""
    response = await client.get("/v1/state-machines", params={"limit": 1})
    if response.status_code != 200:
        raise RemoteError(f"GET /v1/state-machines: {response.status_code} {response.text[:200]}")
