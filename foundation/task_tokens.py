"""Task tokens: what ``$$.Task.Token`` and GetActivityTask hand out, and SendTask* bring back.

A token names the Temporal workflow that waits (an execution, or a Map chunk of one) and the wait
within it (a sequence number, one per attempt of a Task), and carries a 144-bit secret drawn from the
operating system's entropy when the token was issued. Only the waiting workflow knows the secret of
its open waits; it compares in constant time and refuses anything else, so a token cannot be guessed
from another (each attempt has its own secret) nor forged for another execution. Nothing is stored:
the workflow's state (durable in Temporal) is the only record, and once a wait has ended the workflow
remembers its secret only to answer TaskTimedOut instead of TaskDoesNotExist.

Form: ``SLT1.<base64url of JSON [workflow id, sequence]>.<secret, base64url>``.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from typing import Final

from foundation.errors import InvalidRequest

PREFIX: Final = "SLT1."
MAX_LENGTH: Final = 2048
"""AWS's limit on a taskToken."""
SECRET_BYTES: Final = 18


class InvalidTaskToken(InvalidRequest):
    """A token Stepline did not issue (AWS's InvalidToken)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, [{"code": "InvalidToken", "message": detail, "location": "/taskToken"}])


@dataclass(frozen=True, slots=True)
class TaskToken:
    """What a token says."""

    workflow_id: str
    sequence: int
    secret: str

    def text(self) -> str:
        claims = json.dumps([self.workflow_id, self.sequence], separators=(",", ":")).encode()
        return f"{PREFIX}{base64.urlsafe_b64encode(claims).decode().rstrip('=')}.{self.secret}"

    @property
    def execution_id(self) -> str:
        """The execution it belongs to (a Map chunk's workflow id starts with its execution's)."""
        return self.workflow_id.split("/map/", 1)[0]


def new_secret() -> str:
    """A fresh secret from the operating system's entropy."""
    return secrets.token_urlsafe(SECRET_BYTES)


def parse(text: str) -> TaskToken:
    """The token's claims; ``InvalidTaskToken`` when it is not one of Stepline's."""
    if len(text) > MAX_LENGTH or not text.startswith(PREFIX):
        raise InvalidTaskToken("Invalid Token: the task token was not issued by this Stepline")
    try:
        claims_text, secret = text[len(PREFIX) :].split(".")
        padded = claims_text + "=" * (-len(claims_text) % 4)
        workflow_id, sequence = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, TypeError):
        raise InvalidTaskToken("Invalid Token: the task token is malformed") from None
    if not isinstance(workflow_id, str) or type(sequence) is not int or not workflow_id or not secret:
        raise InvalidTaskToken("Invalid Token: the task token is malformed")
    return TaskToken(workflow_id, sequence, secret)
