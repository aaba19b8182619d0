"""Launching one bubblewrap sandbox: the argument list and the process.

The sandbox sees a read-only base system (/usr and the interpreter), the function's code read-only
at /var/task, the bootstraps at /var/runtime, Stepline's client libraries at /opt/stepline, the
Runtime API socket in /run/lambda, a private size-limited /tmp, and nothing else of the host: no
/etc/shadow, no worker code, no other function's code. It runs in fresh user, PID, IPC, UTS, mount,
cgroup and network namespaces as an unprivileged uid with no capabilities, under a seccomp filter
(``seccomp``), with a cleared environment holding only the variables Lambda documents plus the user's own.

Nothing in it tells of the worker. bubblewrap's init, PID 1 in the sandbox, is readable from inside
(its environ, command line and memory: bubblewrap makes itself dumpable to write its user namespace's
maps), so bubblewrap starts with an empty environment, takes its options from a descriptor
(``--args``; see ``Launch`` for what stays on its command line), and binds nothing from a host path
that tells the layout (``staging``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import json
import os
import py_compile
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from workers.functions import extensions_api, layers, seccomp, staging
from workers.functions.cgroups import Cgroup
from workers.functions.config import FunctionConfig
from workers.functions.images import launch as image_launch
from workers.functions.network import Egress, Link, bwrap_args
from workers.mounts import Attachments

BOOTSTRAP_DIR = Path(__file__).resolve().parent / "bootstrap"
SANDBOX_LIB_DIR = Path(__file__).resolve().parents[1] / "sandbox_lib"
SOCKET_DIR_IN_SANDBOX = "/run/lambda"
SOCKET_NAME = "runtime.sock"
RUNTIME_API_ADDRESS = "127.0.0.1:9001"
"""AWS_LAMBDA_RUNTIME_API inside the sandbox (served by the relay for ``provided`` runtimes)."""
SDK_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
"""The AWS SDK for Python and what it imports, from the worker's own environment: Python functions
get boto3 as Lambda's runtime provides it, after their own packages on the path."""
SDK_IN_SANDBOX = "/var/lang/lib/python3.11/site-packages"
"""Where Lambda's Python 3.11 runtime keeps boto3."""
LAYER_PYTHON_PATH = "/opt/python/lib/python3.11/site-packages:/opt/python"
"""Where a layer's Python packages go, as Lambda's Python 3.11 runtime puts them on the path (after
/var/task, before the runtime's boto3); /opt/bin is on PATH and /opt/lib on LD_LIBRARY_PATH."""
LAYER_NODE_PATH = "/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules"
"""Where a layer's Node.js modules go (Lambda's NODE_PATH for nodejs20.x)."""
SETPRIV = "setpriv"
"""util-linux's setpriv: sets the sandbox user's identity, then execs bubblewrap (no fork)."""
ETC_FILES = (
    "ld.so.cache", "localtime", "nsswitch.conf", "hosts", "resolv.conf", "passwd", "group",
    "ssl", "ca-certificates", "alternatives",
)  # fmt: skip


def python_executable() -> Path:
    """The real interpreter (not a pyenv shim or a venv link)."""
    return Path(sys.executable).resolve()


def node_executable() -> Path:
    found = shutil.which("node")
    if found is None:
        raise FileNotFoundError("node is not installed (needed by the nodejs20 runtime)")
    return Path(found).resolve()


@functools.cache
def python_bootstrap() -> str:
    """The Python bootstrap's path inside the sandbox: its byte code, compiled once per worker.

    A script named on the command line is compiled from source at every start (about 3 ms of a
    cold start, the runtime being read-only and ``-B``); a ``.pyc`` runs as it is. The source is
    the fallback when the bootstrap directory is not writable.
    """
    source = BOOTSTRAP_DIR / "python_bootstrap.py"
    compiled = Path(importlib.util.cache_from_source(str(source)))
    inside = "/var/runtime/python_bootstrap.py"
    try:
        if not compiled.exists() or compiled.stat().st_mtime < source.stat().st_mtime:
            py_compile.compile(str(source), str(compiled), dfile=inside, doraise=True)
            compiled.chmod(0o644)
            compiled.parent.chmod(0o755)
    except (OSError, py_compile.PyCompileError):
        return inside
    return f"/var/runtime/{compiled.relative_to(BOOTSTRAP_DIR)}"


