"""Inside a sandbox, the kernel's riskier surface is closed: no new user (or other) namespace, no
keyring, bpf, ptrace, perf, mounts, io_uring... each fails with EPERM, as under Docker's default
profile, while Python and Node.js threads and subprocesses keep working.

Without the filter ``unshare(CLONE_NEWUSER)`` succeeds in a sandbox, and inside the new namespace
the function holds every capability again: mounts, and the kernel code only root may reach.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import struct

import pytest

from tests.integration.function_kit import body, call, deploy, fn_settings, requires_bwrap, service, unique
from workers.functions import seccomp
from workers.functions.service import FunctionService

__all__ = ["fn_settings", "service"]

CLONE_NEWUSER = 0x10000000
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
CLONE_FILES = 0x00000400
SIGCHLD = 17
THREAD_FLAGS = 0x003D0F00
"""What glibc's pthread_create passes to clone (VM, FS, FILES, SIGHAND, THREAD, SYSVSEM, SETTLS,
PARENT_SETTID, CHILD_CLEARTID)."""

PROBE = r"""
import ctypes, errno, os, subprocess, threading

libc = ctypes.CDLL(None, use_errno=True)

def call(nr, *args):
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(nr), *(ctypes.c_long(a) for a in args))
    if result == 0 and nr == NR["clone"]:
        os._exit(0)  # a child made by a raw clone: leave at once
    if result > 0 and nr == NR["clone"]:
        os.waitpid(result, 0)
    return "ok" if result >= 0 else errno.errorcode[ctypes.get_errno()]

def denied(event, context):
    global NR
    NR = event["numbers"]
    return {label: call(NR[name], *args) for label, name, args in event["calls"]}

def works(event, context):
    seen = []
    thread = threading.Thread(target=seen.append, args=("thread",))
    thread.start()
    thread.join()
    seen.append(subprocess.run(["/bin/echo", "subprocess"], capture_output=True, text=True).stdout.strip())
    if (pid := os.fork()) == 0:
        os._exit(7)
    seen.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    return seen
