"""Function references, configuration revisions, log lines and the bootstrap's JSON codec."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from statemachine import parse_function_ref
from workers.functions.config import FunctionConfig
from workers.functions.environment import _error_type, _status
from workers.functions.logs import billed_ms, invocation_lines


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("hello", ("hello", None)),
        ("hello:3", ("hello", "3")),
        ("hello:$LATEST", ("hello", "$LATEST")),
        ("arn:aws:lambda:us-east-1:123456789012:function:hello", ("hello", None)),
        ("arn:aws:lambda:local:000000000000:function:hello:7", ("hello", "7")),
    ],
    ids=["name", "name-version", "name-latest", "arn", "arn-version"],
)
def test_function_references(ref: str, expected: tuple[str, str | None]) -> None:
    assert parse_function_ref(ref) == expected


@pytest.mark.parametrize(
    "ref",
    ["", ":1", "arn:aws:s3:::bucket", "arn:aws:lambda:us-east-1:1:layer:x"],
    ids=["empty", "no-name", "s3", "layer"],
)
def test_bad_function_references_say_what_is_wrong(ref: str) -> None:
    with pytest.raises(ValueError, match="function"):
        parse_function_ref(ref)


def test_revision_changes_with_configuration_but_not_with_concurrency() -> None:
    base = FunctionConfig(name="f", runtime="python3.11", handler="app.handler", code_dir=Path("/code/a"))
    same = FunctionConfig(name="f", runtime="python3.11", handler="app.handler", code_dir=Path("/code/a"),
                          reserved_concurrency=3, provisioned_concurrency=1)  # fmt: skip
    other = FunctionConfig(name="f", runtime="python3.11", handler="app.handler", code_dir=Path("/code/a"),
                           memory_mb=256)  # fmt: skip
    assert base.revision == same.revision != other.revision


@pytest.mark.parametrize(("ms", "billed"), [(0.01, 1), (1.0, 1), (1.001, 2), (99.5, 100)], ids=str)
def test_billed_duration_rounds_up_to_the_millisecond(ms: float, billed: int) -> None:
    assert billed_ms(ms) == billed


def test_invocation_lines_are_lambdas() -> None:
    lines = invocation_lines("id-1", "$LATEST", ["hello"], duration_ms=1.234, memory_mb=128, max_memory_mb=40,
                             init_duration_ms=12.5)  # fmt: skip
    assert lines == [
        "START RequestId: id-1 Version: $LATEST",
        "hello",
        "END RequestId: id-1",
        "REPORT RequestId: id-1\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 40 MB\tInit Duration: 12.50 ms",
    ]


@pytest.mark.parametrize(
    ("code", "text"),
    [(1, "exit status 1"), (-9, "signal: killed"), (137, "signal: killed"), (-15, "signal: term")],
    ids=str,
)  # fmt: skip
def test_exit_status_text(code: int, text: str) -> None:
    assert _status(code) == text


@pytest.mark.parametrize(
    ("header", "body", "expected"),
    [
        ("Custom", b"{}", "Custom"),
        (None, b'{"errorType": "KeyError"}', "KeyError"),
        (None, b"not json", "Unhandled"),
    ],
    ids=["header", "document", "neither"],
)
def test_error_type_comes_from_the_header_then_the_document(
    header: str | None, body: bytes, expected: str
) -> None:
    assert _error_type(header, body) == expected


def bootstrap() -> ModuleType:
    path = Path(__file__).parents[4] / "workers" / "functions" / "bootstrap" / "python_bootstrap.py"
    spec = importlib.util.spec_from_file_location("python_bootstrap_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


VALUES: list[Any] = [
    {"a": [1, 2.5, "é", None, True, False]}, [], "x", 0, -1.5e300, {"nested": {"deep": [{"k": "v"}]}},
    "\u2028 \ud83d\ude00 \"quoted\" \\ back",
]  # fmt: skip


@pytest.mark.parametrize("value", VALUES, ids=[f"v{i}" for i in range(len(VALUES))])
def test_bootstrap_json_matches_the_json_module(value: Any) -> None:
    module = bootstrap()
    assert module.dumps(value) == json.dumps(value)
    text = json.dumps(value)
    assert module.loads(text) == json.loads(text)
    assert module.loads(f"  {text}\n") == json.loads(text)


def test_bootstrap_json_errors_are_the_json_modules() -> None:
    module = bootstrap()
    with pytest.raises(json.JSONDecodeError):
        module.loads("{bad")
    with pytest.raises(json.JSONDecodeError):
        module.loads("1 2")
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        module.dumps({1})
    assert math.isnan(module.loads("NaN"))
    assert "python_bootstrap_under_test" not in sys.modules


def test_the_python_bootstrap_runs_from_byte_code_compiled_from_the_current_source() -> None:
    import marshal

    from workers.functions import sandbox

    inside = sandbox.python_bootstrap()
    assert inside.startswith("/var/runtime/__pycache__/python_bootstrap.") and inside.endswith(".pyc")
    compiled = sandbox.BOOTSTRAP_DIR / inside.removeprefix("/var/runtime/")
    source = sandbox.BOOTSTRAP_DIR / "python_bootstrap.py"
    assert compiled.stat().st_mtime >= source.stat().st_mtime
    code = marshal.loads(compiled.read_bytes()[16:])
    assert code.co_filename == "/var/runtime/python_bootstrap.py"  # tracebacks name the sandbox path