def runtime_command(config: FunctionConfig, rlimit_as: int | None) -> list[str]:
    """The command the sandbox runs: the runtime's, through ``AWS_LAMBDA_EXEC_WRAPPER`` when the
    function sets it (the wrapper gets the runtime's command line as its arguments, as Lambda runs
    it), started by the extensions' launcher when the function's layers carry extensions."""
    if config.image is not None:
        return image_launch.command(config.image, extensions=extensions_api.extension_names(config))
    command = _runtime_command(config, rlimit_as)
    wrapper = config.environment.get("AWS_LAMBDA_EXEC_WRAPPER")
    if wrapper and config.runtime != "provided":  # (Lambda's OS-only runtimes take no wrapper)
        command = [wrapper, *command]
    if extensions_api.extension_names(config):
        command = [str(python_executable()), "-S", "-B", "/var/runtime/extensions_launcher.py", *command]
    return command


def _runtime_command(config: FunctionConfig, rlimit_as: int | None) -> list[str]:
    if config.runtime == "python3.11":
        cmd = [str(python_executable()), "-S", "-B", python_bootstrap()]
        return [*cmd, "--rlimit-as", str(rlimit_as)] if rlimit_as else cmd
    if config.runtime == "nodejs20":
        heap = max(config.memory_mb - 32, 32)
        return [str(node_executable()), f"--max-old-space-size={heap}", "/var/runtime/node_bootstrap.js"]
    if config.runtime == "provided":
        return [str(python_executable()), "-S", "-B", "/var/runtime/loopback_relay.py", "/var/task/bootstrap"]
    raise ValueError(f"unknown runtime {config.runtime!r}")


def sandbox_environment(config: FunctionConfig, extra: Mapping[str, str]) -> dict[str, str]:
    """Exactly the variables a Lambda function sees: the documented ones, then the user's own."""
    if config.image is not None:
        return image_launch.environment(
            config.image, {**config.environment, **extra}, _image_variables(config)
        )
    env = dict(config.environment)
    env.update(extra)
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": config.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{config.version}/{config.revision}",
            "AWS_LAMBDA_RUNTIME_API": RUNTIME_API_ADDRESS,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "_HANDLER": config.handler,
            "LAMBDA_TASK_ROOT": "/var/task",
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": "/usr/local/bin:/usr/bin:/bin:/opt/bin",
            "PYTHONPATH": f"/var/task:{LAYER_PYTHON_PATH}:/opt/stepline/python:{SDK_IN_SANDBOX}",
            "NODE_PATH": f"/opt/stepline/node:{LAYER_NODE_PATH}:/var/task/node_modules",
            "LD_LIBRARY_PATH": "/var/task:/var/task/lib:/opt/lib",
        }
    )
    return env


