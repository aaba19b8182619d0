"""One execution environment: a sandbox, its Runtime API, its output, its lifecycle.

INIT runs once when the sandbox starts (module code, globals); each ``invoke`` hands one event to
the waiting bootstrap and waits for its response, its error, the deadline or the sandbox's death.
A timed-out, crashed or out-of-memory environment is killed and never reused.

Between invocations the sandbox is frozen (cgroup freezer), as Lambda freezes its environments:
an invocation thaws it; once the function has responded, the sandbox is frozen again as soon as the
runtime asks for the next event (off the caller's path: the response is returned at once). So a
process a function leaves behind runs only while an invocation does, and what it writes is that
invocation's output, except what it writes between the response and the runtime's next request
(about a tenth of a millisecond), which goes to the next invocation's log. Without a freezer (no
writable cgroup) nothing is stopped: a left-behind process keeps running, and what it writes while
the environment is idle goes to the next log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from concurrent.futures import Executor
from pathlib import Path

from foundation.session_credentials import SessionCredentials
from statemachine import FunctionCall, FunctionResult
from workers.functions import aws_api, network, sandbox, staging
from workers.functions.api_forwarder import ApiForwarder
from workers.functions.cgroups import Cgroup, CgroupDriver, Freezer
from workers.functions.config import MAX_PAYLOAD_BYTES, FunctionConfig, invoked_arn
from workers.functions.extensions import Extensions
from workers.functions.extensions_api import extension_names, refused_extensions
from workers.functions.images import launch as image_launch
from workers.functions.output import OutputLines
from workers.functions.runtime_api import MAX_CONNECTIONS, RuntimeConnection, RuntimeServer
from workers.mounts import Attachments

INIT_TIMEOUT_SECONDS = 10.0
"""Lambda's limit on the init phase of an on-demand environment."""
PIDS_MAX = 256
FATAL_ERRORS = frozenset({"Runtime.OutOfMemory", "Runtime.ExitError", "Sandbox.Timedout"})
MEMORY_SLACK_BYTES = 16 * 1024 * 1024
"""Room for the sandbox's own processes (bubblewrap's init) above the function's memory."""
READ_CHUNK = 65536
READ_BYTES_PER_TURN = 1024 * 1024


Ran = tuple[FunctionResult, list[str]]
"""What one invocation produced inside the environment: its result, and the lines the function wrote
meanwhile (the invocation's log)."""


