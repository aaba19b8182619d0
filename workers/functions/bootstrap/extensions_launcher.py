"""The sandbox's init for a function with external extensions (run as ``python3 -S``).

It starts every executable in /opt/extensions (sorted by name, as Lambda starts them) before the
runtime, then the runtime's own command (its arguments); it relays ``AWS_LAMBDA_RUNTIME_API``
(127.0.0.1:9001, where extensions reach the Extensions and Telemetry APIs) to the worker's socket;
it fetches each due Telemetry API batch from the worker and POSTs it to the subscriber's listener at
``sandbox.localdomain`` (which /etc/hosts maps to the sandbox's loopback); and it tells the worker
when an extension exits (Lambda's ``Extension.Crash``). It exits with the runtime's status.
Standard library only.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from workers.functions.bootstrap.loopback_relay import RUNTIME_SOCKET, Relay, listen
else:  # the sandbox's /var/runtime is this script's directory, first on the path
    from loopback_relay import RUNTIME_SOCKET, Relay, listen

EXTENSIONS_DIR = "/opt/extensions"
PUMP_PATH = "/2022-07-01/telemetry/stepline-next"
EXITED_PATH = "/2020-01-01/extension/stepline-exited"
REGISTERED_PATH = "/2020-01-01/extension/stepline-registered"
LOG_PATH = "/2022-07-01/telemetry/stepline-extension-log"


class UnixConnection(http.client.HTTPConnection):
    """HTTP to the worker's Runtime API socket."""

    def __init__(self, timeout: float | None = None) -> None:
        super().__init__("localhost", timeout=timeout)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(RUNTIME_SOCKET)


def start(argv: list[str], output: int | None = None) -> int:
    """Fork and exec ``argv``; its stdout and stderr go to ``output`` when given."""
    pid = os.fork()
    if pid == 0:
        if output is not None:
            os.dup2(output, 1)
            os.dup2(output, 2)
            os.close(output)
        try:
            os.execv(argv[0], argv)
        except OSError as exc:
            os.write(2, f"cannot run {argv[0]}: {exc}\n".encode())
        os._exit(127)
    return pid


def report_exit(name: str, status: int) -> None:
    connection = UnixConnection(timeout=5)
    try:
        connection.request("POST", EXITED_PATH, body=json.dumps({"status": status}),
                           headers={"Lambda-Extension-Name": name})  # fmt: skip
        connection.getresponse().read()
    except OSError:
        pass
    finally:
        connection.close()


def deliver(uri: str, events: list[object]) -> None:
    """POST one batch to a subscriber's listener (``sandbox.localdomain`` is the loopback)."""
    parts = uri.split("/", 3)  # http:, '', host:port, path
    host, _, port = parts[2].rpartition(":")
    if host == "sandbox.localdomain":  # (an image need not name it in its /etc/hosts)
        host = "127.0.0.1"
    path = "/" + (parts[3] if len(parts) > 3 else "")
    body = json.dumps(events).encode()
    for _ in range(3):  # a listener still starting: a few tries, then the batch is dropped
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()


def forward_log(name: str, fd: int) -> None:
    """Send what an extension writes, line by line in batches, to the worker (its ``extension``
    events and the invocation's log), over one keep-alive connection."""
    connection = UnixConnection()
    rest = b""
    while chunk := os.read(fd, 65536):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        if lines:
            send_log(connection, name, lines)
    if rest:
        send_log(connection, name, [rest])
    connection.close()


def send_log(connection: http.client.HTTPConnection, name: str, lines: list[bytes]) -> None:
    body = json.dumps([line.decode(errors="replace") for line in lines])
    try:
        connection.request("POST", LOG_PATH, body=body, headers={"Lambda-Extension-Name": name})
        connection.getresponse().read()
    except (OSError, http.client.HTTPException):
        connection.close()  # reconnects at the next request


def await_registrations() -> None:
    """Wait until every extension has registered (the worker answers then; INIT's limit bounds it)."""
    connection = UnixConnection()
    try:
        connection.request("GET", REGISTERED_PATH)
        connection.getresponse().read()
    except (OSError, http.client.HTTPException):
        pass  # the worker is going away: starting the runtime is harmless
    finally:
        connection.close()


def pump() -> None:
    """Fetch due Telemetry API batches from the worker and deliver them, forever."""
    while True:
        connection = UnixConnection()
        try:
            connection.request("GET", PUMP_PATH)
            answer = connection.getresponse()
            batch = json.loads(answer.read())
        except (OSError, ValueError, http.client.HTTPException):
            time.sleep(0.5)
            continue
        finally:
            connection.close()
        if isinstance(batch, dict) and isinstance(batch.get("uri"), str):
            deliver(batch["uri"], batch.get("events", []))


def run(
    routes: dict[socket.socket, str], start_runtime: Callable[[], int], names: list[str] | None = None
) -> None:
    """Start the extensions (``names`` in /opt/extensions, else all there), then (once they
    registered) the runtime by ``start_runtime`` (its pid); relay ``routes`` and pump telemetry until
    the runtime exits, with its status."""
    if names is None:
        names = sorted(os.listdir(EXTENSIONS_DIR)) if os.path.isdir(EXTENSIONS_DIR) else []
    extensions: dict[int, str] = {}
    for name in names:
        path = os.path.join(EXTENSIONS_DIR, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            read, write = os.pipe()
            extensions[start([path], write)] = name
            os.close(write)
            threading.Thread(target=forward_log, args=(name, read), daemon=True).start()
    runtime: list[int] = []
    ended: dict[int, int] = {}
    """Children that are not extensions, reaped: the runtime (maybe before its pid is known)."""

    def runtime_after_registrations() -> None:  # (through the relay: in a thread)
        await_registrations()
        runtime.append(start_runtime())

    threading.Thread(target=runtime_after_registrations, daemon=True).start()
    threading.Thread(target=pump, daemon=True).start()

    def reap() -> bool:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid in extensions:
                name = extensions.pop(pid)
                threading.Thread(target=report_exit, args=(name, os.waitstatus_to_exitcode(status))).start()
            elif pid:
                ended[pid] = os.waitstatus_to_exitcode(status)
            if runtime and runtime[0] in ended:
                os._exit(ended[runtime[0]] & 0xFF)
            if not pid:
                return False

    Relay(routes).run(reap, tick=0.05)


def main() -> None:
    routes = {listen(os.environ["AWS_LAMBDA_RUNTIME_API"]): RUNTIME_SOCKET}  # (the runtime relays the rest)
    run(routes, lambda: start(sys.argv[1:]))


if __name__ == "__main__":
    main()