def _image_variables(config: FunctionConfig) -> dict[str, str]:
    """What Lambda sets in an image function's sandbox (the image's ENV gives the rest)."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": config.name,
        "AWS_LAMBDA_FUNCTION_VERSION": config.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{config.version}/{config.revision}",
        "AWS_LAMBDA_RUNTIME_API": RUNTIME_API_ADDRESS,
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
        "TZ": ":UTC",
    }


GENERIC_VARIABLES = (
    "AWS_LAMBDA_RUNTIME_API", "AWS_EXECUTION_ENV", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ", "LANG",
    "PATH", "PYTHONPATH", "NODE_PATH", "LD_LIBRARY_PATH",
)  # fmt: skip
"""The variables every function of a runtime shares: a spare sandbox starts with only these."""
STARTUP_PREFIXES = ("PYTHON", "NODE_", "UV_", "LC_", "LANGUAGE")
"""User variables the interpreter reads at start-up: a function setting one cannot use a spare."""


def spare_environment(config: FunctionConfig) -> dict[str, str]:
    """A spare sandbox's variables: the runtime's generic ones, nothing of a function or Stepline."""
    full = sandbox_environment(config, {})
    return {key: full[key] for key in GENERIC_VARIABLES}


class Launch(NamedTuple):
    """How one sandbox starts. On bubblewrap's command line: ``program`` (setpriv's options and
    bubblewrap's path), ``shown`` (the bind of the Runtime API's socket directory, in the worker's
    private run directory, which mountinfo shows anyway: ``ps`` finds a pool's sandboxes by it) and
    ``command`` (what the sandbox runs, as its own /proc shows it). Its other options, with every
    other host path, reach it through a descriptor (``--args``)."""

    program: list[str]
    arguments: list[str]
    shown: list[str]
    command: list[str]


@functools.cache
def _absolute(program: str) -> str:
    """The program's path, found with the worker's PATH (the launcher starts with no environment)."""
    return shutil.which(program) or program


def bwrap_argv(
    bwrap: str,
    config: FunctionConfig,
    socket_dir: Path,
    attachments: Attachments,
    command: Sequence[str],
    *,
    info_fd: int,
    block_fd: int | None,
    unprivileged: bool = False,
    environment: Mapping[str, str] | None = None,
) -> Launch:
    """The full bubblewrap command line for one environment.

    ``unprivileged`` (for a root worker): bubblewrap itself runs as the sandbox user (993, or the
    attachments' ``run_as``) through ``setpriv``, so the sandbox is that unprivileged host user
    rather than root mapped into a user namespace, and files it creates on attached file systems
    belong to that user. Every bound path must then be reachable by that user (``traversable``).

    ``socket_dir`` is the environment's directory in the pool's run directory, where the worker's
    runtime files and the function's code are bound from (``staging``).
    """
    uid, gid = attachments.identity
    setpriv = [_absolute(SETPRIV), f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]
    program = [*(setpriv if unprivileged else []), _absolute(bwrap)]
    run_dir = socket_dir.parent
    python_bootstrap()  # compiled before the runtime files are copied
    if config.image is not None:
        runtime = staging.copy_of(BOOTSTRAP_DIR, run_dir, "runtime")
        rootfs = staging.code_dir(run_dir, config.code_dir)
        argv = image_launch.binds(rootfs, runtime, config.tmp_mb * 1024 * 1024)
        if extensions_api.extension_names(config) and image_launch.has_regular_file(rootfs, "etc/hosts"):
            argv += ["--ro-bind", str(_hosts_file(run_dir)), "/etc/hosts"]  # sandbox.localdomain
    else:
        argv = _host_root(config, run_dir)
    for mount in attachments.mounts:  # by descriptor when opened (a file system's paths can be swapped)
        if mount.fd is not None:
            argv += ["--ro-bind-fd" if mount.read_only else "--bind-fd", str(mount.fd), mount.target]
        else:
            argv += ["--ro-bind" if mount.read_only else "--bind", str(mount.source), mount.target]
    argv += ["--unshare-all", *bwrap_args(config, socket_dir)]  # network: its own namespace, always
    if not unprivileged:
        argv += ["--uid", str(uid), "--gid", str(gid)]
    argv += [
        "--hostname", "sandbox",
        "--cap-drop", "ALL",
        "--die-with-parent", "--new-session",
        "--clearenv",
        "--chdir", "/" if config.image is not None else "/var/task",
        "--info-fd", str(info_fd),
    ]  # fmt: skip
    if block_fd is not None:
        argv += ["--block-fd", str(block_fd)]
    if environment is None:
        environment = sandbox_environment(config, attachments.environment)
    for key, value in environment.items():
        argv += ["--setenv", key, value]
    return Launch(program, argv, ["--ro-bind", str(socket_dir), SOCKET_DIR_IN_SANDBOX], list(command))


def _host_root(config: FunctionConfig, run_dir: Path) -> list[str]:
    """A zip function's file system: the host's read-only base system, its code at /var/task, the
    bootstraps at /var/runtime, the client libraries and the AWS SDK."""
    argv = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), f"/{name}"]
        elif path.exists():
            argv += ["--ro-bind", str(path), f"/{name}"]
    for name in ETC_FILES:
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    if extensions_api.extension_names(config):  # the Telemetry API's listeners: sandbox.localdomain
        argv += ["--ro-bind", str(_hosts_file(run_dir)), "/etc/hosts"]
    prefix = Path(sys.base_prefix).resolve()
    if not prefix.is_relative_to("/usr"):
        argv += ["--ro-bind", str(prefix), str(prefix)]
    argv += [
        "--proc", "/proc",
        "--dev", "/dev",
        "--size", str(config.tmp_mb * 1024 * 1024), "--tmpfs", "/tmp",
        "--ro-bind", str(staging.code_dir(run_dir, config.code_dir)), "/var/task",
        "--ro-bind", str(staging.copy_of(BOOTSTRAP_DIR, run_dir, "runtime")), "/var/runtime",
    ]  # fmt: skip
    if config.layer_dirs:  # merged in order, read-only; Stepline's libraries bound over /opt/stepline
        argv += ["--ro-bind", str(layers.merged_opt(run_dir, config.layer_dirs)), "/opt"]
    argv += ["--ro-bind", str(staging.copy_of(SANDBOX_LIB_DIR, run_dir, "libraries")), "/opt/stepline"]
    if config.runtime == "python3.11" and sdk_sources():
        sdk = staging.linked_modules(sdk_sources(), run_dir, "sdk-python")
        argv += ["--ro-bind", str(sdk), SDK_IN_SANDBOX]
    return argv


def _hosts_file(run_dir: Path) -> Path:
    """The host's /etc/hosts with ``sandbox.localdomain`` on the sandbox's loopback (made once)."""

    def fill(partial: Path) -> None:
        try:
            hosts = Path("/etc/hosts").read_text()
        except OSError:
            hosts = "127.0.0.1 localhost\n"
        (partial / "hosts").write_text(f"{hosts.rstrip()}\n127.0.0.1 sandbox.localdomain\n")
        (partial / "hosts").chmod(0o644)
        partial.chmod(0o755)

    return staging.built_once(run_dir / "etc-hosts", fill) / "hosts"


@functools.cache
def sdk_sources() -> tuple[Path, ...]:
    """Where the worker's copies of ``SDK_MODULES`` are (those it has)."""
    found = []
    for name in SDK_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            found.append(Path(next(iter(spec.submodule_search_locations))))
        elif spec is not None and spec.origin:
            found.append(Path(spec.origin))
    return tuple(found)


def stage(run_dir: Path, config: FunctionConfig) -> None:
    """Make the copies of the worker's files ``bwrap_argv`` binds for ``config`` (once per run
    directory; the SDK's thousands of links take ~0.1 s: call it from a thread)."""
    python_bootstrap()
    staging.copy_of(BOOTSTRAP_DIR, run_dir, "runtime")
    staging.copy_of(SANDBOX_LIB_DIR, run_dir, "libraries")
    if config.runtime == "python3.11" and sdk_sources():
        staging.linked_modules(sdk_sources(), run_dir, "sdk-python")


def traversable(path: Path) -> bool:
    """Whether every user can reach ``path`` (the search bit for others on it and its ancestors)."""
    resolved = path.resolve()
    try:
        return all(os.stat(p).st_mode & 0o001 for p in (resolved, *resolved.parents))
    except OSError:
        return False


def can_drop_root(data_dir: Path) -> bool:
    """Whether sandboxes can run as unprivileged host users: the worker is root and setpriv exists,
    and the sandbox user can reach everything bound into sandboxes."""
    if os.geteuid() != 0 or shutil.which(SETPRIV) is None:
        return False
    needed = (data_dir, Path(sys.base_prefix), python_executable())  # the runtime files: ``staging``
    return all(traversable(p) for p in needed)


@dataclass(slots=True)
class SandboxProcess:
    """A running sandbox: bubblewrap's pid, its child's (the namespace's init), the output pipe."""

    process: subprocess.Popen[bytes]
    child_pid: int
    output_fd: int
    cgroup: Cgroup | None
    network: Link | None = None
    """slirp4netns, for a sandbox with ``network: true``."""

    def kill(self) -> None:
        """Kill everything in the sandbox (its PID namespace dies with its init), frozen or not."""
        if self.cgroup is not None:
            self.cgroup.kill_all()
        _kill_group(self.process)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.child_pid, signal.SIGKILL)
        if self.network is not None:
            self.network.kill()

    def wait(self) -> None:
        """Reap bubblewrap and the network helper (after ``kill``)."""
        self.process.wait()
        if self.network is not None:
            self.network.wait()


