"""``network: true`` gives egress, not the control plane.

A networked function gets a network namespace of its own with user-mode networking (slirp4netns):
it reaches hosts outside this machine, never the host's loopback services (the API, Temporal,
PostgreSQL, Redis), the host's own addresses, private or link-local ranges (cloud metadata).

The "outside" host is one these tests build: a network namespace joined to this machine by a veth
pair, at an address of TEST-NET-3 (203.0.113.0/24) routed into that veth only, running a small TCP
server. Probes of addresses that must stay unreachable use a UDP ``connect``, which asks the
sandbox's routing and sends nothing, wherever a TCP attempt could leave this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from foundation.settings import Settings
from tests.integration.function_kit import body, call, deploy, fn_settings, requires_bwrap, service, unique
from workers.functions import network
from workers.functions.config import FunctionConfig
from workers.functions.environment import Environment
from workers.functions.service import FunctionService
from workers.mounts import Attachments

__all__ = ["fn_settings", "service"]
pytestmark = [
    requires_bwrap,
    pytest.mark.skipif(os.geteuid() != 0, reason="building the outside host needs root (ip netns)"),
    pytest.mark.skipif(shutil.which("slirp4netns") is None, reason="slirp4netns is not installed"),
]

PROBE = """
import socket

def tcp(event, context):
    found = {}
    for host, port in event["targets"]:
        try:
            socket.create_connection((host, port), timeout=3).close()
            found[f"{host}:{port}"] = "connected"
        except OSError as e:
            found[f"{host}:{port}"] = type(e).__name__
    return found

def route(event, context):
    found = {}
    for host, port in event["targets"]:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.connect((host, port))
            found[f"{host}:{port}"] = "routed"
        except OSError as e:
            found[f"{host}:{port}"] = type(e).__name__
        finally:
            s.close()
    return found

def fetch(event, context):
    with socket.create_connection((event["host"], event["port"]), timeout=5) as s:
        return s.makefile().readline().strip()

def dns(event, context):
    nameservers = [line.split()[1] for line in open("/etc/resolv.conf") if line.startswith("nameserver")]
    try:
        socket.getaddrinfo(event["name"], 80)
        return {"nameservers": nameservers, "answer": "resolved"}
    except socket.gaierror as e:
        return {"nameservers": nameservers, "answer": e.errno}

def crash(event, context):
    import os
    os._exit(3)
"""

SERVER = """
import socket, sys, time
server = socket.create_server(("0.0.0.0", 0))
server.settimeout(1.0)
print(server.getsockname()[1], flush=True)
deadline = time.monotonic() + 600
while time.monotonic() < deadline:
    try:
        conn, _ = server.accept()
    except TimeoutError:
        continue
    with conn:
        conn.sendall(b"hello from the outside host\\n")
"""


@dataclass(frozen=True, slots=True)
class OutsideHost:
    address: str
    """The outside host's address (TEST-NET-3, routed into the veth only)."""
    port: int
    host_side: str
    """This machine's own address on the veth: one of the host's addresses."""


