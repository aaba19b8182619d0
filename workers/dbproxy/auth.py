"""Client side of PostgreSQL password authentication: MD5 and SCRAM-SHA-256 (RFC 5802 / 7677)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def md5_password(user: str, password: str, salt: bytes) -> bytes:
    """The reply to AuthenticationMD5Password: ``md5`` + md5(md5(password + user) + salt)."""
    inner = hashlib.md5((password + user).encode()).hexdigest().encode()
    return b"md5" + hashlib.md5(inner + salt).hexdigest().encode()


class ScramClient:
    """One SCRAM-SHA-256 exchange: ``first()``, ``final(server_first)``, ``verify(server_final)``."""

    def __init__(self, password: str, nonce: str | None = None, user: str = "") -> None:
        """PostgreSQL sends an empty user name (it takes the startup message's); RFC examples do not."""
        self._password = password
        self._nonce = nonce or base64.b64encode(secrets.token_bytes(18)).decode()
        self._bare = f"n={user},r={self._nonce}"
        self._server_signature = b""

    def first(self) -> bytes:
        return ("n,," + self._bare).encode()

    def final(self, server_first: bytes) -> bytes:
        fields = dict(item.split("=", 1) for item in server_first.decode().split(","))
        nonce, salt, iterations = fields["r"], base64.b64decode(fields["s"]), int(fields["i"])
        if not nonce.startswith(self._nonce):
            raise ValueError("SCRAM: the server's nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac("sha256", self._password.encode(), salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={nonce}"
        auth_message = f"{self._bare},{server_first.decode()},{without_proof}".encode()
        signature = hmac.digest(stored_key, auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        server_key = hmac.digest(salted, b"Server Key", "sha256")
        self._server_signature = hmac.digest(server_key, auth_message, "sha256")
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> None:
        fields = dict(item.split("=", 1) for item in server_final.decode().split(","))
        if "e" in fields:
            raise ValueError(f"SCRAM: the server refused: {fields['e']}")
        if not hmac.compare_digest(base64.b64decode(fields["v"]), self._server_signature):
            raise ValueError("SCRAM: the server's signature is wrong")
