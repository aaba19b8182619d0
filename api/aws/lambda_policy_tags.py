"""Lambda's tag and resource-policy operations: tags in the shared ``resource_tag`` table (keyed by the
function's unqualified ARN, AWS's limits in ``foundation.registry.tags``), policies through
``api.services.function_policies`` (stored and returned, not enforced)."""

from __future__ import annotations

import json
from typing import Any

from api.aws.errors import AwsError
from api.aws.lambda_call import Call, Operation, Output, check_revision
from api.aws.lambda_config import function_ref
from api.services import function_policies as policies
from foundation.registry import functions as registry
from foundation.registry import tags
from statemachine import function_arn

_POLICY_NOT_FOUND = "The resource you requested does not exist."


async def _tagged_function(call: Call, session: Any, resource: str) -> str:
    """The unqualified ARN tags of ``resource`` live under (its function must exist)."""
    if not resource.startswith("arn:"):
        raise AwsError(
            "InvalidParameterValueException", f"Tags are set on a function ARN, not {resource[:256]!r}."
        )
    name, qualifier = function_ref(resource)
    if qualifier is not None:
        raise AwsError(
            "InvalidParameterValueException", "Tags apply to a function, not to one of its versions."
        )
    await registry.get_function(session, name)
    return function_arn(name, region=call.region)


async def tag_resource(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        arn = await _tagged_function(call, session, params["Resource"])
        await tags.tag_resource(session, arn, params["Tags"])
    return None


async def untag_resource(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        arn = await _tagged_function(call, session, params["Resource"])
        await tags.untag_resource(session, arn, params["TagKeys"])
    return None


async def list_tags(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        arn = await _tagged_function(call, session, params["Resource"])
        return {"Tags": await tags.list_tags(session, arn)}


async def add_permission(call: Call, params: dict[str, Any]) -> Output:
    name, qualifier = function_ref(params["FunctionName"], params.get("Qualifier"))
    conditions = {
        k: params.get(k)
        for k in ("SourceArn", "SourceAccount", "PrincipalOrgID", "EventSourceToken", "FunctionUrlAuthType")
    }
    resource = function_arn(name, qualifier, call.region)
    doc = policies.statement(
        params["StatementId"], params["Action"], params["Principal"], resource, conditions
    )
    async with call.session() as session:
        check_revision(
            (await registry.get_function(session, name)).revision_id, params.get("RevisionId"), "GetPolicy"
        )
        await policies.add_permission(session, name, qualifier or "", doc)
    return {"Statement": json.dumps(doc, separators=(",", ":"))}


async def get_policy(call: Call, params: dict[str, Any]) -> Output:
    name, qualifier = function_ref(params["FunctionName"], params.get("Qualifier"))
    async with call.session() as session:
        found = await policies.get_policy(session, name, qualifier or "")
    if found is None:
        raise AwsError("ResourceNotFoundException", _POLICY_NOT_FOUND, 404)
    return {"Policy": found[0], "RevisionId": found[1]}


async def remove_permission(call: Call, params: dict[str, Any]) -> Output:
    name, qualifier = function_ref(params["FunctionName"], params.get("Qualifier"))
    async with call.session() as session:
        check_revision(
            (await registry.get_function(session, name)).revision_id, params.get("RevisionId"), "GetPolicy"
        )
        await policies.remove_permission(session, name, qualifier or "", params["StatementId"])
    return None


OPERATIONS: dict[str, Operation] = {
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTags": list_tags,
    "AddPermission": add_permission,
    "GetPolicy": get_policy,
    "RemovePermission": remove_permission,
}
