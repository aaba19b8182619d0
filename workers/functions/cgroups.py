"""Memory and process limits for sandboxes through cgroups (v2 or v1), where the worker may write them.

Each environment gets its own group and the sandbox is in it before it runs any code, so
everything it forks inherits the limits: with v1 the spawning thread enters the group for the
spawn (``entered_by_thread``); with v2 bubblewrap waits on ``--block-fd`` until its child is moved. Where no
cgroup hierarchy is writable, ``detect`` returns None and the bootstrap applies RLIMIT_AS itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True, slots=True)
class CgroupDriver:
    """Where to create groups: one directory (v2) or one per controller (v1)."""

    version: int
    memory_root: Path
    pids_root: Path

    def remove_stale(self) -> None:
        """Delete groups left by workers that are gone (names start with the worker's pid)."""
        for root in {self.memory_root, self.pids_root}:
            for group in root.iterdir():
                pid = group.name.split("-", 1)[0]
                if group.is_dir() and pid.isdigit() and not Path(f"/proc/{pid}").exists():
                    with contextlib.suppress(OSError):
                        group.rmdir()

    def create(self, name: str, memory_bytes: int, pids_max: int) -> Cgroup:
        """A new group with the limits applied (no process in it yet)."""
        memory = self.memory_root / name
        pids = self.pids_root / name
        memory.mkdir(parents=True, exist_ok=True)
        if pids != memory:
            pids.mkdir(parents=True, exist_ok=True)
        group = Cgroup(self.version, memory, pids)
        group.limit(memory_bytes, pids_max)
        return group


@dataclass(frozen=True, slots=True)
class Cgroup:
    """One environment's group."""

    version: int
    memory: Path
    pids: Path

    def limit(self, memory_bytes: int, pids_max: int) -> None:
        """Apply (or raise, for a claimed spare sandbox) the memory and pids limits."""
        if self.version == 2:
            (self.memory / "memory.max").write_text(str(memory_bytes))
            with contextlib.suppress(OSError):
                (self.memory / "memory.swap.max").write_text("0")
        else:  # memsw may never be below the limit: raise it first, lower it last
            with contextlib.suppress(OSError):
                (self.memory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
            (self.memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
            with contextlib.suppress(OSError):
                (self.memory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
        (self.pids / "pids.max").write_text(str(pids_max))

    def add(self, pid: int) -> None:
        """Move a process (and so its future children) into the group."""
        (self.memory / "cgroup.procs").write_text(str(pid))
        if self.pids != self.memory:
            (self.pids / "cgroup.procs").write_text(str(pid))

    @contextlib.contextmanager
    def entered_by_thread(self) -> Iterator[None]:
        """Put the calling thread in the group while the block runs (cgroup v1 only).

        v1 places threads, not processes, and a child starts where the thread that forked it is:
        a sandbox spawned inside this block is in the group from its first instruction, with no
        round trip to move it there afterwards.
        """
        tid = threading.get_native_id()
        home = _thread_home(tid)
        for directory in (self.memory, self.pids):
            (directory / "tasks").write_text(str(tid))
        try:
            yield
        finally:
            for tasks in home:
                tasks.write_text(str(tid))

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process here for exceeding the memory limit."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            text = (self.memory / name).read_text()
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip() != "0":
                return True
        return False

    def peak_memory_bytes(self) -> int | None:
        """The most memory the group has used so far."""
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((self.memory / name).read_text())
        except (OSError, ValueError):
            return None

    def kill_all(self) -> None:
        """SIGKILL every process in the group."""
        if self.version == 2:
            with contextlib.suppress(OSError):
                (self.pids / "cgroup.kill").write_text("1")
                return
        try:
            pids = (self.pids / "cgroup.procs").read_text().split()
        except OSError:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)

    def remove(self) -> bool:
        """Delete the group; False while processes remain in it."""
        done = True
        for path in {self.memory, self.pids}:
            try:
                path.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                done = False
        return done


def _thread_home(tid: int) -> list[Path]:
    """The v1 ``tasks`` files of the thread's memory and pids groups (to return to)."""
    home: list[Path] = []
    for line in Path(f"/proc/self/task/{tid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in ("memory", "pids"):
            if controller in controllers.split(","):
                home.append(ROOT / controller / path.lstrip("/") / "tasks")
    return home


def detect(prefix: str) -> CgroupDriver | None:
    """The writable cgroup hierarchy, with groups under ``prefix``, or None."""
    v2_controllers = ROOT / "cgroup.controllers"
    if v2_controllers.exists():
        base = ROOT / prefix
        try:
            base.mkdir(exist_ok=True)
            (ROOT / "cgroup.subtree_control").write_text("+memory +pids")
            (base / "cgroup.subtree_control").write_text("+memory +pids")
        except OSError:
            return None
        return CgroupDriver(2, base, base)
    memory = ROOT / "memory" / prefix
    pids = ROOT / "pids" / prefix
    try:
        memory.mkdir(exist_ok=True)
        pids.mkdir(exist_ok=True)
    except OSError:
        return None
    if not os.access(memory, os.W_OK) or not os.access(pids, os.W_OK):
        return None
    return CgroupDriver(1, memory, pids)