"""

NODE = """
const { Worker } = require("worker_threads");
const { execFileSync } = require("child_process");
exports.handler = async () => {
  const fromWorker = await new Promise((resolve, reject) => {
    const worker = new Worker("require('worker_threads').parentPort.postMessage('worker')", { eval: true });
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return [fromWorker, execFileSync("/bin/echo", ["child"]).toString().trim()];
};
"""

CALLS = [
    ("unshare(CLONE_NEWUSER)", "unshare", [CLONE_NEWUSER]),
    ("unshare(CLONE_NEWNS)", "unshare", [CLONE_NEWNS]),
    ("unshare(CLONE_NEWNET)", "unshare", [CLONE_NEWNET]),
    ("clone(CLONE_NEWUSER)", "clone", [CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0]),
    ("clone(CLONE_NEWPID)", "clone", [CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0]),
    ("setns", "setns", [-1, 0]),
    ("keyctl", "keyctl", [0, -3, 0]),  # KEYCTL_GET_KEYRING_ID of the session keyring
    ("add_key", "add_key", [0, 0, 0, 0, -3]),
    ("bpf", "bpf", [0, 0, 0]),
    ("ptrace(PTRACE_TRACEME)", "ptrace", [0, 0, 0, 0]),
    ("process_vm_readv", "process_vm_readv", [1, 0, 0, 0, 0, 0]),
    ("perf_event_open", "perf_event_open", [0, 0, -1, -1, 0]),
    ("mount", "mount", [0, 0, 0, 0, 0]),
    ("umount2", "umount2", [0, 0]),
    ("pivot_root", "pivot_root", [0, 0]),
    ("open_tree", "open_tree", [-100, 0, 0]),
    ("fsopen", "fsopen", [0, 0]),
    ("userfaultfd", "userfaultfd", [0]),
    ("io_uring_setup", "io_uring_setup", [1, 0]),
    ("kexec_load", "kexec_load", [0, 0, 0, 0]),
    ("init_module", "init_module", [0, 0, 0]),
    ("reboot", "reboot", [0, 0, 0, 0]),
    ("swapon", "swapon", [0, 0]),
    ("personality(ADDR_NO_RANDOMIZE)", "personality", [0x0040000]),
]


@requires_bwrap
async def test_dangerous_calls_fail_with_eperm_inside_a_sandbox(service: FunctionService) -> None:
    name = await deploy(service, unique("seccomp"), {"app.py": PROBE}, handler="app.denied")
    numbers = seccomp.SYSCALLS[seccomp.native_arch()]
    event = {"numbers": numbers, "calls": [*CALLS, ("clone3", "clone3", [0, 0])]}
    found = body(await call(service, name, event))
    expected = {label: "EPERM" for label, _, _ in CALLS} | {"clone3": "ENOSYS"}
    assert found == expected


@requires_bwrap
async def test_threads_subprocesses_and_a_personality_query_still_work(service: FunctionService) -> None:
    name = await deploy(service, unique("threads"), {"app.py": PROBE}, handler="app.works")
    assert body(await call(service, name, {})) == ["thread", "subprocess", 7]
    numbers = seccomp.SYSCALLS[seccomp.native_arch()]
    allowed = [("unshare(CLONE_FILES)", "unshare", [CLONE_FILES]), ("personality", "personality", [-1])]
    name = await deploy(service, unique("allowed"), {"app.py": PROBE}, handler="app.denied")
    assert body(await call(service, name, {"numbers": numbers, "calls": allowed})) == {
        "unshare(CLONE_FILES)": "ok", "personality": "ok",
    }  # fmt: skip


@requires_bwrap
async def test_node_worker_threads_and_child_processes_still_work(service: FunctionService) -> None:
    name = await deploy(
        service, unique("node"), {"index.js": NODE}, handler="index.handler", runtime="nodejs20"
    )
    result = await call(service, name, {})
    assert result.function_error is None, result.payload
    assert body(result) == ["worker", "child"]


# the program itself, for both architectures, without a sandbox ------------------------------------


def run_filter(program: bytes, nr: int, arch: int, arg0: int = 0) -> int:
    """A classic BPF interpreter for the instructions ``seccomp.assemble`` emits."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    insns: list[tuple[int, int, int, int]] = [
        struct.unpack("=HBBI", program[i : i + 8]) for i in range(0, len(program), 8)
    ]
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        if code == seccomp.LD_ABS_W:
            acc = struct.unpack_from("<I", data, k)[0]
        elif code == seccomp.RET:
            return k
        elif code in (seccomp.JEQ, seccomp.JGE, seccomp.JSET):
            taken = {seccomp.JEQ: acc == k, seccomp.JGE: acc >= k, seccomp.JSET: bool(acc & k)}[code]
            pc += jt if taken else jf
        else:
            raise AssertionError(f"unexpected instruction {code:#x}")
        pc += 1


EPERM = seccomp.RET_ERRNO | errno.EPERM
ENOSYS = seccomp.RET_ERRNO | errno.ENOSYS


@pytest.mark.parametrize("arch", sorted(seccomp.SYSCALLS))
def test_the_filter_denies_exactly_what_it_lists(arch: str) -> None:
    program = seccomp.program(arch)
    audit, numbers = seccomp.AUDIT_ARCH[arch], seccomp.SYSCALLS[arch]
    for name in seccomp.DENIED:
        if name in numbers:
            assert run_filter(program, numbers[name], audit) == EPERM, name
    denied = {numbers[name] for name in seccomp.DENIED if name in numbers}
    special = {numbers[name] for name in ("clone", "clone3", "unshare", "personality")}
    for nr in set(range(500)) - denied - special:
        assert run_filter(program, nr, audit) == seccomp.RET_ALLOW, nr
    clone, unshare = numbers["clone"], numbers["unshare"]
    assert run_filter(program, clone, audit, THREAD_FLAGS) == seccomp.RET_ALLOW
    assert run_filter(program, clone, audit, SIGCHLD) == seccomp.RET_ALLOW
    assert run_filter(program, clone, audit, 0xFFFFFFFF_00000000 | THREAD_FLAGS) == seccomp.RET_ALLOW
    for flag in (CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID, 0x02000000, 0x04000000, 0x08000000):
        assert run_filter(program, clone, audit, flag | SIGCHLD) == EPERM
        assert run_filter(program, unshare, audit, flag) == EPERM
    assert run_filter(program, unshare, audit, 0x80) == EPERM  # CLONE_NEWTIME
    assert run_filter(program, unshare, audit, CLONE_FILES) == seccomp.RET_ALLOW
    assert run_filter(program, numbers["clone3"], audit) == ENOSYS
    assert run_filter(program, numbers["personality"], audit, 0xFFFFFFFF) == seccomp.RET_ALLOW
    assert run_filter(program, numbers["personality"], audit, 0x0040000) == EPERM
    assert run_filter(program, 0, 0x40000003) == ENOSYS  # i386 (or any other ABI)


def test_x32_calls_are_refused() -> None:
    program = seccomp.program("x86_64")
    assert run_filter(program, seccomp.X32_SYSCALL_BIT | 101, seccomp.AUDIT_ARCH["x86_64"]) == ENOSYS
    assert run_filter(program, seccomp.X32_SYSCALL_BIT | 0, seccomp.AUDIT_ARCH["x86_64"]) == ENOSYS


@pytest.mark.skipif(ctypes.util.find_library("seccomp") is None, reason="libseccomp is not installed")
@pytest.mark.parametrize("arch", sorted(seccomp.SYSCALLS))
def test_syscall_numbers_match_libseccomp(arch: str) -> None:
    library = ctypes.CDLL(ctypes.util.find_library("seccomp"))
    resolve = library.seccomp_syscall_resolve_name_arch
    resolve.restype = ctypes.c_int
    resolve.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    numbers = seccomp.SYSCALLS[arch]
    for name in [*seccomp.DENIED, "clone", "clone3", "unshare", "personality"]:
        number = resolve(seccomp.AUDIT_ARCH[arch], name.encode())
        assert numbers.get(name, -1) == (number if number >= 0 else -1), name
