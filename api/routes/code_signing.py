"""Routes for code signing (thin): signing profiles (AWS Signer's, exposed on ``/v1`` only),
code-signing configurations (by id or ARN), and the configuration a function names."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api import signing_schemas as schemas
from api.deps import SessionDep, StateDep
from api.json_input import JsonRoute
from api.services import code_signing as use_cases

router = APIRouter(prefix="/v1", tags=["code signing"], route_class=JsonRoute)


@router.post("/signing-profiles", status_code=status.HTTP_201_CREATED)
async def create_signing_profile(
    body: schemas.SigningProfileCreate, session: SessionDep, state: StateDep
) -> schemas.SigningProfilePublic:
    return await use_cases.create_profile(session, body, state.settings.region)


@router.get("/signing-profiles")
async def list_signing_profiles(session: SessionDep, state: StateDep) -> schemas.SigningProfileList:
    return await use_cases.list_profiles(session, state.settings.region)


@router.get("/signing-profiles/{name}")
async def get_signing_profile(
    name: str, session: SessionDep, state: StateDep
) -> schemas.SigningProfilePublic:
    return await use_cases.get_profile(session, name, state.settings.region)


@router.post("/signing-profiles/{name}/revoke")
async def revoke_signing_profile(
    name: str, session: SessionDep, state: StateDep
) -> schemas.SigningProfilePublic:
    return await use_cases.revoke_profile(session, name, state.settings.region)


@router.post("/code-signing-configs", status_code=status.HTTP_201_CREATED)
async def create_code_signing_config(
    body: schemas.CodeSigningConfigCreate, session: SessionDep, state: StateDep
) -> schemas.CodeSigningConfigPublic:
    return await use_cases.create_config(session, body, state.settings.region)


@router.get("/code-signing-configs")
async def list_code_signing_configs(session: SessionDep, state: StateDep) -> schemas.CodeSigningConfigList:
    return await use_cases.list_configs(session, state.settings.region)


@router.get("/code-signing-configs/{ref}")
async def get_code_signing_config(
    ref: str, session: SessionDep, state: StateDep
) -> schemas.CodeSigningConfigPublic:
    return await use_cases.get_config(session, ref, state.settings.region)


@router.put("/code-signing-configs/{ref}")
async def update_code_signing_config(
    ref: str, body: schemas.CodeSigningConfigUpdate, session: SessionDep, state: StateDep
) -> schemas.CodeSigningConfigPublic:
    return await use_cases.update_config(session, ref, body, state.settings.region)


@router.delete("/code-signing-configs/{ref}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_code_signing_config(ref: str, session: SessionDep) -> Response:
    """409 while a function names it."""
    await use_cases.delete_config(session, ref)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/functions/{name}/code-signing-config")
async def put_function_code_signing_config(
    name: str, body: schemas.FunctionCodeSigning, session: SessionDep, state: StateDep
) -> schemas.FunctionCodeSigning:
    """New code of the function must satisfy the configuration (its deployed code is not rechecked)."""
    config_id = await use_cases.set_function_config(session, name, body.code_signing_config_arn)
    assert config_id is not None
    return schemas.FunctionCodeSigning(
        code_signing_config_arn=use_cases.config_arn(config_id, state.settings.region)
    )


@router.get("/functions/{name}/code-signing-config")
async def get_function_code_signing_config(
    name: str, session: SessionDep, state: StateDep
) -> schemas.FunctionCodeSigning | None:
    """The configuration the function's new code must satisfy (null: none)."""
    config_id = await use_cases.function_config(session, name)
    if config_id is None:
        return None
    return schemas.FunctionCodeSigning(
        code_signing_config_arn=use_cases.config_arn(config_id, state.settings.region)
    )


@router.delete("/functions/{name}/code-signing-config", status_code=status.HTTP_204_NO_CONTENT)
async def delete_function_code_signing_config(name: str, session: SessionDep) -> Response:
    await use_cases.set_function_config(session, name, None)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
