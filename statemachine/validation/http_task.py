"""The HTTP Task's own rule: ``arn:aws:states:::http:invoke`` authenticates through an EventBridge
connection, so its Parameters (JSONPath) or Arguments (JSONata) must name
``Authentication.ConnectionArn``, as Step Functions' validator requires."""

from __future__ import annotations

from typing import Any, Final

from statemachine.validation.values import Report, at

HTTP_INVOKE: Final = "arn:aws:states:::http:invoke"


def check_http_task(report: Report, state: dict[str, Any], location: str, language: str) -> None:
    """Diagnostics at the payload field (or its ``Authentication``) when the connection is missing."""
    if state.get("Resource") != HTTP_INVOKE:
        return
    field = "Arguments" if language == "JSONata" else "Parameters"
    payload = state.get(field)
    if payload is None:
        report.schema(f"These fields are required: [{field}] for {HTTP_INVOKE}", location)
        return
    if not isinstance(payload, dict):
        return  # a JSONata expression: what it evaluates to is checked when the Task runs
    if _given(payload, "Authentication", language):
        auth = payload.get("Authentication")
        if isinstance(auth, dict) and not _given(auth, "ConnectionArn", language):
            report.schema(
                "The field 'ConnectionArn' is required but was missing",
                at(location, field, "Authentication"),
            )
        return
    report.schema(
        f"The field 'Authentication' (with ConnectionArn) is required by {HTTP_INVOKE} but was missing",
        at(location, field),
    )


def _given(payload: dict[str, Any], key: str, language: str) -> bool:
    """The key, or in JSONPath its dynamic form ``key.$``."""
    return key in payload or (language != "JSONata" and f"{key}.$" in payload)
