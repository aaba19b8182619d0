"""Memory and process limits for sandboxes through cgroups (v2 or v1), where the worker may write them,
and the freezer that stops everything in a sandbox between its invocations.

Each environment gets its own group and the sandbox is in it before it runs any code, so
everything it forks inherits the limits: with v1 the spawning thread enters the group for the
spawn (``entered_by_thread``); with v2 bubblewrap waits on ``--block-fd`` until its child is moved. Where no
cgroup hierarchy is writable, ``detect`` returns None and the bootstrap applies RLIMIT_AS itself.

Freezing is ``cgroup.freeze`` in the group itself (v2) or v1's freezer controller, in a group of the
same name. v1 switches a kernel-wide static key whenever the first group freezes or the last one
thaws (about 0.2 ms each time, on every CPU); an empty group kept frozen for the worker's lifetime
(``ANCHOR``) keeps the key on, and a freeze or a thaw then costs a microsecond, as with v2.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
STALE_EXIT_SECONDS = 2.0
"""How long ``remove_stale`` waits for the processes it killed to exit."""
ANCHOR = "anchor"
"""v1: the empty group each worker keeps frozen (named ``<pid>-anchor``, removed as stale after it)."""


class Freezer:
    """One group's freezer, its control file kept open: a freeze or a thaw is one ``pwrite``.

    v2 writes ``cgroup.freeze`` (1/0), and ``cgroup.events`` says ``frozen 1`` once every process
    stopped; v1 writes ``freezer.state`` (FROZEN/THAWED), which reads FREEZING until then. Either
    way the write returns at once: a process stops at its next return to user space.
    """

    def __init__(self, directory: Path, version: int) -> None:
        self.directory = directory
        self._v2 = version == 2
        self._control = os.open(directory / ("cgroup.freeze" if self._v2 else "freezer.state"), os.O_RDWR)
        try:
            self._events = os.open(directory / "cgroup.events", os.O_RDONLY) if self._v2 else self._control
        except OSError:
            os.close(self._control)
            raise

    def freeze(self) -> None:
        os.pwrite(self._control, b"1" if self._v2 else b"FROZEN", 0)

    def thaw(self) -> None:
        os.pwrite(self._control, b"0" if self._v2 else b"THAWED", 0)

    def frozen(self) -> bool:
        """Whether every process in the group has stopped (not merely been asked to)."""
        state = os.pread(self._events, 512, 0)
        return b"frozen 1" in state if self._v2 else state.startswith(b"FROZEN")

    def close(self) -> None:
        if self._control >= 0:
            os.close(self._control)
            if self._events != self._control:
                os.close(self._events)
            self._control = self._events = -1


@dataclass(frozen=True, slots=True)
class CgroupDriver:
    """Where to create groups: one directory (v2) or one per controller (v1)."""

    version: int
    memory_root: Path
    pids_root: Path
    freezer_root: Path | None = None
    """v1's freezer groups (None: no freezer; v2 freezes in the group itself)."""

    @property
    def can_freeze(self) -> bool:
        return self.version == 2 or self.freezer_root is not None

    def remove_stale(self) -> None:
        """Delete groups left by workers that are gone (names start with the worker's pid), killing
        what a crashed worker left in them: a v1-frozen sandbox never dies of its parent's death (its
        kill waits for a thaw), so it is thawed, after the kill, to go."""
        roots = {self.memory_root, self.pids_root, *([self.freezer_root] if self.freezer_root else [])}
        stale = [group for root in roots for group in root.iterdir() if _orphaned(group)]
        for group in stale:
            _kill_and_thaw(group)
        deadline = time.monotonic() + STALE_EXIT_SECONDS
        while stale:
            stale = [group for group in stale if not _removed(group)]
            if not stale or time.monotonic() > deadline:
                break
            time.sleep(0.02)

    def create(self, name: str, memory_bytes: int, pids_max: int) -> Cgroup:
        """A new group with the limits applied (no process in it yet)."""
        memory = self.memory_root / name
        pids = self.pids_root / name
        memory.mkdir(parents=True, exist_ok=True)
        if pids != memory:
            pids.mkdir(parents=True, exist_ok=True)
        freezer_dir = memory if self.version == 2 else self.freezer_root and self.freezer_root / name
        if freezer_dir is not None and freezer_dir != memory:
            freezer_dir.mkdir(exist_ok=True)
        freezer = None
        if freezer_dir is not None:
            with contextlib.suppress(OSError):  # v2 before Linux 5.2: no cgroup.freeze
                freezer = Freezer(freezer_dir, self.version)
        group = Cgroup(self.version, memory, pids, freezer)
        group.limit(memory_bytes, pids_max)
        return group


