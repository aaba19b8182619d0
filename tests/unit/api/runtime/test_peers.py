"""A worker's endpoint as the API reaches it (``api.runtime.peers``), against a Unix-socket server
standing in for a worker that dies mid-request."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from api.runtime.peers import Address, Peer, Unreachable
from workers.endpoint import wire
from workers.functions.errors import ServiceError

TOKEN = b"t" * 32


async def test_after_a_request_breaks_the_next_never_goes_down_an_idle_connection(tmp_path: Path) -> None:
    """A dying worker resets the request it was running while its other sockets still stand for a
    moment: the next request must not be written into one of them (it would break too, as 'the
    function may have run'); it connects afresh and finds nobody (Unreachable: tried elsewhere or a
    503)."""
    dying = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    await wire.read_request(reader, TOKEN)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                if dying.is_set():
                    writer.transport.abort()  # the worker died with this request in flight
                    return
                await asyncio.sleep(0.05)  # both first requests in flight at once: two connections
                writer.write(wire.response_bytes(200, {"in_use": 0}))
                await writer.drain()
        finally:
            writer.close()

    socket_path = str(tmp_path / "invoke.sock")
    server = await asyncio.start_unix_server(serve, socket_path)
    peer = Peer(Address("w" * 32, socket_path, None))
    try:
        ask = wire.request_bytes(wire.IN_USE, TOKEN, {"function": "f"})
        answers = await asyncio.gather(peer.request(ask), peer.request(ask))
        assert [a[:2] for a in answers] == [(200, {"in_use": 0})] * 2  # two connections, now idle
        dying.set()
        server.close()  # no new connections; the idle ones still stand, as in a dying process
        with pytest.raises(ServiceError, match="stopped before answering"):
            await peer.request(ask)
        with pytest.raises(Unreachable):
            await peer.request(ask)
    finally:
        server.close()
        await server.wait_closed()
