"""Checks every entry point runs before it opens a socket or starts anything: one place, one rule.

``stepline api``, ``stepline dev`` and ``stepline worker`` call these first, so a careless setting
is refused with the fix in the message rather than discovered by an attacker or by a 500 later.
"""

from __future__ import annotations

import ipaddress
import shutil

from foundation.errors import StartRefused
from foundation.settings import ApiSettings, SandboxSettings


class UnsafeStart(StartRefused):
    """A start that this machine or these settings cannot serve safely; the message says the fix."""


class UnsafeBind(UnsafeStart):
    """Listening beyond loopback without a token."""


class MissingSandbox(UnsafeStart):
    """No bubblewrap: every function invocation would fail."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(api: ApiSettings) -> None:
    """Refuse to listen beyond loopback without ``STEPLINE_API_TOKEN``."""
    if not is_loopback(api.host) and (api.token is None or not api.token.get_secret_value()):
        raise UnsafeBind(
            f"refusing to listen on {api.host} without a token: set STEPLINE_API_TOKEN "
            "(clients then send 'Authorization: Bearer <token>'), or listen on 127.0.0.1"
        )


def check_bwrap(sandbox: SandboxSettings) -> str:
    """The bubblewrap executable functions run in, found as ``Popen`` finds it (``PATH`` for a bare
    name), or ``MissingSandbox`` with the install command."""
    found = shutil.which(sandbox.bwrap_path)
    if found is None:
        raise MissingSandbox(
            f"bubblewrap ({sandbox.bwrap_path!r}) is not installed or not on PATH, and functions run in "
            "bubblewrap sandboxes. Install it: sudo apt-get install bubblewrap (Debian/Ubuntu), "
            "sudo dnf install bubblewrap (Fedora); or point STEPLINE_SANDBOX__BWRAP_PATH at it"
        )
    return found
