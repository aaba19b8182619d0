"""The seccomp filter every sandbox runs under, assembled here as a classic BPF program.

bubblewrap loads it (``--seccomp FD``) into the namespace's init and the runtime just before exec, so
nothing in a sandbox ever runs without it. What it denies is what Docker's default profile denies to
a container without capabilities: new namespaces (``unshare``/``clone`` with a ``CLONE_NEW*`` flag,
``setns``), the kernel keyring, ``bpf``, ``perf_event_open``, ``ptrace`` and cross-process memory
access, the whole mount family, modules, kexec, reboot, swap, ``userfaultfd``, io_uring, and the
privileged remainder. A denied call fails with EPERM, as container runtimes do (a runtime sees an
error it handles, not a killed process); threads still start (``clone`` without ``CLONE_NEW*``).

``clone3`` passes its flags in memory, out of a filter's reach: it gets ENOSYS, and the C library
falls back to ``clone``, whose flags are checked (Docker and Podman do the same). Calls through
another ABI than the native one (i386 or x32 on x86_64) get ENOSYS: they would reach the same
kernel functions under other numbers.
"""

from __future__ import annotations

import errno
import functools
import platform
import struct
from dataclasses import dataclass

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000

CLONE_NEW_FLAGS = 0x7E020000
"""CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET (``clone``'s low byte is the
exit signal, so CLONE_NEWTIME, 0x80, exists only for ``unshare``)."""
UNSHARE_NEW_FLAGS = CLONE_NEW_FLAGS | 0x80
PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)
"""What ``personality`` may set (Docker's list: PER_LINUX, PER_LINUX32, UNAME26 and both, a query)."""

DENIED = (
    # namespaces (``unshare`` and ``clone`` are checked by flag below)
    "setns",
    # the kernel keyring
    "keyctl", "add_key", "request_key",
    # tracing, other processes' memory, kernel internals
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd", "kcmp",
    "bpf", "perf_event_open", "lookup_dcookie", "syslog", "userfaultfd", "fanotify_init",
    "name_to_handle_at", "open_by_handle_at",
    # mounts
    "mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsmount", "fsconfig",
    "fspick", "mount_setattr",
    # the machine: modules, kexec, reboot, swap, clocks, accounting, quotas, NUMA policy, I/O ports
    "init_module", "finit_module", "delete_module", "create_module", "get_kernel_syms", "query_module",
    "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
    "settimeofday", "clock_settime", "vhangup", "nfsservctl", "uselib", "ustat", "sysfs", "_sysctl",
    "ioperm", "iopl", "mbind", "set_mempolicy", "get_mempolicy", "move_pages", "set_mempolicy_home_node",
    # io_uring (its operations bypass this filter)
    "io_uring_setup", "io_uring_enter", "io_uring_register",
)  # fmt: skip

SYSCALLS: dict[str, dict[str, int]] = {
    "x86_64": {
        "clone": 56, "clone3": 435, "unshare": 272, "personality": 135, "setns": 308,
        "keyctl": 250, "add_key": 248, "request_key": 249,
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "process_madvise": 440,
        "pidfd_getfd": 438, "kcmp": 312, "bpf": 321, "perf_event_open": 298, "lookup_dcookie": 212,
        "syslog": 103, "userfaultfd": 323, "fanotify_init": 300, "name_to_handle_at": 303,
        "open_by_handle_at": 304,
        "mount": 165, "umount2": 166, "pivot_root": 155, "move_mount": 429, "open_tree": 428,
        "fsopen": 430, "fsmount": 432, "fsconfig": 431, "fspick": 433, "mount_setattr": 442,
        "init_module": 175, "finit_module": 313, "delete_module": 176, "create_module": 174,
        "get_kernel_syms": 177, "query_module": 178, "kexec_load": 246, "kexec_file_load": 320,
        "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163, "quotactl": 179, "quotactl_fd": 443,
        "settimeofday": 164, "clock_settime": 227, "vhangup": 153, "nfsservctl": 180, "uselib": 134,
        "ustat": 136, "sysfs": 139, "_sysctl": 156, "ioperm": 173, "iopl": 172, "mbind": 237,
        "set_mempolicy": 238, "get_mempolicy": 239, "move_pages": 279, "set_mempolicy_home_node": 450,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    },
    "aarch64": {  # the generic table: no legacy calls (create_module, iopl, sysfs...)
        "clone": 220, "clone3": 435, "unshare": 97, "personality": 92, "setns": 268,
        "keyctl": 219, "add_key": 217, "request_key": 218,
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "process_madvise": 440,
        "pidfd_getfd": 438, "kcmp": 272, "bpf": 280, "perf_event_open": 241, "lookup_dcookie": 18,
        "syslog": 116, "userfaultfd": 282, "fanotify_init": 262, "name_to_handle_at": 264,
        "open_by_handle_at": 265,
        "mount": 40, "umount2": 39, "pivot_root": 41, "move_mount": 429, "open_tree": 428,
        "fsopen": 430, "fsmount": 432, "fsconfig": 431, "fspick": 433, "mount_setattr": 442,
        "init_module": 105, "finit_module": 273, "delete_module": 106, "kexec_load": 104,
        "kexec_file_load": 294, "reboot": 142, "swapon": 224, "swapoff": 225, "acct": 89, "quotactl": 60,
        "quotactl_fd": 443, "settimeofday": 170, "clock_settime": 112, "vhangup": 58, "nfsservctl": 42,
        "mbind": 235, "set_mempolicy": 237, "get_mempolicy": 236, "move_pages": 239,
        "set_mempolicy_home_node": 450, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427,
    },
}  # fmt: skip

