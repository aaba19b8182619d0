"""What an image function's sandbox runs: the image's configuration, the function's ImageConfig over
it, and the variables in the order Lambda gives them (loader variables held back from the relay)."""

from __future__ import annotations

from typing import Any

import pytest

from workers.functions.images import launch
from workers.functions.images.run import ImageRun, image_run

CONFIG = {
    "config": {"Entrypoint": ["/entry"], "Cmd": ["a", "b"], "WorkingDir": "/w", "Env": ["K=image", "E="]}
}
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], tuple[tuple[str, ...], str]]] = {
    "image-as-is": (CONFIG, {}, (("/entry", "a", "b"), "/w")),
    "command-only": (CONFIG, {"Command": ["c"]}, (("/entry", "c"), "/w")),
    "entry-point-only": (CONFIG, {"EntryPoint": ["/other"]}, (("/other", "a", "b"), "/w")),
    "all-three": (
        CONFIG,
        {"EntryPoint": ["/x"], "Command": [], "WorkingDirectory": "/d"},
        (("/x", "a", "b"), "/d"),
    ),
    "no-config": ({}, {}, ((), "/")),
    "cmd-only-image": ({"config": {"Cmd": ["/bin/run"]}}, {}, (("/bin/run",), "/")),
}


@pytest.mark.parametrize("config, overrides, expected", CASES.values(), ids=CASES.keys())
def test_image_config_overrides_one_by_one(
    config: dict[str, Any], overrides: dict[str, Any], expected: tuple[tuple[str, ...], str]
) -> None:
    run = image_run(config, overrides)
    assert (run.command, run.working_directory) == expected


def test_variables_image_then_function_then_lambda_with_loader_ones_held() -> None:
    run = ImageRun(("/x",), "/", (("K", "image"), ("LD_PRELOAD", "/lib.so"), ("PATH", "/image/bin")))
    found = launch.environment(run, {"K": "function", "MALLOC_ARENA_MAX": "2"}, {"AWS_REGION": "eu-west-1"})
    assert found == {
        "K": "function", "_RAPID_HELD_LD_PRELOAD": "/lib.so", "PATH": "/image/bin",
        "_RAPID_HELD_MALLOC_ARENA_MAX": "2", "AWS_REGION": "eu-west-1",
    }  # fmt: skip
    assert launch.environment(ImageRun((), "/", ()), {}, {})["PATH"].startswith("/usr/local/sbin:")


def test_the_relay_runs_the_workers_python_through_its_loader_under_var_rapid() -> None:
    command = launch.command(ImageRun(("/entry", "arg"), "/w", ()))
    assert command[0].startswith("/var/rapid/") and "ld-linux" in command[0]
    assert command[1] == "--library-path" and all(p.startswith("/var/rapid/") for p in command[2].split(":"))
    assert command[-4:] == ["/var/rapid/runtime/image_init.py", "/w", "/entry", "arg"]