@pytest.fixture(scope="module")
def outside_host() -> Iterator[OutsideHost]:
    """A host "outside" this machine: a network namespace behind a veth pair, serving TCP."""
    tag = uuid.uuid4().hex[:6]
    netns, here, there = f"stepline-outside-{tag}", f"stlh{tag}", f"stlr{tag}"
    base = 4 * random.randrange(64)
    host_side, address = f"203.0.113.{base + 1}", f"203.0.113.{base + 2}"

    def ip(*args: str) -> str:
        return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout

    server: subprocess.Popen[str] | None = None
    ip("netns", "add", netns)
    try:
        ip("link", "add", here, "type", "veth", "peer", "name", there, "netns", netns)
        ip("addr", "add", f"{host_side}/30", "dev", here)
        ip("link", "set", here, "up")
        ip("-n", netns, "addr", "add", f"{address}/30", "dev", there)
        ip("-n", netns, "link", "set", there, "up")
        ip("-n", netns, "link", "set", "lo", "up")
        assert f"dev {here}" in ip("route", "get", address)  # never anywhere but into the veth
        server = subprocess.Popen(
            ["ip", "netns", "exec", netns, sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True
        )
        assert server.stdout is not None
        port = int(server.stdout.readline())
        yield OutsideHost(address, port, host_side)
    finally:
        if server is not None:
            server.kill()
            server.wait()
            assert server.stdout is not None
            server.stdout.close()
        subprocess.run(["ip", "netns", "del", netns], check=False)  # takes the veth pair with it


@pytest.fixture
def host_listener() -> Iterator[int]:
    """A port this machine listens on at every address (as an API bound to 0.0.0.0 would)."""
    with socket.create_server(("0.0.0.0", 0), backlog=16) as server:
        yield server.getsockname()[1]


async def probe(service: FunctionService, handler: str, event: object, *, network: bool = True) -> object:
    name = await deploy(service, unique("net"), {"app.py": PROBE}, handler=f"app.{handler}", network=network)
    result = await call(service, name, event)
    assert result.function_error is None, result.payload
    return body(result)


def host_addresses() -> list[str]:
    """Every IPv4 address of this machine's network namespace, but loopback ones."""
    return sorted(str(a) for a in network.host_addresses() if not a.is_loopback)


def temporal_port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


async def test_networked_function_reaches_an_outside_host(
    service: FunctionService, outside_host: OutsideHost
) -> None:
    event = {"host": outside_host.address, "port": outside_host.port}
    assert await probe(service, "fetch", event) == "hello from the outside host"


NODE_FETCH = """
const net = require("net");
exports.handler = (event) => new Promise((resolve) => {
  let data = "";
  const s = net.connect(event.port, event.host);
  s.on("data", (chunk) => { data += chunk; });
  s.on("end", () => resolve(data.trim()));
  s.on("error", (e) => resolve(e.code));
});
"""
CUSTOM_BOOTSTRAP = """#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -D "$HEADERS" "$API/invocation/next")
  ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  curl -sS "$API/invocation/$ID/response" -d "$EVENT" >/dev/null
done
"""


async def test_networked_node_and_provided_runtimes_work(
    service: FunctionService, outside_host: OutsideHost
) -> None:
    event = {"host": outside_host.address, "port": outside_host.port}
    node = await deploy(service, unique("net"), {"index.js": NODE_FETCH}, "index.handler", "nodejs20",
                        network=True)  # fmt: skip
    assert body(await call(service, node, event)) == "hello from the outside host"
    # the provided runtime's relay listens on the sandbox's own 127.0.0.1:9001, networked or not
    custom = await deploy(service, unique("net"), {"bootstrap": CUSTOM_BOOTSTRAP}, "x", "provided",
                          network=True)  # fmt: skip
    assert body(await call(service, custom, {"n": 1})) == {"n": 1}


async def test_networked_function_cannot_reach_the_hosts_loopback_services(
    service: FunctionService, host_listener: int, temporal_address: str
) -> None:
    ports = [5432, temporal_port(temporal_address), host_listener]  # PostgreSQL, Temporal, a 0.0.0.0 API
    found = await probe(service, "tcp", {"targets": [["127.0.0.1", port] for port in ports]})
    assert found == {f"127.0.0.1:{port}": "ConnectionRefusedError" for port in ports}  # its own loopback
    alias = network.HOST_LOOPBACK_ALIAS  # slirp's name for the host's loopback
    found = await probe(service, "route", {"targets": [[alias, port] for port in ports]})
    assert found == {f"{alias}:{port}": "PermissionError" for port in ports}


async def test_networked_function_cannot_reach_the_hosts_own_addresses(
    service: FunctionService, outside_host: OutsideHost, host_listener: int
) -> None:
    tcp = await probe(service, "tcp", {"targets": [[outside_host.host_side, host_listener]]})
    assert tcp == {f"{outside_host.host_side}:{host_listener}": "PermissionError"}
    mine = host_addresses()
    assert outside_host.host_side in mine
    routed = await probe(service, "route", {"targets": [[a, host_listener] for a in mine]})
    assert routed == {f"{a}:{host_listener}": "PermissionError" for a in mine}


async def test_networked_function_cannot_reach_private_or_link_local_ranges(service: FunctionService) -> None:
    denied = ["169.254.169.254", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "0.0.0.1"]
    targets = [[a, 80] for a in denied] + [[network.DNS_ADDRESS, 5432], [network.DNS_ADDRESS, 53]]
    found = await probe(service, "route", {"targets": targets})
    expected = {f"{a}:80": "PermissionError" for a in denied}
    expected |= {f"{network.DNS_ADDRESS}:5432": "PermissionError", f"{network.DNS_ADDRESS}:53": "routed"}
    assert found == expected  # the DNS address forwards port 53 only (slirp would forward any port)


async def test_operator_deny_list_replaces_the_default_ranges(
    fn_settings: Settings, outside_host: OutsideHost
) -> None:
    deny = [ipaddress.IPv4Network("203.0.113.0/24")]
    sandbox = fn_settings.sandbox.model_copy(update={"network_deny": deny})
    settings = fn_settings.model_copy(update={"sandbox": sandbox})
    async with FunctionService(settings, config_cache_seconds=0.0, run_events=False) as svc:
        targets = [[outside_host.address, outside_host.port], ["10.1.2.3", 80], ["169.254.169.254", 80]]
        found = await probe(svc, "route", {"targets": targets})
    assert found == {
        f"{outside_host.address}:{outside_host.port}": "PermissionError",
        "10.1.2.3:80": "routed",
        "169.254.169.254:80": "PermissionError",  # link-local is always denied
    }


async def test_networked_sandbox_of_a_mapped_root_is_egress_only_too(
    fn_settings: Settings, tmp_path: Path, outside_host: OutsideHost, host_listener: int
) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    settings = fn_settings.model_copy(update={"data_dir": private / "data"})
    async with FunctionService(settings, config_cache_seconds=0.0, run_events=False) as svc:
        assert not svc.unprivileged  # bubblewrap runs as root, the sandbox is root mapped to 993
        event = {"host": outside_host.address, "port": outside_host.port}
        assert await probe(svc, "fetch", event) == "hello from the outside host"
        targets = [["127.0.0.1", 5432], [outside_host.host_side, host_listener]]
        assert await probe(svc, "tcp", {"targets": targets}) == {
            "127.0.0.1:5432": "ConnectionRefusedError",
            f"{outside_host.host_side}:{host_listener}": "PermissionError",
        }


async def test_networked_function_resolves_names_through_its_own_dns(service: FunctionService) -> None:
    found = await probe(service, "dns", {"name": "stepline-test.invalid"})
    assert found == {"nameservers": [network.DNS_ADDRESS], "answer": socket.EAI_NONAME}  # an answer: NXDOMAIN


async def test_function_without_network_reaches_nothing(
    service: FunctionService, outside_host: OutsideHost
) -> None:
    targets = [[outside_host.address, outside_host.port], ["127.0.0.1", 5432]]
    assert await probe(service, "tcp", {"targets": targets}, network=False) == {
        f"{outside_host.address}:{outside_host.port}": "OSError",  # ENETUNREACH: no route at all
        "127.0.0.1:5432": "ConnectionRefusedError",  # its own loopback
    }
    dns = await probe(service, "dns", {"name": "stepline-test.invalid"}, network=False)
    assert isinstance(dns, dict) and dns["answer"] != socket.EAI_NONAME


def helpers() -> list[int]:
    """This process's slirp4netns children."""
    found = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            stat = (proc / "stat").read_text()
            name, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
            if name == "slirp4netns" and int(rest.split()[1]) == os.getpid():
                found.append(int(proc.name))
    return found


async def test_network_helper_dies_with_its_environment(fn_settings: Settings) -> None:
    async with FunctionService(fn_settings, config_cache_seconds=0.0, run_events=False) as svc:
        assert helpers() == []
        await probe(svc, "route", {"targets": []})
        assert len(helpers()) == 1  # one per networked sandbox, kept while the sandbox is
        name = await deploy(svc, unique("net"), {"app.py": PROBE}, handler="app.crash", network=True)
        result = await call(svc, name, {})
        assert json.loads(result.payload)["errorType"] == "Runtime.ExitError"
        for _ in range(50):  # the crashed sandbox is closed in the background
            if len(helpers()) == 1:
                break
            await asyncio.sleep(0.05)
        assert len(helpers()) == 1
    assert helpers() == []  # shut down: no helper left, none a zombie


@pytest.fixture
def run_dir() -> Iterator[Path]:
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"stepline-net-{uuid.uuid4().hex[:8]}"
    path.mkdir(mode=0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def spawner() -> AsyncIterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(1)
    yield executor
    executor.shutdown()


async def test_missing_slirp4netns_is_a_clear_error(run_dir: Path, spawner: ThreadPoolExecutor) -> None:
    code = run_dir / "code"
    code.mkdir(mode=0o755)
    (code / "app.py").write_text("def handler(event, context):\n    return 1\n")
    config = FunctionConfig(name="n", runtime="python3.11", handler="app.handler", code_dir=code)
    config = dataclasses.replace(config, network=True)
    missing = network.Egress(slirp4netns="/nonexistent/slirp4netns")
    env = Environment(config, "net-1", run_dir, "bwrap", None, spawner, egress=missing)
    with pytest.raises(RuntimeError, match="install the slirp4netns package"):
        await env.start(Attachments())
    await env.close()
    assert helpers() == []
