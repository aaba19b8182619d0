"""Activity use cases: create, describe, list, delete, and GetActivityTask's long poll (both front doors).

A poll claims the oldest queued task of a running execution for the activity
(``registry.activities.claim_task``); when there is none it waits for the activity's notice (the
process's one listening connection, ``AppState.notices``), re-checking at least every
``RECHECK_SECONDS`` in case a notice was lost, until ``wait_seconds`` (60 on the AWS endpoint) have
passed. A claimed task is reported to its workflow as started (ActivityStarted, with the worker's
name) before the claim commits: one whose wait ended in between is dropped, and one whose workflow
could not be reached (no worker answered) stays queued for the next poll.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from api.pagination import decode_token, encode_token
from api.services import callbacks
from api.state import AppState
from foundation.errors import InvalidRequest
from foundation.registry import activities as registry
from foundation.registry import notices
from foundation.registry.activities import Activity
from foundation.registry.database import unit_of_work

MAX_WAIT_SECONDS = 60.0
AWS_WAIT_SECONDS = 55.0
"""GetActivityTask's long poll on the AWS endpoint: within AWS's 60 s, and short enough that an SDK
left at its default 60 s read timeout gets the empty answer rather than a timeout."""
RECHECK_SECONDS = 5.0
_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


@dataclass(frozen=True)
class ActivityTask:
    """What GetActivityTask hands a worker (None fields: no task within the wait)."""

    token: str | None = None
    input: str | None = None


def check_name(name: str) -> str:
    """AWS's rule for activity names (letters, digits, ``-`` and ``_``, 1 to 80); InvalidName otherwise."""
    if _NAME.fullmatch(name) is None:
        message = f"Invalid Name: '{name}'"
        raise InvalidRequest(message, [{"code": "InvalidName", "message": message, "location": "/name"}])
    return name


async def create(state: AppState, name: str) -> Activity:
    check_name(name)
    async with unit_of_work(state.sessions) as session:
        return await registry.create_activity(session, name, datetime.now(UTC))


async def describe(state: AppState, name: str) -> Activity:
    async with unit_of_work(state.sessions) as session:
        return await registry.get_activity(session, name)


async def delete(state: AppState, name: str) -> None:
    async with unit_of_work(state.sessions) as session:
        await registry.delete_activity(session, name)


async def page(state: AppState, limit: int, next_token: str | None) -> tuple[list[Activity], str | None]:
    """Activities by name, and the token of the next page."""
    after = str(decode_token("activities", next_token)["after"]) if next_token else None
    async with unit_of_work(state.sessions) as session:
        rows = await registry.list_activities(session, limit + 1, after)
    token = encode_token("activities", {"after": rows[limit - 1].name}) if len(rows) > limit else None
    return rows[:limit], token


async def get_task(
    state: AppState, name: str, worker_name: str | None, wait_seconds: float = MAX_WAIT_SECONDS
) -> ActivityTask:
    """The next task of activity ``name`` within ``wait_seconds``; ActivityNotFound without the activity."""
    await describe(state, name)
    async with state.notices.subscribe(notices.ACTIVITY_TASK_CHANNEL, name) as subscription:
        deadline = time.monotonic() + min(wait_seconds, MAX_WAIT_SECONDS)
        while True:
            async with unit_of_work(state.sessions) as session:  # the claim commits once reported
                claimed = await registry.claim_task(session, name)
                if claimed is not None and await callbacks.report_started(
                    state, claimed.token, worker_name or ""
                ):
                    return ActivityTask(claimed.token, claimed.input)
            if claimed is not None:
                continue  # its wait had ended: the claim removed it
            left = deadline - time.monotonic()
            if left <= 0:
                return ActivityTask()
            await subscription.wait(min(left, RECHECK_SECONDS))
