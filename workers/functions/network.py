"""Egress-only networking for sandboxes of functions with ``network: true``.

Every sandbox has a network namespace of its own (bubblewrap's ``--unshare-net``). A networked
one gets user-mode networking attached to it before it runs anything: ``slirp4netns`` creates a
tap device inside, answers on 10.0.2.0/24 and turns each connection the sandbox makes into a socket
of its own on the host. So the sandbox reaches what the host could connect to, minus what is denied:

- the host's loopback: slirp's alias for it (10.0.2.2) is disabled (``--disable-host-loopback``),
  and 127.0.0.0/8 inside the sandbox is the sandbox's own loopback;
- the host's own addresses, loopback, link-local (169.254.169.254, cloud metadata) and
  ``0.0.0.0/8``, always; the operator's ranges (``STEPLINE_SANDBOX__NETWORK_DENY``; private,
  carrier-grade NAT, multicast and reserved by default): "prohibit" routes inside the namespace;
- slirp's virtual network 10.0.2.0/24 but DNS (10.0.2.3, port 53): policy rules, since slirp
  forwards any port of 10.0.2.3 to the host's resolver (or to 127.0.0.1 if it has none).

The routes and rules are the worker's: the sandbox has no capability in its network namespace and
cannot change them. No IPv6 (slirp's is off). slirp4netns runs with an empty environment, its own
seccomp filter and an empty mount namespace, and dies with the sandbox (``Link``) or the worker
(its exit pipe closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import IO

from foundation.settings import SandboxSettings
from workers.functions.config import FunctionConfig

SLIRP_NETWORK = IPv4Network("10.0.2.0/24")
HOST_LOOPBACK_ALIAS = "10.0.2.2"
"""slirp's gateway, its alias for the host's loopback (disabled)."""
SANDBOX_ADDRESS = "10.0.2.100"
TAP = "tap0"
DNS_ADDRESS = "10.0.2.3"
"""slirp's DNS forwarder: the sandbox's only nameserver."""
MTU = 65520
ALWAYS_DENIED = tuple(IPv4Network(cidr) for cidr in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16"))
READY_TIMEOUT_SECONDS = 5.0
NS_GET_USERNS = 0xB701
"""ioctl on a namespace: the user namespace that owns it (bubblewrap nests the sandbox's own)."""
RESOLV_CONF = f"nameserver {DNS_ADDRESS}\noptions timeout:2 attempts:2\n"


def bwrap_args(config: FunctionConfig, directory: Path) -> list[str]:
    """What bubblewrap's command line needs for the network: the sandbox's resolv.conf, naming slirp's
    DNS (the host's names a resolver the sandbox cannot reach). Written into ``directory``."""
    if not config.network:
        return []
    resolv = directory / "resolv.conf"
    resolv.write_text(RESOLV_CONF)
    resolv.chmod(0o644)
    return ["--ro-bind", str(resolv), "/etc/resolv.conf"]


def host_addresses() -> list[IPv4Address]:
    """This network namespace's own IPv4 addresses (``/proc/net/fib_trie``'s local /32 entries)."""
    found: set[IPv4Address] = set()
    last = ""
    for line in Path("/proc/net/fib_trie").read_text().splitlines():
        text = line.strip()
        if text.startswith("|-- "):
            last = text[4:]
        elif text == "/32 host LOCAL" and last:
            found.add(IPv4Address(last))
    return sorted(found)


def namespace_batch(deny: Iterable[IPv4Network], host: Iterable[IPv4Address]) -> str:
    """The ``ip -batch`` commands that set a sandbox's network namespace up: slirp's interface, then
    "prohibit" routes for ``deny``, ``ALWAYS_DENIED`` and the host's addresses, then rules that deny
    slirp's network but its DNS port (last: a rule denying the gateway fails the default route's
    check). slirp4netns's ``--configure`` is not used: it sets the loopback up, racing bubblewrap,
    which adds the loopback's address at the same moment (and dies of the clash)."""
    ranges = [*ALWAYS_DENIED, *deny, *(IPv4Network(address) for address in host)]
    # 0.0.0.0/0 as two halves: the default route holds that very prefix
    ranges = [half for cidr in ranges for half in (cidr.subnets(1) if cidr.prefixlen == 0 else [cidr])]
    lines = [
        f"link set {TAP} mtu {MTU} up",
        f"addr add {SANDBOX_ADDRESS}/{SLIRP_NETWORK.prefixlen} dev {TAP}",
        f"route add default via {HOST_LOOPBACK_ALIAS} dev {TAP}",
    ]
    lines += [
        f"route add prohibit {cidr}"
        for cidr in dict.fromkeys(ranges)
        if not cidr.subnet_of(SLIRP_NETWORK)  # (slirp's own network: the rules below)
    ]
    lines += [
        f"rule add to {DNS_ADDRESS}/32 ipproto udp dport 53 lookup main priority 100",
        f"rule add to {DNS_ADDRESS}/32 ipproto tcp dport 53 lookup main priority 101",
        f"rule add to {SLIRP_NETWORK} prohibit priority 102",
    ]
    return "\n".join(lines) + "\n"


@dataclass(slots=True)
class Link:
    """A sandbox's slirp4netns: its process, and the pipe end whose closing also stops it."""

    process: subprocess.Popen[bytes]
    exit_fd: int | None

    def kill(self) -> None:
        """Stop slirp4netns now (idempotent)."""
        if self.exit_fd is not None:
            os.close(self.exit_fd)
            self.exit_fd = None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def wait(self) -> None:
        """Reap slirp4netns (after ``kill``: no zombie is left)."""
        self.process.wait()


def _default_deny() -> tuple[IPv4Network, ...]:
    return tuple(SandboxSettings().network_deny)


@dataclass(frozen=True, slots=True)
class Egress:
    """How networked sandboxes reach out: what is denied, and the helper that carries the traffic."""

    deny: tuple[IPv4Network, ...] = field(default_factory=_default_deny)
    slirp4netns: str = "slirp4netns"

    async def attach(self, pid: int) -> Link:
        """Give the network namespace of ``pid`` (bubblewrap's child, held before it runs anything)
        egress under this policy; returns once the interface, routes and rules are in place."""
        slirp = shutil.which(self.slirp4netns)
        if slirp is None:
            raise RuntimeError(
                f"network: true needs {self.slirp4netns}, which is not installed: "
                "install the slirp4netns package (apt-get install slirp4netns)"
            )
        tools = [shutil.which("nsenter"), shutil.which("ip", path="/usr/sbin:/sbin:/usr/bin:/bin")]
        if None in tools:
            raise RuntimeError("network: true needs nsenter and ip: install util-linux and iproute2")
        nsenter, ip = (str(tool) for tool in tools)
        netns = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        userns = None if os.geteuid() == 0 else fcntl.ioctl(netns, NS_GET_USERNS)
        try:
            link = await _start_slirp(slirp, netns, userns)
            try:
                batch = namespace_batch(self.deny, host_addresses())
                await _apply(batch, [nsenter, *_enter(netns, userns), ip, "-batch", "-"], netns, userns)
            except BaseException:
                link.kill()
                link.wait()
                raise
        finally:
            os.close(netns)
            if userns is not None:
                os.close(userns)
        return link


def _enter(netns: int, userns: int | None) -> list[str]:
    """nsenter's options to enter the namespace (and, for a worker that is not root, its owner)."""
    user = [] if userns is None else [f"--user=/proc/self/fd/{userns}", "--preserve-credentials"]
    return [*user, f"--net=/proc/self/fd/{netns}"]


async def _start_slirp(slirp: str, netns: int, userns: int | None) -> Link:
    """Start slirp4netns on the namespace; return once it reports its interface created."""
    ready_r, ready_w = os.pipe()
    exit_r, exit_w = os.pipe()
    user = [] if userns is None else [f"--userns-path=/proc/self/fd/{userns}"]
    argv = [
        slirp, f"--mtu={MTU}", "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp",
        f"--ready-fd={ready_w}", f"--exit-fd={exit_r}", *user,
        "--netns-type=path", f"/proc/self/fd/{netns}", TAP,
    ]  # fmt: skip
    fds = [ready_w, exit_r, netns, *([] if userns is None else [userns])]
    with tempfile.TemporaryFile() as log:
        try:
            process = subprocess.Popen(  # noqa: ASYNC220  (vfork: well under a millisecond, uncancellable)
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=fds, env={}, process_group=0
            )
        except BaseException:
            for fd in (ready_r, exit_w):
                os.close(fd)
            raise
        finally:
            os.close(ready_w)
            os.close(exit_r)
        link = Link(process, exit_w)
        try:
            try:
                async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                    said = await _read_some(ready_r)
            except TimeoutError:
                said = b""
            if said != b"1":
                raise RuntimeError(f"slirp4netns did not start the sandbox's network: {_said(log)}")
        except BaseException:
            link.kill()
            link.wait()
            raise
        finally:
            os.close(ready_r)
    return link


async def _apply(batch: str, argv: Sequence[str], netns: int, userns: int | None) -> None:
    """Run ``ip -batch`` inside the namespace with ``batch`` as its input."""
    with tempfile.TemporaryFile() as commands, tempfile.TemporaryFile() as log:
        commands.write(batch.encode())
        commands.seek(0)
        fds = [netns, *([] if userns is None else [userns])]
        process = subprocess.Popen(  # noqa: ASYNC220  (as in _start_slirp)
            argv, stdin=commands, stdout=log, stderr=log, pass_fds=fds, env={}
        )
        try:
            code = await _exited(process)
        except BaseException:
            process.kill()
            process.wait()
            raise
        if code != 0:
            raise RuntimeError(f"could not set the sandbox's network up: {_said(log)}")


async def _read_some(fd: int) -> bytes:
    """One read from a pipe, waited for in the event loop (b"" at end of file)."""
    os.set_blocking(fd, False)
    while True:
        try:
            return os.read(fd, 64)
        except BlockingIOError:
            await _readable(fd)


async def _exited(process: subprocess.Popen[bytes]) -> int:
    """Wait in the event loop for ``process`` to exit; its status."""
    pidfd = os.pidfd_open(process.pid)
    try:
        if process.poll() is None:
            await _readable(pidfd)
    finally:
        os.close(pidfd)
    return process.wait()


async def _readable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def on_readable() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, on_readable)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def _said(log: IO[bytes]) -> str:
    log.seek(0)
    lines = log.read(8192).decode(errors="replace").strip().splitlines()
    return "; ".join(line for line in lines if not line.startswith("WARNING")) or "no output"