def error_document(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


class EnvironmentDead(Exception):
    """The environment cannot take invocations any more; ``result`` says why."""

    def __init__(self, ran: Ran) -> None:
        self.result, self.lines = ran
        super().__init__(self.result.payload.decode(errors="replace"))


class Environment:
    """A sandbox running one function version; at most one invocation at a time."""

    def __init__(
        self, config: FunctionConfig, env_id: str, run_dir: Path, bwrap: str, cgroups: CgroupDriver | None,
        spawner: Executor, unprivileged: bool = False, egress: network.Egress | None = None,
        aws_api: aws_api.AwsApiAccess | None = None,
    ) -> None:  # fmt: skip
        self.config = config
        self._egress = egress
        """How a sandbox with ``network: true`` reaches out (None: the default policy)."""
        self._aws_api = aws_api
        """Endpoint and credentials for a function with ``aws_api`` (None: it gets neither)."""
        self._forwarder: ApiForwarder | None = None
        self._credentials: SessionCredentials | None = None
        """The session credentials the sandbox holds (``aws_api``)."""
        self._unprivileged = unprivileged
        self._spawner = spawner
        self.env_id = env_id
        self._run_dir = run_dir / env_id
        self.staging = run_dir / f"{env_id}.task"
        """A spare's /var/task: empty until claimed."""
        self._claim_fd: int | None = None
        self._bwrap = bwrap
        self._cgroups = cgroups
        self._proc: sandbox.SandboxProcess | None = None
        self._server: RuntimeServer | None = None
        self._pidfd: int | None = None
        self._waiting: RuntimeConnection | None = None
        self._connections: list[RuntimeConnection] = []
        """Every Runtime API connection accepted; closed with the environment (a killed sandbox's
        descendants may hold the socket open, and Python 3.11's Server.close leaves them open)."""
        self._ready: asyncio.Future[None] | None = None
        self._asked: asyncio.Future[None] | None = None
        """Resolved when the runtime asks for its next event after an invocation."""
        self._current_id: str | None = None
        self._current: asyncio.Future[tuple[bytes, str | None]] | None = None
        self._output = OutputLines()
        """The sandbox's output, bounded (what it wrote between invocations goes to the next one)."""
        self.dead = False
        self.started_at = 0.0
        self.init_duration_ms: float | None = None
        self.last_used = time.monotonic()
        self._exit_reason: Ran | None = None
        self._closing: asyncio.Task[None] | None = None
        """The one release of what the environment holds, started by the first ``close``."""
        self._frozen = False
        self._freeze_when_asked = False
        """The invocation is over: freeze as soon as the runtime asks for the next event."""
        self._extensions: Extensions | None = None
        """The function's external extensions and their telemetry (None: it has none)."""

    # lifecycle -----------------------------------------------------------------------------

    async def start(self, attachments: Attachments) -> None:
        """Spawn the sandbox and wait until INIT finished (the bootstrap asks for its first event)."""
        self.started_at = time.perf_counter()
        for name, reason in refused_extensions(self.config)[:1]:  # (an image's link out of it)
            message = f"Error: fork/exec /opt/extensions/{name}: {reason}"
            raise EnvironmentDead(self._fail("Extension.LaunchError", message))
        memory = self.config.memory_mb * 1024 * 1024
        rlimit_as = None if self._cgroups is not None else memory + 256 * 1024 * 1024
        command = sandbox.runtime_command(self.config, rlimit_as)
        await asyncio.to_thread(staging.code_dir, self._run_dir.parent, self.config.code_dir)  # big: a thread
        if names := extension_names(self.config):
            self._extensions = Extensions(self.config, names, self._extension_failed, self._extensions_ready)
        environment = None  # bwrap_argv's: the function's and its attachments' variables
        if variables := self._aws_variables():
            environment = sandbox.sandbox_environment(self.config, {**attachments.environment, **variables})
        await self._spawn(attachments, command, memory, environment, spare=False)
        await self._await_init()

    async def start_spare(self) -> None:
        """Spawn a generic sandbox that waits for ``claim`` (cgroups only: limits are raised then): a
        runtime's (``self.config`` names its empty staging /var/task; interpreter started, bootstrap
        loaded) or an image's (its root bound, its relay started; ``spares``)."""
        assert self._cgroups is not None
        memory = self.config.memory_mb * 1024 * 1024
        if self.config.image is not None:  # the image's root, its relay waiting (``spares``)
            await asyncio.to_thread(staging.code_dir, self._run_dir.parent, self.config.code_dir)
            command, variables = image_launch.spare_command(), {}
        else:
            self.staging.mkdir(parents=True, exist_ok=True)
            self.staging.chmod(0o755)
            command = [*sandbox.runtime_command(self.config, None), "--spare"]
            variables = sandbox.spare_environment(self.config)
        await self._spawn(Attachments(), command, memory, variables, spare=True)
        self._ready = None  # created by the claim: a spare shut down unclaimed has no INIT to fail

    async def claim(self, config: FunctionConfig) -> None:
        """Make a spare this function's environment: its code appears at /var/task (hard links into
        the staging directory), its limits apply, its variables reach the bootstrap, INIT runs.
        Init Duration counts from here: the user's INIT, not the spare's earlier start."""
        assert self._claim_fd is not None and self._proc is not None and self._proc.cgroup is not None
        self.started_at = time.perf_counter()
        self.config = config
        self._ready = asyncio.get_running_loop().create_future()
        try:
            if self.dead:
                raise OSError("the spare sandbox exited")
            if config.image is None:  # (an image's root is bound already)
                await asyncio.to_thread(  # the package hard-linked file by file (20,000 files: ~0.5 s)
                    shutil.copytree, config.code_dir, self.staging, copy_function=staging.link_or_copy,
                    dirs_exist_ok=True,
                )  # fmt: skip
            if self.dead or self._proc is None or self._proc.cgroup is None:
                raise OSError("the spare sandbox exited")
            self._proc.cgroup.limit(config.memory_mb * 1024 * 1024 + MEMORY_SLACK_BYTES, PIDS_MAX)
            self._open_forwarder()
            variables = sandbox.sandbox_environment(config, self._aws_variables())
            claim = image_launch.claim(config.image, variables) if config.image is not None else variables
            os.write(self._claim_fd, json.dumps(claim).encode())
        except OSError as e:
            self.kill()
            raise EnvironmentDead(self._fail("Runtime.ExitError", f"Spare sandbox unusable: {e}")) from None
        finally:
            if self._claim_fd is not None:  # (``kill`` closes it)
                os.close(self._claim_fd)
                self._claim_fd = None
        await self._await_init()

    async def _spawn(
        self, attachments: Attachments, command: list[str], memory: int, environment: dict[str, str] | None,
        *, spare: bool,
    ) -> None:  # fmt: skip
        """Start the sandbox; a spare's stdin is the pipe ``claim`` writes its variables into."""
        await asyncio.to_thread(sandbox.stage, self._run_dir.parent, self.config)  # the first: big
        loop = asyncio.get_running_loop()
        self._run_dir.mkdir(parents=True, exist_ok=True)
        self._ready = loop.create_future()
        socket_path = self._run_dir / sandbox.SOCKET_NAME
        extra = self._extensions.connections if self._extensions is not None else 0
        self._server = RuntimeServer(str(socket_path), self._accept, max_connections=MAX_CONNECTIONS + extra)
        socket_path.chmod(0o777)  # an unprivileged sandbox user connects to it
        if not spare:
            self._open_forwarder()
        cgroup: Cgroup | None = None
        if self._cgroups is not None:
            cgroup = self._cgroups.create(self.env_id, memory + MEMORY_SLACK_BYTES, PIDS_MAX)
        info_r, info_w = os.pipe()
        held = self.config.network or (cgroup is not None and cgroup.version == 2)
        block = os.pipe() if held else None  # the child waits until its cgroup and network are set
        argv = sandbox.bwrap_argv(
            self._bwrap, self.config, self._run_dir, attachments, command,
            info_fd=info_w, block_fd=block[0] if block else None, unprivileged=self._unprivileged,
            environment=environment,
        )  # fmt: skip
        stdin = subprocess.DEVNULL
        if spare:
            stdin, self._claim_fd = os.pipe()
        try:
            self._proc = await sandbox.spawn(
                argv,
                info_r,
                info_w,
                block,
                cgroup,
                self._spawner,
                stdin,
                attachments.take_descriptors(),
                egress=(self._egress or network.Egress()) if self.config.network else None,
            )
        except BaseException:
            await self.close()
            raise
        self._pidfd = os.pidfd_open(self._proc.process.pid)
        loop.add_reader(self._pidfd, self._on_exit)
        loop.add_reader(self._proc.output_fd, self._read_output)

    async def _await_init(self) -> None:
        assert self._ready is not None
        try:  # not wait_for: on 3.11 it can swallow a cancellation arriving as INIT ends
            async with asyncio.timeout(INIT_TIMEOUT_SECONDS):
                await asyncio.shield(self._ready)
        except TimeoutError:
            self.kill()
            raise EnvironmentDead(self._fail("Runtime.InitTimeout", "Init phase timed out")) from None
        self.init_duration_ms = (time.perf_counter() - self.started_at) * 1000
        if self._extensions is not None:
            self._extensions.init_done(self.init_duration_ms)
        self._freeze()

    def _accept(self) -> RuntimeConnection:
        connection = RuntimeConnection(self)
        self._connections = [c for c in self._connections if not c.lost]  # (a flood churns connections)
        self._connections.append(connection)
        if self.dead:  # accepted just before the server closed
            connection.close()
        return connection

    def kill(self) -> None:
        """Kill the sandbox now (SHUTDOWN, timeouts, crashes) and close its Runtime API.

        The server and its connections are closed here, synchronously, not in ``close``: whatever
        happens to the caller afterwards (a cancellation), no socket is left to the garbage collector.
        """
        self.dead = True
        if self._server is not None:
            self._server.close()
            self._server = None
        for connection in self._connections:  # a paused reader would never see the EOF
            connection.close()
        if self._forwarder is not None:
            self._forwarder.close()
            self._forwarder = None
        if self._claim_fd is not None:
            os.close(self._claim_fd)
            self._claim_fd = None
        if self._extensions is not None:
            self._extensions.close()  # what waits on them learns the environment ended
        if self._proc is not None:
            self._proc.kill()

    async def close(self) -> None:
        """Kill the sandbox and release everything it held.

        The release runs once, in a task of its own that every caller awaits: callers may overlap
        (the pool's shutdown and a failed start or invocation) or be cancelled, and a second release
        would close descriptor numbers that other sockets may have been given meanwhile.
        """
        graceful = self._extensions is not None and not self.dead  # SHUTDOWN to its extensions first
        if not graceful:
            self.kill()
        if self._closing is None:
            self._closing = asyncio.create_task(self._release(graceful), name=f"stepline-close-{self.env_id}")
        await asyncio.shield(self._closing)

    async def _release(self, graceful: bool = False) -> None:
        if graceful and self._extensions is not None:
            self._thaw()
            try:
                await self._extensions.shut_down("spindown")
            finally:
                self.kill()
        proc = self._proc
        if proc is not None:
            await asyncio.get_running_loop().run_in_executor(None, proc.wait)
            self._on_exit()  # if its reader has not run yet: what waits on the sandbox learns why it ended
            self._read_output()
            self._stop_reading()
            if proc.cgroup is not None:
                for _ in range(50):  # the namespace's last processes may still be exiting
                    if proc.cgroup.remove():
                        break
                    await asyncio.sleep(0.02)
        for connection in self._connections:  # any accepted while the sandbox was exiting
            connection.close()
        self._connections.clear()
        shutil.rmtree(self._run_dir, ignore_errors=True)
        await asyncio.to_thread(shutil.rmtree, self.staging, ignore_errors=True)  # a claimed package's links

    def _stop_reading(self) -> None:
        """Close the output pipe, and forget the process so that nothing reads the pipe's number again."""
        assert self._proc is not None
        asyncio.get_running_loop().remove_reader(self._proc.output_fd)
        os.close(self._proc.output_fd)
        self._proc = None

    # invoking ------------------------------------------------------------------------------

    async def invoke(self, call: FunctionCall, request_id: str, seconds: float) -> Ran:
        """Run one event; a function's failure comes back as a result with an error (a dead
        environment's raises ``EnvironmentDead``)."""
        loop = asyncio.get_running_loop()
        self._thaw()
        if self._waiting is None and not self.dead:
            self._asked = loop.create_future()
            try:
                await self._asked
            finally:
                self._asked = None
        if self.dead or self._waiting is None:
            raise EnvironmentDead(self._exit_reason or self._fail("Runtime.ExitError", "Runtime exited"))
        self._current_id = request_id
        self._current = loop.create_future()
        started = time.perf_counter()
        deadline_ms = int((time.time() + seconds) * 1000)
        waiting, self._waiting = self._waiting, None
        credentials = self._renewed_credentials(deadline_ms / 1000)
        waiting.send_event(
            request_id, deadline_ms, invoked_arn(self.config, call), call.payload,
            client_context=call.client_context, credentials=credentials,
        )  # fmt: skip
        if self._extensions is not None:
            self._extensions.invoke(request_id, deadline_ms, invoked_arn(self.config, call))
        timer = loop.call_later(seconds, self._on_timeout, request_id, seconds)
        early: list[str] = []
        try:
            body, error_type = await self._current
            if self._extensions is not None and not self.dead:
                early = self._take_logs()
                if not await self._extensions.done(request_id, error_type, early, started + seconds):
                    message = f"RequestId: {request_id} Error: Task timed out after {seconds:.2f} seconds"
                    body, error_type = error_document("Sandbox.Timedout", message), "Sandbox.Timedout"
                    self.kill()  # an extension never asked for its next event
                elif self.dead and self._exit_reason is not None:  # an extension failed meanwhile
                    body, error_type = self._exit_reason[0].payload, self._exit_reason[0].error_type
        except BaseException:
            self.kill()  # cancelled: the event still runs in the sandbox, which is never reused
            raise
        finally:
            timer.cancel()
            self._current = None
            self._current_id = None
        duration = (time.perf_counter() - started) * 1000
        if error_type in FATAL_ERRORS:
            self.kill()  # Lambda resets the environment after these; never reuse it
        else:
            self._freeze()
        logs = early + self._take_logs()
        self.last_used = time.monotonic()
        if self._extensions is not None:
            logs += self._extensions.take_log()
            self._extensions.report(request_id, error_type, duration, self._max_memory_mb())
        return self._result(body, error_type, request_id, duration, self._max_memory_mb()), logs

    def fresh_for(self, seconds: float) -> bool:
        """Whether this environment can take an invocation of ``seconds``: always, but for a function
        with ``aws_api`` whose runtime reads its credentials only when it starts (``provided``), if
        they would expire meanwhile (it is then replaced)."""
        return aws_api.reusable(self.config.runtime, self._credentials, time.time() + seconds)

    # calling back (aws_api) ----------------------------------------------------------------

    def _aws_variables(self) -> dict[str, str]:
        """AWS_ENDPOINT_URL and the first credentials of a function with ``aws_api`` (else none)."""
        if not self.config.aws_api or self._aws_api is None:
            return {}
        self._credentials = self._aws_api.credentials(self.config)
        return {**aws_api.ENDPOINT_VARIABLES, **self._credentials.variables()}

    def _renewed_credentials(self, deadline: float) -> dict[str, str] | None:
        """New credentials for the next event, when those the sandbox holds would expire before
        ``deadline`` (and a minute); None when they will not (or the function has none)."""
        if self._credentials is None or aws_api.covers(self._credentials, deadline) or self._aws_api is None:
            return None
        self._credentials = self._aws_api.credentials(self.config, deadline)
        return self._credentials.variables()

    def _open_forwarder(self) -> None:
        """The sandbox's AWS API socket (/run/lambda/aws.sock), for a function with ``aws_api``."""
        if self.config.aws_api and self._aws_api is not None and self._forwarder is None:
            self._forwarder = ApiForwarder(aws_api.socket_path(self._run_dir), self._aws_api.upstream)

    # freezing ----------------------------------------------------------------------------

    def _freezer(self) -> Freezer | None:
        cgroup = self._proc.cgroup if self._proc is not None else None
        return cgroup.freezer if cgroup is not None and not self.dead else None

    def _freeze(self) -> None:
        """Freeze the sandbox now if its runtime waits for the next event, else when it asks for it
        (``next_invocation``). The freezer stops every process at its next return to user space."""
        freezer = self._freezer()
        if freezer is None:
            return
        if self._waiting is None:
            self._freeze_when_asked = True
            return
        self._freeze_when_asked = False
        freezer.freeze()
        self._frozen = True

    def _thaw(self) -> None:
        freezer = self._freezer()
        if self._frozen and freezer is not None:
            freezer.thaw()
        self._frozen = self._freeze_when_asked = False

    def _on_timeout(self, request_id: str, timeout: float) -> None:
        if self._current is not None and not self._current.done() and self._current_id == request_id:
            message = f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
            self._current.set_result((error_document("Sandbox.Timedout", message), "Sandbox.Timedout"))
            self.kill()

    def _result(
        self, body: bytes, error_type: str | None, request_id: str = "", duration_ms: float = 0.0,
        max_memory_mb: int = 0,
    ) -> FunctionResult:  # fmt: skip
        return FunctionResult(
            body, "Unhandled" if error_type is not None else None, self.config.version, request_id,
            error_type=error_type, duration_ms=duration_ms, max_memory_mb=max_memory_mb,
        )  # fmt: skip

    def _fail(self, error_type: str, message: str) -> Ran:
        return self._result(error_document(error_type, message), error_type), self._take_logs()

    def _take_logs(self) -> list[str]:
        self._read_output()
        return self._output.take()

    # RuntimeHandler ------------------------------------------------------------------------

    def next_invocation(self, conn: RuntimeConnection) -> None:
        self._waiting = conn
        if self._freeze_when_asked:
            self._freeze()
        if self._asked is not None and not self._asked.done():
            self._asked.set_result(None)
        ready = self._extensions is None or self._extensions.ready  # INIT: the extensions' too
        if self._ready is not None and not self._ready.done() and ready:
            self._ready.set_result(None)

    def invocation_response(self, request_id: str, body: bytes) -> int:
        if self._current is None or request_id != self._current_id or self._current.done():
            return 400
        if len(body) > MAX_PAYLOAD_BYTES:
            message = (
                f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size "
                f"({MAX_PAYLOAD_BYTES} bytes)."
            )
            doc = error_document("Function.ResponseSizeTooLarge", message)
            self._current.set_result((doc, "Function.ResponseSizeTooLarge"))
            return 413
        self._current.set_result((body, None))
        return 202

    def invocation_error(self, request_id: str, error_type: str | None, body: bytes) -> int:
        if self._current is None or request_id != self._current_id or self._current.done():
            return 400
        self._current.set_result((body, _error_type(error_type, body)))
        return 202

    def extension_request(
        self, conn: RuntimeConnection, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> None:
        if self._extensions is None:
            conn.reply(403, error_document("Extension.Forbidden", "This function has no extensions"))
        else:
            self._extensions.request(conn, method, path, headers, body)

    def _extensions_ready(self) -> None:
        """Every extension waits for its next event: INIT is over if the runtime waits too."""
        if self._waiting is not None and self._ready is not None and not self._ready.done():
            self._ready.set_result(None)

    def _extension_failed(self, error_type: str, message: str) -> None:
        """An extension crashed or reported an error: the environment ends with Lambda's Extension.*."""
        if self.dead:
            return
        request = self._current_id or ""
        self._exit_reason = self._fail(error_type, f"RequestId: {request} Error: {message}")
        if self._current is not None and not self._current.done():
            self._current.set_result((self._exit_reason[0].payload, error_type))
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(EnvironmentDead(self._exit_reason))
        self.kill()

    def init_error(self, error_type: str | None, body: bytes) -> int:
        kind = _error_type(error_type, body)
        self._exit_reason = self._result(body, kind), []
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(EnvironmentDead(self._exit_reason))
        self.kill()
        return 202

    # process events ------------------------------------------------------------------------

    def _read_output(self) -> None:
        """Read what the pipe holds, at most ``READ_BYTES_PER_TURN`` per call: a process that writes
        without pause cannot keep the event loop here (the reader callback comes back next turn)."""
        if self._proc is None:
            return
        for _ in range(READ_BYTES_PER_TURN // READ_CHUNK):
            try:
                chunk = os.read(self._proc.output_fd, READ_CHUNK)
            except OSError:  # (BlockingIOError: nothing more for now)
                break
            if not chunk:
                break
            self._output.feed(chunk)
        if self.dead:
            self._output.finish()

    def _on_exit(self) -> None:
        if self._pidfd is None:  # already seen
            return
        assert self._proc is not None
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = None
        loop.remove_reader(self._proc.output_fd)  # at EOF it would be ready, in vain, at every turn
        code = self._proc.process.poll()
        if code is None:
            code = self._proc.process.wait()
        was_killed = self.dead
        self.dead = True
        self._read_output()
        oom = self._proc.cgroup is not None and self._proc.cgroup.oom_killed()
        if self._exit_reason is None:
            request = self._current_id or ""
            if oom:
                message = f"RequestId: {request} Error: Runtime exited with error: signal: killed"
                self._exit_reason = self._fail("Runtime.OutOfMemory", message)
            elif not was_killed:
                message = f"RequestId: {request} Error: Runtime exited with error: {_status(code)}"
                self._exit_reason = self._fail("Runtime.ExitError", message)
        reason = self._exit_reason or self._fail("Runtime.ExitError", "Runtime was shut down")
        if self._current is not None and not self._current.done():
            self._current.set_result((reason[0].payload, reason[0].error_type))
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(EnvironmentDead(reason))
        if self._asked is not None and not self._asked.done():
            self._asked.set_result(None)

    def _max_memory_mb(self) -> int:
        cgroup = self._proc.cgroup if self._proc is not None else None
        peak = cgroup.peak_memory_bytes() if cgroup is not None else None
        return (peak or 0) // (1024 * 1024)


def _status(code: int) -> str:
    number = -code if code < 0 else code - 128 if code > 128 else 0
    if number == signal.SIGKILL:
        return "signal: killed"
    if number:
        with contextlib.suppress(ValueError):
            return f"signal: {signal.Signals(number).name.lower().removeprefix('sig')}"
    return f"exit status {code}"


def _error_type(header: str | None, body: bytes) -> str:
    """The error's type: the runtime's header, else the document's errorType, else Unhandled."""
    if header:
        return header
    try:
        doc = json.loads(body)
    except ValueError:
        return "Unhandled"
    kind = doc.get("errorType") if isinstance(doc, dict) else None
    return kind if isinstance(kind, str) and kind else "Unhandled"
