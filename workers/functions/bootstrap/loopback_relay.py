"""Relays from TCP ports on the sandbox's own loopback to the worker's Unix sockets (in the sandbox).

The sandbox has no network but its own loopback, and what is served to it comes over Unix sockets
in /run/lambda. Clients that only speak TCP reach them through this relay: the AWS SDKs'
``AWS_ENDPOINT_URL`` (127.0.0.1:9002) for functions with ``aws_api`` (the Python bootstrap runs
``Relay`` in a thread; Node.js's bootstrap relays on its own), and, run as a program (``main``),
the ``provided`` runtime: a custom runtime's ``AWS_LAMBDA_RUNTIME_API`` (127.0.0.1:9001), with
the user's ``bootstrap`` as the relay's child, the relay exiting with its status. One ``select``
loop, each accepted connection paired with a new connection to its socket, bytes pumped both ways.
Standard library only.
"""

from __future__ import annotations

import os
import select
import socket
import sys
from collections.abc import Callable

RUNTIME_SOCKET = "/run/lambda/runtime.sock"
AWS_SOCKET = "/run/lambda/aws.sock"
"""The worker's end of ``AWS_ENDPOINT_URL``."""


def listen(address: str) -> socket.socket:
    """A listening socket at ``host:port`` (the sandbox's loopback)."""
    host, _, port = address.partition(":")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # the extensions' launcher's too
    listener.bind((host, int(port)))
    listener.listen(64)
    return listener


def aws_endpoint_address() -> str | None:
    """``host:port`` of ``AWS_ENDPOINT_URL`` when it is this relay's (``aws_api``), else None."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if endpoint.startswith("http://127.0.0.1:") and os.path.exists(AWS_SOCKET):
        return endpoint[len("http://") :].rstrip("/")
    return None


class Relay:
    """Pumps every connection accepted on a listener to a new connection to its Unix socket. An end
    that stops sending (EOF) is passed on as such (``shutdown``), so what comes back still arrives;
    the pair is closed once neither end sends."""

    def __init__(self, routes: dict[socket.socket, str]) -> None:
        self._routes = routes
        self._pairs: dict[int, tuple[socket.socket, socket.socket]] = {}
        """Each end still sending -> (it, its other end)."""
        self._open: dict[int, int] = {}
        """Each pair's ends still sending, by either end's descriptor."""

    def run(self, done: Callable[[], bool] = lambda: False, tick: float | None = None) -> None:
        """Relay until ``done()`` (checked every ``tick`` seconds; None: forever)."""
        while not done():
            sockets = [*self._routes, *(s for s, _ in self._pairs.values())]
            readable, _, _ = select.select(sockets, [], [], tick)
            for sock in readable:
                if sock in self._routes:
                    self._accept(sock)
                elif sock.fileno() in self._pairs:
                    self._pump(sock)

    def _accept(self, listener: socket.socket) -> None:
        client, _ = listener.accept()
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(self._routes[listener])
        except OSError:
            client.close()
            upstream.close()
            return
        self._pairs[client.fileno()] = (client, upstream)
        self._pairs[upstream.fileno()] = (upstream, client)
        self._open[client.fileno()] = self._open[upstream.fileno()] = 2

    def _pump(self, source: socket.socket) -> None:
        _, sink = self._pairs[source.fileno()]
        try:
            data = source.recv(1 << 16)
            if data:
                sink.sendall(data)
                return
            sink.shutdown(socket.SHUT_WR)  # EOF: the other way may still carry an answer
        except OSError:
            self._close(source, sink)
            return
        del self._pairs[source.fileno()]
        self._open[source.fileno()] -= 1
        self._open[sink.fileno()] -= 1
        if self._open[source.fileno()] == 0:
            self._close(source, sink)

    def _close(self, *ends: socket.socket) -> None:
        for end in ends:
            self._pairs.pop(end.fileno(), None)
            self._open.pop(end.fileno(), None)
            end.close()


def main() -> None:
    """The ``provided`` runtime: relay, and run ``sys.argv[1]`` (the package's ``bootstrap``)."""
    routes = {listen(os.environ["AWS_LAMBDA_RUNTIME_API"]): RUNTIME_SOCKET}
    aws = aws_endpoint_address()
    if aws is not None:
        routes[listen(aws)] = AWS_SOCKET
    child = os.fork()
    if child == 0:
        for listener in routes:
            listener.close()
        try:
            os.execv(sys.argv[1], [sys.argv[1]])
        except OSError as exc:
            os.write(2, f"cannot run {sys.argv[1]}: {exc}\n".encode())
            os._exit(127)

    def child_exited() -> bool:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        return False

    Relay(routes).run(child_exited, tick=0.05)


if __name__ == "__main__":
    main()
