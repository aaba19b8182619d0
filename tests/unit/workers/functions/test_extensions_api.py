"""The Extensions API host and the Telemetry API's subscriptions and batches, without a sandbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workers.functions import telemetry
from workers.functions.config import FunctionConfig
from workers.functions.extensions_api import EXITED_PATH, PREFIX, REGISTERED_PATH, ExtensionsHost
from workers.functions.telemetry import Telemetry, parse_subscription


class Recorder:
    """A connection that keeps what was answered on it."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, Any, dict[str, str]]] = []

    def reply(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.replies.append((status, json.loads(body), dict(headers or {})))


CONFIG = FunctionConfig(name="f", runtime="python3.11", handler="app.handler", code_dir=Path("/nonexistent"))


def host(names: tuple[str, ...] = ("a",)) -> tuple[ExtensionsHost, list[tuple[str, str]], list[int]]:
    failures: list[tuple[str, str]] = []
    ready: list[int] = []
    made = ExtensionsHost(
        CONFIG, names, lambda kind, message: failures.append((kind, message)), lambda: ready.append(1),
        lambda identifier, body: (200, b'"OK"'),
    )  # fmt: skip
    return made, failures, ready


def register(
    made: ExtensionsHost, name: str, events: object = ("INVOKE", "SHUTDOWN")
) -> tuple[int, Any, str]:
    conn = Recorder()
    body = json.dumps({"events": list(events) if isinstance(events, tuple) else events}).encode()
    made.handle(conn, "POST", f"{PREFIX}/register", {"lambda-extension-name": name}, body)
    status, doc, headers = conn.replies[0]
    return status, doc, headers.get("Lambda-Extension-Identifier", "")


def test_registration_is_refused_as_lambda_refuses_it() -> None:
    made, _, _ = host(("a", "b"))
    assert register(made, "stranger")[0] == 403
    assert register(made, "a", ["TELEPATHY"])[0] == 400
    status, doc, identifier = register(made, "a")
    assert status == 200 and identifier
    assert doc == {"functionName": "f", "functionVersion": "$LATEST", "handler": "app.handler"}
    assert register(made, "a")[0] == 409
    made.initialising = False
    assert register(made, "b")[0] == 403
    conn = Recorder()
    made.handle(conn, "GET", f"{PREFIX}/event/next", {"lambda-extension-identifier": "forged"}, b"")
    assert conn.replies[0][0] == 403 and conn.replies[0][1]["errorType"] == "Extension.Forbidden"


async def test_init_is_ready_when_every_extension_waits_and_invoke_settles_when_they_ask_again() -> None:
    made, _, ready = host(("a", "b"))
    launcher = Recorder()
    made.handle(launcher, "GET", REGISTERED_PATH, {}, b"")
    ids = [register(made, "a")[2]]
    assert launcher.replies == []  # the runtime starts once both registered
    ids.append(register(made, "b", ["SHUTDOWN"])[2])
    assert launcher.replies[0][0] == 200
    conns = [Recorder(), Recorder()]
    for conn, identifier in zip(conns, ids, strict=True):
        made.handle(conn, "GET", f"{PREFIX}/event/next", {"lambda-extension-identifier": identifier}, b"")
    assert made.ready and ready == [1]
    made.initialising = False
    made.invoke("r1", 123, "arn:aws:lambda:us-east-1:000000000000:function:f")
    assert conns[0].replies[0][1]["eventType"] == "INVOKE" and conns[0].replies[0][1]["requestId"] == "r1"
    assert conns[1].replies == []  # registered for SHUTDOWN only
    settling = asyncio.ensure_future(made.settled())
    await asyncio.sleep(0)
    assert not settling.done()
    made.handle(Recorder(), "GET", f"{PREFIX}/event/next", {"lambda-extension-identifier": ids[0]}, b"")
    await asyncio.wait_for(settling, 1)


async def test_an_exit_is_a_crash_but_after_shutdown_it_is_the_end() -> None:
    made, failures, _ = host(("a",))
    identifier = register(made, "a")[2]
    made.handle(Recorder(), "POST", EXITED_PATH, {"lambda-extension-name": "a"}, b'{"status": 3}')
    assert failures and failures[0][0] == "Extension.Crash"
    made, failures, _ = host(("a",))
    identifier = register(made, "a")[2]
    waiting = Recorder()
    made.handle(waiting, "GET", f"{PREFIX}/event/next", {"lambda-extension-identifier": identifier}, b"")
    finished = made.shut_down("spindown")
    assert finished is not None and waiting.replies[0][1]["shutdownReason"] == "spindown"
    made.handle(Recorder(), "POST", EXITED_PATH, {"lambda-extension-name": "a"}, b'{"status": 0}')
    assert finished.done() and failures == []


def test_init_and_exit_errors_end_the_environment_with_lambdas_types() -> None:
    for route, kind in (("/init/error", "Extension.InitError"), ("/exit/error", "Extension.ExitError")):
        made, failures, _ = host(("a",))
        identifier = register(made, "a")[2]
        conn = Recorder()
        headers = {"lambda-extension-identifier": identifier, "lambda-extension-function-error-type": "X.Y"}
        made.handle(conn, "POST", f"{PREFIX}{route}", headers, b"{}")
        assert conn.replies[0][0] == 202 and failures[0][0] == kind and "X.Y" in failures[0][1]


def subscription(**changes: Any) -> bytes:
    doc: dict[str, Any] = {
        "types": ["platform", "function"],
        "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
        "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:4243/t"},
    }
    doc.update(changes)
    return json.dumps(doc).encode()