async def spawn(
    launch: Launch, info_r: int, info_w: int, block: tuple[int, int] | None, cgroup: Cgroup | None,
    spawner: Executor, stdin: int = subprocess.DEVNULL, mount_fds: Sequence[int] = (),
    egress: Egress | None = None,
) -> SandboxProcess:  # fmt: skip
    """Start bubblewrap with the sandbox inside ``cgroup`` from its start; return the handle.

    Takes the descriptors it is given (``stdin`` too unless it is ``DEVNULL``, and ``mount_fds``, the
    directories ``--bind-fd`` names): all are closed when it returns or raises, or, if it is cancelled
    while the spawning thread runs, when the thread is done.

    ``Popen`` without ``preexec_fn`` uses vfork, so spawning costs the same however big the worker
    is. It runs on ``spawner``, a thread of its own, which may enter the cgroup for the spawn (v1);
    otherwise (v2) bubblewrap's child waits on ``block`` until it has been moved. With ``egress`` (a
    function with ``network: true``) it also waits there until its network is attached.

    bubblewrap starts with no environment variable, its arguments and the seccomp filter in
    descriptors of their own (it closes both once read, before the sandbox starts).
    """
    out_r, out_w = os.pipe()
    filter_fd = _data_fd(seccomp.program())
    args_fd = _data_fd(b"\0".join(a.encode() for a in ["--seccomp", str(filter_fd), *launch.arguments]))
    argv = [*launch.program, "--args", str(args_fd), *launch.shown, "--", *launch.command]
    mount_fds = [filter_fd, args_fd, *mount_fds]  # passed, then closed, as the mounts' are
    pass_fds = [info_w, *mount_fds] + ([block[0]] if block else [])

    def start() -> subprocess.Popen[bytes]:
        inside = (
            cgroup.entered_by_thread()
            if cgroup is not None and cgroup.version == 1
            else contextlib.nullcontext()
        )
        with inside:
            return subprocess.Popen(
                argv, stdin=stdin, stdout=out_w, stderr=out_w, pass_fds=pass_fds, close_fds=True,
                process_group=0,  # bubblewrap and its namespace's init die together: _kill_group
                env={},  # not the worker's: PID 1 in the sandbox is bubblewrap, whose environ is readable
            )  # fmt: skip

    launched = asyncio.get_running_loop().run_in_executor(spawner, start)
    try:
        process = await asyncio.shield(launched)
    except BaseException:
        # The thread cannot be stopped (a cancellation lands here while it spawns): once it is done,
        # its descriptors are closed (not while it may be passing them on) and its process killed.
        fds = (out_r, out_w, info_r, info_w, *(block or ()), *([stdin] if stdin >= 0 else []), *mount_fds)
        launched.add_done_callback(functools.partial(_abandon, fds=fds))
        raise
    if stdin >= 0:
        os.close(stdin)
    os.close(out_w)
    os.close(info_w)
    for fd in mount_fds:  # bubblewrap holds them until it has bound them
        os.close(fd)
    if block:
        os.close(block[0])
    link: Link | None = None
    try:
        info = await _read_info(info_r)
        child_pid = int(str(info["child-pid"]))
        if cgroup is not None and cgroup.version == 2:
            cgroup.add(child_pid)
        if egress is not None:
            link = await egress.attach(child_pid)
        if block:
            os.write(block[1], b"1")
    except RuntimeError as exc:
        _close_link(link)
        _kill_group(process)
        process.wait()
        os.set_blocking(out_r, False)
        try:
            said = os.read(out_r, 4096).decode(errors="replace").strip()
        except BlockingIOError:
            said = ""
        os.close(out_r)
        raise RuntimeError(f"{exc}: {said}" if said else str(exc)) from None
    except BaseException:
        _close_link(link)
        _kill_launched(process)
        os.close(out_r)
        raise
    finally:
        os.close(info_r)
        if block:
            os.close(block[1])
    os.set_blocking(out_r, False)
    return SandboxProcess(process, child_pid, out_r, cgroup, link)