# classic BPF, as seccomp reads it (linux/filter.h, linux/seccomp.h)
LD_ABS_W = 0x20
JEQ = 0x15
JGE = 0x35
JSET = 0x45
RET = 0x06
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
NR_OFFSET = 0
ARCH_OFFSET = 4
ARG0_LOW_OFFSET = 16
"""``seccomp_data.args[0]``'s low 32 bits (both architectures are little-endian)."""


@dataclass(frozen=True, slots=True)
class Insn:
    """One instruction; a jump names its targets by label, resolved by ``assemble``."""

    code: int
    k: int = 0
    jt: str | None = None
    jf: str | None = None


@dataclass(frozen=True, slots=True)
class Label:
    name: str


def assemble(lines: list[Insn | Label]) -> bytes:
    """``struct sock_filter`` array: labels become relative jumps (forward, at most 255 ahead)."""
    where: dict[str, int] = {}
    insns: list[Insn] = []
    for line in lines:
        if isinstance(line, Label):
            where[line.name] = len(insns)
        else:
            insns.append(line)

    def offset(index: int, label: str | None) -> int:
        if label is None:
            return 0
        distance = where[label] - index - 1
        if not 0 <= distance <= 255:
            raise ValueError(f"jump to {label} out of range ({distance})")
        return distance

    return b"".join(
        struct.pack("=HBBI", insn.code, offset(i, insn.jt), offset(i, insn.jf), insn.k & 0xFFFFFFFF)
        for i, insn in enumerate(insns)
    )


def source(arch: str) -> list[Insn | Label]:
    """The filter for ``arch`` as labelled instructions (what ``program`` assembles)."""
    numbers = SYSCALLS[arch]
    lines: list[Insn | Label] = [
        Insn(LD_ABS_W, ARCH_OFFSET),
        Insn(JEQ, AUDIT_ARCH[arch], jf="enosys"),  # another ABI: other numbers for the same calls
        Insn(LD_ABS_W, NR_OFFSET),
    ]
    if arch == "x86_64":
        lines.append(Insn(JGE, X32_SYSCALL_BIT, jt="enosys"))
    lines += [
        Insn(JEQ, numbers["clone"], jt="clone"),
        Insn(JEQ, numbers["unshare"], jt="unshare"),
        Insn(JEQ, numbers["personality"], jt="personality"),
        Insn(JEQ, numbers["clone3"], jt="enosys"),
    ]
    lines += [Insn(JEQ, numbers[name], jt="eperm") for name in DENIED if name in numbers]
    lines += [
        Insn(RET, RET_ALLOW),
        Label("clone"),
        Insn(LD_ABS_W, ARG0_LOW_OFFSET),
        Insn(JSET, CLONE_NEW_FLAGS, jt="eperm"),
        Insn(RET, RET_ALLOW),
        Label("unshare"),
        Insn(LD_ABS_W, ARG0_LOW_OFFSET),
        Insn(JSET, UNSHARE_NEW_FLAGS, jt="eperm"),
        Insn(RET, RET_ALLOW),
        Label("personality"),
        Insn(LD_ABS_W, ARG0_LOW_OFFSET),
        *(Insn(JEQ, persona, jt="allow") for persona in PERSONALITIES),
        Label("eperm"),
        Insn(RET, RET_ERRNO | errno.EPERM),
        Label("enosys"),
        Insn(RET, RET_ERRNO | errno.ENOSYS),
        Label("allow"),
        Insn(RET, RET_ALLOW),
    ]
    return lines


def native_arch() -> str:
    machine = platform.machine()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine.lower(), machine)
    if arch not in SYSCALLS:
        raise RuntimeError(f"no seccomp filter for {machine!r} (x86_64 and aarch64 only)")
    return arch


@functools.cache
def program(arch: str | None = None) -> bytes:
    """The compiled filter (the same for every sandbox: built once per process)."""
    return assemble(source(arch or native_arch()))