@dataclass(frozen=True, slots=True)
class Cgroup:
    """One environment's group."""

    version: int
    memory: Path
    pids: Path
    freezer: Freezer | None = None
    _peak_file: str = field(init=False, repr=False, compare=False)
    """Read after every invocation (Max Memory Used): a plain ``str`` path read with ``os``, a
    fifth of what ``Path.read_text`` costs there."""

    def __post_init__(self) -> None:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        object.__setattr__(self, "_peak_file", str(self.memory / name))

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
        for directory in self._directories():
            (directory / "cgroup.procs").write_text(str(pid))

    @contextlib.contextmanager
    def entered_by_thread(self) -> Iterator[None]:
        """Put the calling thread in the group while the block runs (cgroup v1 only).

        v1 places threads, not processes, and a child starts where the thread that forked it is:
        a sandbox spawned inside this block is in the group from its first instruction, with no
        round trip to move it there afterwards.
        """
        tid = threading.get_native_id()
        home = _thread_home(tid)
        for directory in self._directories():
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
        try:
            fd = os.open(self._peak_file, os.O_RDONLY)
            try:
                return int(os.read(fd, 64))
            finally:
                os.close(fd)
        except (OSError, ValueError):
            return None

    def kill_all(self) -> None:
        """SIGKILL every process in the group, then thaw it: a v1 frozen process dies only once thawed
        (it never returns to user space: the kill is the first thing it handles)."""
        try:
            self._kill_all()
        finally:
            if self.freezer is not None:
                with contextlib.suppress(OSError):
                    self.freezer.thaw()

    def _kill_all(self) -> None:
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

    def _directories(self) -> list[Path]:
        """The group's directory in each hierarchy (one with v2)."""
        found = [self.memory]
        for directory in (self.pids, self.freezer.directory if self.freezer else None):
            if directory is not None and directory not in found:
                found.append(directory)
        return found

    def remove(self) -> bool:
        """Delete the group; False while processes remain in it."""
        done = True
        for path in self._directories():
            try:
                path.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                done = False
        if done and self.freezer is not None:
            self.freezer.close()
        return done


def _orphaned(group: Path) -> bool:
    pid = group.name.split("-", 1)[0]
    return group.is_dir() and pid.isdigit() and not Path(f"/proc/{pid}").exists()


def _kill_and_thaw(group: Path) -> None:
    with contextlib.suppress(OSError):
        for pid in (group / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
    for name, thawed in (("freezer.state", "THAWED"), ("cgroup.freeze", "0")):
        with contextlib.suppress(OSError):
            (group / name).write_text(thawed)


def _removed(group: Path) -> bool:
    try:
        group.rmdir()
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True


def _thread_home(tid: int) -> list[Path]:
    """The v1 ``tasks`` files of the thread's memory and pids groups (to return to)."""
    home: list[Path] = []
    for line in Path(f"/proc/self/task/{tid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in ("memory", "pids", "freezer"):
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
    return CgroupDriver(1, memory, pids, _v1_freezer(ROOT / "freezer" / prefix))


def _v1_freezer(root: Path) -> Path | None:
    """v1's freezer groups under ``root``, with this worker's anchor frozen; None where unwritable."""
    anchor = root / f"{os.getpid()}-{ANCHOR}"
    try:
        anchor.mkdir(parents=True, exist_ok=True)
        (anchor / "freezer.state").write_text("FROZEN")
    except OSError:
        return None
    return root
