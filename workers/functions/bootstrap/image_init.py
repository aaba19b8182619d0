"""The first process of a container-image function's sandbox (``/var/rapid/runtime/image_init.py``).

Run by the worker's own Python, bound beside the image's root (``workers.functions.images.launch``):
it serves the Runtime API at ``AWS_LAMBDA_RUNTIME_API`` on the sandbox's loopback (and the AWS
endpoint for functions with ``aws_api``) through ``loopback_relay``, and runs the image's command
(ENTRYPOINT + CMD, or the function's ImageConfig) as its child, in the working directory, with the
sandbox's variables; it exits with the child's status. A command that cannot be started is
reported as Lambda reports it: an init error ``Runtime.InvalidEntrypoint`` or
``Runtime.InvalidWorkingDirectory``. Standard library only.

Usage: ``image_init.py WORKDIR COMMAND [ARGUMENT...]``
"""

from __future__ import annotations

import json
import os
import socket
import sys

from loopback_relay import (  # type: ignore[import-not-found]  # (beside it in the sandbox)
    AWS_SOCKET,
    RUNTIME_SOCKET,
    Relay,
    aws_endpoint_address,
    listen,
)


def report_init_error(error_type: str, message: str) -> None:
    """POST an init error to the worker's Runtime API socket (the child's last act)."""
    body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
    head = (
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: runtime\r\n"
        f"Lambda-Runtime-Function-Error-Type: {error_type}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(RUNTIME_SOCKET)
            connection.sendall(head.encode() + body)
            connection.recv(4096)
    except OSError:
        pass


def run_command(workdir: str, command: list[str]) -> None:
    """In the child: enter ``workdir`` and exec ``command`` (never returns)."""
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


def main() -> None:
    workdir, command = sys.argv[1], sys.argv[2:]
    routes = {listen(os.environ["AWS_LAMBDA_RUNTIME_API"]): RUNTIME_SOCKET}
    aws = aws_endpoint_address()
    if aws is not None:
        routes[listen(aws)] = AWS_SOCKET
    child = os.fork()
    if child == 0:
        for listener in routes:
            listener.close()
        run_command(workdir, command)

    def child_exited() -> bool:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        return False

    Relay(routes).run(child_exited, tick=0.05)


if __name__ == "__main__":
    main()
