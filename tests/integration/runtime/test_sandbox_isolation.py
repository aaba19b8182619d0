"""What a function cannot do: each isolation property of the sandbox, one test each."""

from __future__ import annotations

import asyncio
from pathlib import Path

from foundation.settings import Settings
from statemachine import FunctionCall
from tests.integration.function_kit import body, call, deploy, fn_settings, requires_bwrap, service, unique
from workers.functions.config import FunctionConfig
from workers.functions.pool import EnvironmentPool
from workers.functions.service import FunctionService
from workers.functions.slots import SlotTable
from workers.mounts import Attachments

__all__ = ["fn_settings", "service"]
pytestmark = [requires_bwrap]

PROBE = """
import os, socket
def read(event, context):
    try:
        with open(event["path"], "rb") as f:
            return {"read": len(f.read())}
    except OSError as e:
        return {"error": type(e).__name__}
def listdir(event, context):
    try:
        return {"entries": os.listdir(event["path"])}
    except OSError as e:
        return {"error": type(e).__name__}
def write(event, context):
    try:
        with open(event["path"], "w") as f:
            f.write("x")
        return {"wrote": True}
    except OSError as e:
        return {"error": type(e).__name__}
def connect(event, context):
    try:
        socket.create_connection(("127.0.0.1", event["port"]), timeout=1).close()
        return {"connected": True}
    except OSError as e:
        return {"error": type(e).__name__}
def env(event, context):
    return dict(os.environ)
def whoami(event, context):
    caps = open("/proc/self/status").read().split("CapEff:")[1].split()[0]
    return {"uid": os.getuid(), "pid": os.getpid(), "caps": caps}
"""


async def probe(service: FunctionService, handler: str, event: object) -> dict[str, object]:
    name = await deploy(service, unique("probe"), {"app.py": PROBE}, handler=f"app.{handler}")
    await service.pool.spares_ready()
    claimed = service.pool.spares_claimed
    result = await call(service, name, event)
    assert result.function_error is None, result.payload
    assert service.pool.spares_claimed == claimed + 1  # the environment was a spare sandbox, claimed
    found: dict[str, object] = body(result)
    return found


async def test_etc_shadow_is_not_readable(service: FunctionService) -> None:
    assert await probe(service, "read", {"path": "/etc/shadow"}) == {"error": "FileNotFoundError"}


async def test_worker_code_is_not_visible(service: FunctionService) -> None:
    import workers

    source = workers.__file__
    assert await probe(service, "read", {"path": source}) == {"error": "FileNotFoundError"}
    assert await probe(service, "listdir", {"path": "/work"}) == {"error": "FileNotFoundError"}
    assert (await probe(service, "listdir", {"path": "/root"}))["entries"] == [".pyenv"]


async def test_other_functions_code_is_not_visible(service: FunctionService) -> None:
    code = {"app.py": "TOKEN = 'hunter2'\ndef handler(e, c): return 1\n"}
    secret_dir = (await service.resolve(await deploy(service, unique("secret"), code), None)).code_dir
    missing = {"error": "FileNotFoundError"}
    assert await probe(service, "read", {"path": str(secret_dir / "app.py")}) == missing
    assert await probe(service, "listdir", {"path": str(secret_dir.parent)}) == missing


async def test_var_task_is_not_writable(service: FunctionService) -> None:
    assert await probe(service, "write", {"path": "/var/task/app.py"}) == {"error": "OSError"}
    assert await probe(service, "write", {"path": "/var/task/new.txt"}) == {"error": "OSError"}
    assert await probe(service, "write", {"path": "/tmp/scratch.txt"}) == {"wrote": True}


async def test_no_network_without_configuration(service: FunctionService) -> None:
    found = await probe(service, "connect", {"port": 5432})
    assert found == {"error": "ConnectionRefusedError"}


async def test_no_stepline_setting_is_visible(service: FunctionService, monkeypatch: object) -> None:
    env = await probe(service, "env", {})
    assert not [key for key in env if key.startswith("STEPLINE")]
    assert "postgres" not in " ".join(str(v) for v in env.values())
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["LAMBDA_TASK_ROOT"] == "/var/task"


async def test_runs_unprivileged_in_its_own_pid_namespace(service: FunctionService) -> None:
    found = await probe(service, "whoami", {})
    assert found["uid"] == 993
    assert found["caps"] == "0000000000000000"
    assert isinstance(found["pid"], int) and found["pid"] < 10
    assert service.unprivileged
    assert host_uids(service.pool.run_dir) == {993}  # an unprivileged host user, not root in disguise


async def test_falls_back_to_a_mapped_root_when_the_data_dir_is_private(
    fn_settings: Settings, tmp_path: Path
) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    settings = fn_settings.model_copy(update={"data_dir": private / "data"})
    async with FunctionService(settings, config_cache_seconds=0.0, run_events=False) as svc:
        assert not svc.unprivileged
        found = await probe(svc, "whoami", {})
        assert 0 in host_uids(svc.pool.run_dir)
    assert found["uid"] == 993 and found["caps"] == "0000000000000000"


