"""The embedded Temporal dev server: started again when it exits before listening."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from shell import embedded


def flaky_binary(tmp_path: Path, failures: int) -> Path:
    """A ``temporal`` whose first ``failures`` server starts exit with 1; the real one otherwise."""
    counter = tmp_path / "starts"
    script = tmp_path / "temporal"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = server ]; then\n'
        f"  n=$(cat {counter} 2>/dev/null || echo 0); echo $((n + 1)) > {counter}\n"
        f'  [ "$n" -lt {failures} ] && exit 1\n'
        "fi\n"
        f'exec {embedded.temporal_binary()} "$@"\n'
    )
    script.chmod(0o755)
    return script


def test_a_server_that_exits_before_listening_is_started_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = flaky_binary(tmp_path, failures=embedded.START_ATTEMPTS - 1)
    monkeypatch.setattr(embedded, "temporal_binary", lambda: str(script))
    with embedded.temporal_dev_server() as address:
        host, port = address.split(":")
        socket.create_connection((host, int(port)), timeout=5).close()
    assert (tmp_path / "starts").read_text().strip() == str(embedded.START_ATTEMPTS)


def test_it_gives_up_after_the_last_attempt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = flaky_binary(tmp_path, failures=embedded.START_ATTEMPTS)
    monkeypatch.setattr(embedded, "temporal_binary", lambda: str(script))
    with pytest.raises(embedded.ServerExited), embedded.temporal_dev_server():
        pass
    assert (tmp_path / "starts").read_text().strip() == str(embedded.START_ATTEMPTS)
