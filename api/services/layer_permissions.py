"""Layer version policies: the statements that grant other accounts ``lambda:GetLayerVersion`` on a
layer version (Lambda's AddLayerVersionPermission, GetLayerVersionPolicy,
RemoveLayerVersionPermission), with Lambda's statement and policy document shapes.

Kept and shown, not enforced: Stepline serves one account.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from api import layer_schemas as schemas
from foundation.errors import InvalidRequest, LimitExceeded
from foundation.registry import layer_permissions as registry
from foundation.registry.layers import get_version
from statemachine import account_root_arn, layer_arn

ACTION = "lambda:GetLayerVersion"
STATEMENT_ID = re.compile(r"[a-zA-Z0-9_-]{1,100}")
PRINCIPAL = re.compile(r"\d{12}|\*|arn:aws[a-zA-Z-]*:iam::\d{12}:root")
ORGANIZATION_ID = re.compile(r"o-[a-z0-9]{10,32}")
MAX_POLICY_BYTES = 20480
"""Lambda's limit on a resource-based policy."""


def _invalid(location: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        message, [{"location": location, "message": message, "code": "InvalidParameterValueException"}]
    )


def statement(body: schemas.LayerPermissionAdd, resource: str) -> dict[str, Any]:
    """One statement as Lambda writes it: an account's principal as its root ARN, ``*`` as is, an
    organization as an ``aws:PrincipalOrgID`` condition."""
    if not STATEMENT_ID.fullmatch(body.statement_id):
        raise _invalid("/statementId", f"StatementId {body.statement_id[:120]!r} must match [a-zA-Z0-9-_]+")
    if body.action != ACTION:
        raise _invalid("/action", f"Action {body.action[:50]!r} is not supported: layers grant only {ACTION}")
    if not PRINCIPAL.fullmatch(body.principal):
        raise _invalid(
            "/principal",
            f"Principal {body.principal[:120]!r} must be an account id, an account's root ARN or '*'",
        )
    if body.organization_id is not None and not ORGANIZATION_ID.fullmatch(body.organization_id):
        raise _invalid(
            "/organizationId", f"OrganizationId {body.organization_id[:50]!r} must match o-[a-z0-9]{{10,32}}"
        )
    principal: Any = body.principal
    if body.principal.isdigit():
        principal = {"AWS": account_root_arn(body.principal)}
    elif body.principal != "*":
        principal = {"AWS": body.principal}
    doc: dict[str, Any] = {
        "Sid": body.statement_id, "Effect": "Allow", "Principal": principal, "Action": ACTION,
        "Resource": resource,
    }  # fmt: skip
    if body.organization_id is not None:
        doc["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": body.organization_id}}
    return doc


def _policy(statements: list[dict[str, Any]]) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Id": "default", "Statement": statements}, separators=(",", ":")
    )


async def add_permission(
    session: AsyncSession, name: str, version: int, body: schemas.LayerPermissionAdd, region: str
) -> schemas.LayerPermissionAdded:
    doc = statement(body, layer_arn(name, version, region))
    await get_version(session, name, version)  # (LayerVersionNotFound first)
    size = len(_policy([*await registry.statements(session, name, version), doc]))
    if size > MAX_POLICY_BYTES:
        message = f"The final policy size ({size}) is bigger than the limit ({MAX_POLICY_BYTES})."
        raise LimitExceeded(
            message, [{"location": "/", "message": message, "code": "PolicyLengthExceededException"}]
        )
    revision = await registry.add_statement(session, name, version, doc, body.revision_id)
    return schemas.LayerPermissionAdded(
        statement=json.dumps(doc, separators=(",", ":")), revision_id=revision
    )


async def get_policy(session: AsyncSession, name: str, version: int) -> schemas.LayerPolicy:
    """The version's policy document (``LayerPolicyNotFound`` without statements)."""
    row = await get_version(session, name, version)
    statements = await registry.statements(session, name, version)
    if not statements or row.policy_revision_id is None:
        raise registry.LayerPolicyNotFound
    return schemas.LayerPolicy(policy=_policy(statements), revision_id=row.policy_revision_id)


async def remove_permission(
    session: AsyncSession, name: str, version: int, statement_id: str, revision_id: str | None
) -> None:
    await registry.remove_statement(session, name, version, statement_id, revision_id)
