"""Routes for function URL configurations (thin): ``/v1/functions/{function}/url`` (``?qualifier=``
an alias) and ``/v1/functions/{function}/urls``. The URLs themselves: ``api.function_url_server``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from api import function_url_schemas as schemas
from api.deps import SessionDep, StateDep
from api.json_input import JsonRoute
from api.services import function_urls as use_cases

router = APIRouter(prefix="/v1/functions/{function}", tags=["functions"], route_class=JsonRoute)


@router.post("/url", status_code=status.HTTP_201_CREATED)
async def create_function_url(
    function: str, body: schemas.FunctionUrlIn, session: SessionDep, state: StateDep, request: Request,
    qualifier: str | None = None,
) -> schemas.FunctionUrlPublic:  # fmt: skip
    base = str(request.base_url)
    return await use_cases.create_url(session, function, qualifier, body, base, state.settings.region)


@router.get("/url")
async def get_function_url(
    function: str, session: SessionDep, state: StateDep, request: Request, qualifier: str | None = None
) -> schemas.FunctionUrlPublic:
    return await use_cases.get_url(session, function, qualifier, str(request.base_url), state.settings.region)


@router.patch("/url")
async def update_function_url(
    function: str, body: schemas.FunctionUrlIn, session: SessionDep, state: StateDep, request: Request,
    qualifier: str | None = None,
) -> schemas.FunctionUrlPublic:  # fmt: skip
    base = str(request.base_url)
    return await use_cases.update_url(session, function, qualifier, body, base, state.settings.region)


@router.delete("/url", status_code=status.HTTP_204_NO_CONTENT)
async def delete_function_url(function: str, session: SessionDep, qualifier: str | None = None) -> Response:
    await use_cases.delete_url(session, function, qualifier)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/urls")
async def list_function_urls(
    function: str, session: SessionDep, state: StateDep, request: Request
) -> schemas.FunctionUrlList:
    return await use_cases.list_urls(session, function, str(request.base_url), state.settings.region)
