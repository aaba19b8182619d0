"""The ``provided`` runtime: run the package's own ``bootstrap`` against the Runtime API.

Custom runtimes reach the Runtime API over TCP at AWS_LAMBDA_RUNTIME_API (127.0.0.1:9001). The
sandbox has no network but its own loopback, so this relay listens there and pumps each
connection to the worker's Unix socket, while the user's bootstrap runs as its child; the relay
exits with the bootstrap's status.
"""

from __future__ import annotations

import os
import select
import socket
import sys

SOCKET = "/run/lambda/runtime.sock"


def main() -> None:
    host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].partition(":")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, int(port)))
    listener.listen(16)
    child = os.fork()
    if child == 0:
        listener.close()
        try:
            os.execv(sys.argv[1], [sys.argv[1]])
        except OSError as exc:
            os.write(2, f"cannot run {sys.argv[1]}: {exc}\n".encode())
            os._exit(127)
    pairs: dict[int, tuple[socket.socket, socket.socket]] = {}
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        readable, _, _ = select.select([listener, *(s for s, _ in pairs.values())], [], [], 0.05)
        for sock in readable:
            if sock is listener:
                client, _ = listener.accept()
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                upstream.connect(SOCKET)
                pairs[client.fileno()] = (client, upstream)
                pairs[upstream.fileno()] = (upstream, client)
                continue
            source, sink = pairs[sock.fileno()]
            try:
                data = source.recv(1 << 16)
            except OSError:
                data = b""
            if data:
                sink.sendall(data)
                continue
            for end in (source, sink):
                pairs.pop(end.fileno(), None)
                end.close()


if __name__ == "__main__":
    main()