def test_subscriptions_are_checked_against_lambdas_bounds() -> None:
    assert not isinstance(parse_subscription(subscription()), tuple)
    for body, named in (
        (subscription(types=["everything"]), "types"),
        (subscription(buffering={"maxItems": 10}), "buffering.maxItems"),
        (subscription(buffering={"timeoutMs": 5}), "buffering.timeoutMs"),
        (subscription(buffering={"maxBytes": 10**9}), "buffering.maxBytes"),
        (subscription(destination={"protocol": "HTTP", "URI": "http://example.com:80/"}), "destination.URI"),
        (subscription(destination={"protocol": "TCP", "URI": "x"}), "destination"),
        (b"not json", "JSON"),
    ):
        parsed = parse_subscription(body)
        assert (
            isinstance(parsed, tuple) and parsed[0] == 400 and named in json.loads(parsed[1])["errorMessage"]
        )


async def test_batches_hold_init_events_and_arrive_after_timeout_ms() -> None:
    events = Telemetry()
    events.record("platform.initStart", {"phase": "init"})
    events.record("function", "before anyone listened")  # not kept: only platform events wait
    assert events.subscribe("ext-1", subscription()) == (200, b'"OK"')
    events.record("function", "hello")
    pump = Recorder()
    events.fetch(pump)
    await asyncio.sleep(0.1)  # timeoutMs 25
    status, batch, _ = pump.replies[0]
    assert status == 200 and batch["uri"] == "http://sandbox.localdomain:4243/t"
    assert [(e["type"], e["record"]) for e in batch["events"]] == [
        ("platform.initStart", {"phase": "init"}),
        ("function", "hello"),
    ]
    assert batch["events"][0]["time"].endswith("Z")


async def test_a_subscriber_that_never_reads_costs_a_bounded_queue() -> None:
    events = Telemetry()
    events.subscribe(
        "ext-1", subscription(buffering={"maxItems": 10000, "maxBytes": 1048576, "timeoutMs": 30000})
    )
    for n in range(telemetry.MAX_QUEUED + 500):
        events.record("function", f"line {n}")
    pump = Recorder()
    events.fetch(pump)
    assert len(pump.replies[0][1]["events"]) == telemetry.MAX_QUEUED  # the rest were dropped
    events.close()
