"""The first process of a container-image function's sandbox (``/var/rapid/runtime/image_init.py``).

Run by the worker's own Python, bound beside the image's root (``workers.functions.images.launch``):
it serves the Runtime API at ``AWS_LAMBDA_RUNTIME_API`` on the sandbox's loopback (and the AWS
endpoint for functions with ``aws_api``) through ``loopback_relay``, and runs the image's command
(ENTRYPOINT + CMD, or the function's ImageConfig) as its child, in the working directory, with the
sandbox's variables; it exits with the child's status. A command that cannot be started is
reported as Lambda reports it: an init error ``Runtime.InvalidEntrypoint`` or
``Runtime.InvalidWorkingDirectory``. Its listeners are made first, with ``_socket`` alone, and the
command forked at once: the relay's own imports overlap the command's start. Standard library only.

With ``--extensions`` (the image has executables in ``/opt/extensions``, as Lambda runs them from an
image), it is the extensions' launcher (``extensions_launcher.run``): the extensions start first,
the command once they registered.

A spare (``--spare``) loads its modules and waits on stdin for the function's command, working
directory and variables (``workers.functions.spares``).

Usage: ``image_init.py [--extensions NAME/NAME/...] WORKDIR COMMAND [ARGUMENT...]``, ``image_init.py --spare``
"""

from __future__ import annotations

import _socket
import os
import sys

RUNTIME_SOCKET = "/run/lambda/runtime.sock"
HELD_PREFIX = "_RAPID_HELD_"
"""Variables the image set for its command that the relay's C library would act on arrive renamed
(``workers.functions.images.launch``): restored for the command only."""
AWS_SOCKET = "/run/lambda/aws.sock"
"""The worker's end of ``AWS_ENDPOINT_URL`` (functions with ``aws_api``; ``loopback_relay``)."""


def listen(address: str) -> _socket.socket:
    """The Runtime API's listener, made before anything is imported: the command starts at once."""
    host, _, port = address.partition(":")
    listener = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    listener.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
    listener.bind((host, int(port)))
    listener.listen(64)
    return listener


def report_init_error(error_type: str, message: str) -> None:
    """POST an init error to the worker's Runtime API socket (the child's last act)."""
    import json

    body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
    head = (
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: runtime\r\n"
        f"Lambda-Runtime-Function-Error-Type: {error_type}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        connection.connect(RUNTIME_SOCKET)
        connection.sendall(head.encode() + body)
        connection.recv(4096)
    except OSError:
        pass
    finally:
        connection.close()


def run_command(workdir: str, command: list[str]) -> None:
    """In the child: enter ``workdir`` and exec ``command`` (never returns)."""
    for name in [n for n in os.environ if n.startswith(HELD_PREFIX)]:  # the loader's, the command's
        os.environ[name[len(HELD_PREFIX) :]] = os.environ.pop(name)
    try:
        os.chdir(workdir)
    except OSError as exc:
        report_init_error("Runtime.InvalidWorkingDirectory", f"{workdir}: {exc.strerror}")
        os._exit(127)
    if not command:
        report_init_error("Runtime.InvalidEntrypoint", "the image has no ENTRYPOINT or CMD")
        os._exit(127)
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        report_init_error("Runtime.InvalidEntrypoint", f"{command[0]}: {exc.strerror}")
        os._exit(127)


def with_extensions(
    names: list[str], workdir: str, command: list[str], listeners: dict[_socket.socket, str]
) -> None:
    """Run the image's extensions (``names``, in /opt/extensions: those the worker found, links
    among them only if they lead inside the image) and its command under ``extensions_launcher``
    (never returns)."""
    import socket

    from extensions_launcher import run  # type: ignore[import-not-found]  # (beside it in the sandbox)

    for name in [n for n in os.environ if n.startswith(HELD_PREFIX)]:  # every child is the image's
        os.environ[name[len(HELD_PREFIX) :]] = os.environ.pop(name)

    def start_runtime() -> int:
        pid = os.fork()
        if pid == 0:
            run_command(workdir, command)
        return pid

    routes = {socket.socket(fileno=listener.detach()): path for listener, path in listeners.items()}
    run(routes, start_runtime, names)
    os._exit(70)  # (the relay ends the process with the command's status: never reached)


def await_claim() -> tuple[str, list[str]]:
    """A spare: load the relay's modules, then wait on stdin for the function's command, working
    directory and variables (one JSON object, then EOF; none: shut down unclaimed)."""
    import json
    import socket  # noqa: F401  (loaded before the claim)

    __import__("loopback_relay")  # (beside it in the sandbox: loaded before the claim too)

    data = b""
    while chunk := os.read(0, 65536):
        data += chunk
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    if not data:
        os._exit(0)
    claim = json.loads(data)
    os.environ.clear()
    os.environ.update(claim["environment"])
    return str(claim["workdir"]), [str(part) for part in claim["command"]]


def main() -> None:
    extensions = sys.argv[2].split("/") if sys.argv[1] == "--extensions" else None
    skip = 2 if extensions is not None else 0
    if sys.argv[1] == "--spare":
        workdir, command = await_claim()
    else:
        workdir, command = sys.argv[1 + skip], sys.argv[2 + skip :]
    listeners = {listen(os.environ["AWS_LAMBDA_RUNTIME_API"]): RUNTIME_SOCKET}
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if endpoint.startswith("http://127.0.0.1:") and os.path.exists(AWS_SOCKET):
        listeners[listen(endpoint[len("http://") :].rstrip("/"))] = AWS_SOCKET
    if extensions is not None:
        with_extensions(extensions, workdir, command, listeners)
    child = os.fork()
    if child == 0:
        for listener in listeners:
            listener.close()
        run_command(workdir, command)
    import socket  # (the relay's imports, while the command starts)

    from loopback_relay import Relay  # type: ignore[import-not-found]  # (beside it in the sandbox)

    routes = {socket.socket(fileno=listener.detach()): path for listener, path in listeners.items()}

    def child_exited() -> bool:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        return False

    Relay(routes).run(child_exited, tick=0.05)


if __name__ == "__main__":
    main()
