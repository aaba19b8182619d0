"""A deployment being prepared reads as Lambda's Pending (created) or InProgress (updated), and only
until it is prepared or its time is up: a process that died meanwhile leaves nothing pending."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.aws.lambda_config import configuration
from api.services.functions import public
from foundation.registry import functions as registry


def row(**fields: Any) -> registry.Function:
    now = registry.utcnow()
    return registry.Function(
        name="f", runtime="", handler="", package_type="Image", code_sha256="a" * 64, code_size=1,
        revision_id="r1", created_at=now, last_modified=now, **fields,
    )  # fmt: skip


def states(function: registry.Function) -> dict[str, Any]:
    config = configuration(public(function), "us-east-1")
    return {k: v for k, v in config.items() if k.startswith(("State", "LastUpdateStatus"))}


def test_a_created_image_function_is_pending_until_prepared() -> None:
    function = row()
    registry.mark_pending(function, "Creating", 30)
    assert states(function) == {
        "State": "Pending", "StateReason": "The function is being created.", "StateReasonCode": "Creating",
        "LastUpdateStatus": "InProgress", "LastUpdateStatusReason": "The function is being created.",
    }  # fmt: skip


def test_an_updated_one_stays_active_with_its_update_in_progress() -> None:
    function = row()
    registry.mark_pending(function, "Updating", 30)
    assert states(function) == {
        "State": "Active", "LastUpdateStatus": "InProgress",
        "LastUpdateStatusReason": "The function is being updated.",
    }  # fmt: skip


def test_a_pending_state_whose_time_is_up_reads_as_active() -> None:
    function = row(pending="Creating", pending_until=registry.utcnow() - timedelta(seconds=1))
    assert registry.pending_now(function) is None
    assert states(function) == {"State": "Active", "LastUpdateStatus": "Successful"}