def _close_link(link: Link | None) -> None:
    if link is not None:
        link.kill()
        link.wait()


def _data_fd(data: bytes) -> int:
    """A descriptor to read ``data`` from (an anonymous file: no size limit, nothing on disk)."""
    fd = os.memfd_create("bwrap", os.MFD_CLOEXEC)
    try:
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _abandon(launched: asyncio.Future[subprocess.Popen[bytes]], fds: tuple[int, ...]) -> None:
    """Release a spawn whose caller has gone: its descriptors, and its process if it started."""
    for fd in fds:
        os.close(fd)
    if not launched.cancelled() and launched.exception() is None:
        _kill_launched(launched.result())


def _kill_launched(process: subprocess.Popen[bytes]) -> None:
    """Kill bubblewrap and its child before the sandbox was reported: the child does not die with its
    parent yet, it would wait forever for a step of the set-up that its killed parent never takes."""
    _kill_group(process)
    process.wait()


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL bubblewrap's process group: bubblewrap and its child, the namespace's init, which
    takes every process in the sandbox with it. A signal to a group reaches a child being forked
    too (the kernel restarts the fork), where killing pids read from ``/proc`` could miss it."""
    if process.returncode is not None:
        return  # reaped: the group id may name another group by now
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


async def _read_info(fd: int) -> dict[str, object]:
    """Read bubblewrap's ``--info-fd`` JSON (written once the sandbox's init exists)."""
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    data = b""
    ready: asyncio.Future[None] = loop.create_future()

    def on_readable() -> None:
        if not ready.done():
            ready.set_result(None)

    while True:
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            ready = loop.create_future()
            loop.add_reader(fd, on_readable)
            try:
                await ready
            finally:
                loop.remove_reader(fd)
            continue
        if not chunk:
            raise RuntimeError("bubblewrap exited before starting the sandbox")
        data += chunk
        try:
            parsed: dict[str, object] = json.loads(data)
            return parsed
        except ValueError:
            continue