def host_uids(run_dir: Path) -> set[int]:
    """The host uids of a pool's sandbox processes (bubblewrap's command line names the run dir)."""
    pids = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _mentions(p, str(run_dir))]
    seen: set[int] = set()
    while pids:
        proc = pids.pop()
        try:
            status = (proc / "status").read_text()
            children = (proc / "task" / proc.name / "children").read_text().split()
        except OSError:
            continue
        seen.add(int(status.split("Uid:")[1].split()[1]))
        pids += [Path("/proc") / c for c in children]
    return seen


def _mentions(proc: Path, text: str) -> bool:
    try:
        return text.encode() in (proc / "cmdline").read_bytes()
    except OSError:
        return False


FORK_BOMB = """
import os
def handler(event, context):
    n = 0
    try:
        while True:
            os.fork() == 0 or None
            n += 1
    except OSError as e:
        return {"stopped": type(e).__name__}
"""


async def test_fork_bomb_is_contained_and_others_keep_working(service: FunctionService) -> None:
    bomb = await deploy(service, unique("bomb"), {"app.py": FORK_BOMB}, timeout=3)
    victim = await deploy(service, unique("victim"), {"app.py": "def handler(e, c):\n    return e\n"})
    bomb_run = asyncio.create_task(call(service, bomb, {}))
    await asyncio.sleep(0.5)
    for i in range(3):
        result = await call(service, victim, {"i": i})
        assert body(result) == {"i": i}
    outcome = await bomb_run
    assert outcome.function_error == "Unhandled" or body(outcome) == {"stopped": "BlockingIOError"}


HOG = """
def handler(event, context):
    chunks = []
    for _ in range(event["mb"]):
        chunks.append(bytearray(1024 * 1024))
    return len(chunks)
"""


async def test_twice_the_memory_limit_is_out_of_memory(service: FunctionService) -> None:
    name = await deploy(service, unique("hog"), {"app.py": HOG}, memory_size=128)
    result = await call(service, name, {"mb": 256})
    assert result.function_error == "Unhandled"
    assert body(result)["errorType"] == "Runtime.OutOfMemory"
    assert (await call(service, name, {"mb": 16})).payload == b"16"


SPIN = """
import os
def handler(event, context):
    if event.get("spin"):
        while True:
            pass
    return os.getpid()
"""


async def test_infinite_loop_times_out_and_next_call_gets_a_fresh_environment(
    service: FunctionService,
) -> None:
    name = await deploy(service, unique("spin"), {"app.py": SPIN}, timeout=1)
    first = await call(service, name, {})
    result = await call(service, name, {"spin": True})
    assert result.error_type == "Sandbox.Timedout"
    assert body(result)["errorMessage"].endswith("Task timed out after 1.00 seconds")
    after = await call(service, name, {})
    assert after.function_error is None and after.init_duration_ms is not None
    assert first.init_duration_ms is not None


LIBRARIES = """
import os, sys
def handler(event, context):
    try:
        open("/opt/stepline/README.md", "a")
        writable = True
    except OSError:
        writable = False
    return {"path": sys.path[:4], "node_path": os.environ["NODE_PATH"], "writable": writable,
            "listing": sorted(os.listdir("/opt/stepline"))}
"""


async def test_stepline_client_libraries_are_mounted_read_only(service: FunctionService) -> None:
    name = await deploy(service, unique("libs"), {"app.py": LIBRARIES})
    found = body(await call(service, name, {}))
    layers = ["/opt/python/lib/python3.11/site-packages", "/opt/python"]  # Lambda's layer paths (empty)
    assert found["path"] == ["/var/task", *layers, "/opt/stepline/python"]
    assert found["node_path"].split(":")[0] == "/opt/stepline/node"
    assert found["writable"] is False
    assert {"python", "node"} <= set(found["listing"])


async def test_without_cgroups_the_memory_limit_is_rlimit_as(tmp_path: Path) -> None:
    """Where no cgroup hierarchy is writable, the Python bootstrap limits its address space."""

    async def no_attachments(config: FunctionConfig) -> Attachments:
        return Attachments()

    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(HOG)
    pool = EnvironmentPool(
        run_dir=tmp_path / "run", bwrap="bwrap", cgroups=None, slots=SlotTable(tmp_path / "slots", 4),
        attachments=no_attachments, idle_seconds=60, max_environments=4,
    )  # fmt: skip
    config = FunctionConfig(name="hog", runtime="python3.11", handler="app.handler", code_dir=code)
    try:
        ran, _, _ = await pool.invoke(config, FunctionCall("hog", b'{"mb": 512}'), "r1", 10)
        assert ran.error_type == "Runtime.OutOfMemory"
        fine, _, cold = await pool.invoke(config, FunctionCall("hog", b'{"mb": 16}'), "r2", 10)
        assert fine.payload == b"16" and cold, (ran, fine)
    finally:
        await pool.close()
