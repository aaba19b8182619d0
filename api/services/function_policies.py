"""Functions' resource-based policies (Lambda's AddPermission, GetPolicy, RemovePermission).

Statements are built as Lambda builds them, stored, and returned; Stepline does not enforce them
(it has no principals to check them against). The function (and the version a qualifier names) must
exist; a statement id is unique per function and qualifier.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from foundation.registry import aliases
from foundation.registry import function_permissions as permissions
from foundation.registry import functions as registry
from statemachine import account_root_arn

__all__ = ["add_permission", "get_policy", "remove_permission", "statement"]


def _principal(principal: str) -> Any:
    if principal == "*":
        return "*"
    if re.fullmatch(r"\d{12}", principal):
        return {"AWS": account_root_arn(principal)}
    if principal.endswith(".amazonaws.com") or ("." in principal and not principal.startswith("arn:")):
        return {"Service": principal}
    return {"AWS": principal}


def statement(
    statement_id: str, action: str, principal: str, resource: str, conditions: dict[str, str | None]
) -> dict[str, Any]:
    """A policy statement as Lambda writes it; ``conditions`` are AddPermission's optional members."""
    condition: dict[str, dict[str, str]] = {}
    rules = {
        "SourceArn": ("ArnLike", "AWS:SourceArn"),
        "SourceAccount": ("StringEquals", "AWS:SourceAccount"),
        "PrincipalOrgID": ("StringEquals", "aws:PrincipalOrgID"),
        "EventSourceToken": ("StringEquals", "lambda:EventSourceToken"),
        "FunctionUrlAuthType": ("StringEquals", "lambda:FunctionUrlAuthType"),
    }
    for member, value in conditions.items():
        if value is not None and member in rules:
            operator, key = rules[member]
            condition.setdefault(operator, {})[key] = value
    doc: dict[str, Any] = {
        "Sid": statement_id, "Effect": "Allow", "Principal": _principal(principal), "Action": action,
        "Resource": resource,
    }  # fmt: skip
    if condition:
        doc["Condition"] = condition
    return doc


async def _check_target(session: AsyncSession, name: str, qualifier: str) -> registry.Function:
    function = await registry.get_function(session, name)
    if qualifier and qualifier != registry.LATEST:
        await aliases.resolve_targets(session, name, qualifier)  # FunctionNotFound: no such version or alias
    return function


async def add_permission(
    session: AsyncSession, name: str, qualifier: str, statement_doc: dict[str, Any]
) -> dict[str, Any]:
    """Store a statement (``StatementExists`` when its id is taken)."""
    await _check_target(session, name, qualifier)
    await permissions.add_statement(session, name, qualifier, statement_doc["Sid"], statement_doc)
    return statement_doc


async def get_policy(session: AsyncSession, name: str, qualifier: str) -> tuple[str, str] | None:
    """(the policy document as JSON text, the function's revision id), or None without statements."""
    function = await _check_target(session, name, qualifier)
    statements = await permissions.list_statements(session, name, qualifier)
    if not statements:
        return None
    policy = {"Version": "2012-10-17", "Id": "default", "Statement": statements}
    return json.dumps(policy, separators=(",", ":")), function.revision_id


async def remove_permission(session: AsyncSession, name: str, qualifier: str, statement_id: str) -> None:
    """Remove a statement (``StatementNotFound`` when there is none by that id)."""
    await _check_target(session, name, qualifier)
    await permissions.remove_statement(session, name, qualifier, statement_id)
