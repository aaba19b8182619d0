"""Function URLs served: ``/lambda-url/{url-id}/{path}`` on the API's own port, any method.

The URL's configuration says who may call (``NONE``: anyone; ``AWS_IAM``: what Stepline's own gate
admits, a bearer token or a SigV4 signature, ``api.aws.auth``) and its CORS rules (a preflight
``OPTIONS`` is answered without invoking the function). The request becomes Lambda's function-URL
event, the function's result the response (``api.services.function_url_events``). The token middleware
lets these paths through: each URL decides for itself.
"""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Request, Response

from api.aws.auth import Gate
from api.function_url_schemas import Cors
from api.routes.functions import runtime_of
from api.services import function_url_events as events
from api.services.function_url_events import UrlRequest, UrlResponse
from api.services.function_urls import PATH_PREFIX
from api.state import AppState
from foundation.errors import SteplineError
from foundation.registry import function_urls
from foundation.registry.access_keys import DEFAULT_ACCOUNT_ID
from foundation.registry.database import unit_of_work
from foundation.registry.functions import LATEST
from workers.functions.config import MAX_PAYLOAD_BYTES
from workers.functions.errors import InvokeError

router = APIRouter(tags=["function URLs"], include_in_schema=False)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _gate(request: Request, state: AppState) -> Gate:
    """Stepline's gate for ``AWS_IAM`` URLs (one per application)."""
    app_state = request.app.state
    if not hasattr(app_state, "function_url_gate"):
        token = state.settings.api.token
        secret = token.get_secret_value() if token is not None else None
        app_state.function_url_gate = Gate(state.settings, secret, lambda scope: state.sessions)
    gate: Gate = app_state.function_url_gate
    return gate


def _send(response: UrlResponse) -> Response:
    answer = Response(content=response.body, status_code=response.status)
    answer.headers.raw.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers)
    if not any(k == "content-type" for k, _ in response.headers):
        del answer.headers["content-type"]
    return answer


@router.api_route(PATH_PREFIX + "{url_id}", methods=METHODS)
@router.api_route(PATH_PREFIX + "{url_id}/{path:path}", methods=METHODS)
async def invoke_function_url(url_id: str, request: Request, path: str = "") -> Response:
    state: AppState = request.app.state.stepline
    async with unit_of_work(state.sessions) as session:
        url = await function_urls.url_by_id(session, url_id)
    if url is None:
        return _send(events.error(404, "Not Found"))
    headers = {k.lower(): v for k, v in request.headers.items()}
    cors = Cors.model_validate(url.cors) if url.cors is not None else None
    if cors is not None and request.method == "OPTIONS" and "access-control-request-method" in headers:
        return _send(events.preflight(cors, headers))
    receive = request.receive
    if url.auth_type == "AWS_IAM":
        receive, refused = await _gate(request, state).admit(request.scope, request.receive)
        if refused is not None:
            return _send(events.error(403, "Forbidden"))
    body = b""
    async for chunk in Request(request.scope, receive).stream():
        body += chunk
        if len(body) > MAX_PAYLOAD_BYTES:
            return _send(
                events.error(
                    413, "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
                )
            )
    client = request.client
    raw_path = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    own_path = "/" + raw_path.split("/", 3)[3] if raw_path.count("/") >= 3 else "/"
    url_request = UrlRequest(
        method=request.method, path=own_path.split("?", 1)[0],
        raw_query=request.scope["query_string"].decode("latin-1"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]],
        body=body, source_ip=client.host if client else "127.0.0.1",
        protocol=f"HTTP/{request.scope.get('http_version', '1.1')}",
    )  # fmt: skip
    request_id = str(uuid.uuid4())
    event = events.function_url_event(
        url_request, url_id, request_id, DEFAULT_ACCOUNT_ID, state.settings.region
    )
    payload = json.dumps(event, separators=(",", ":")).encode()
    qualifier = None if url.qualifier == LATEST else url.qualifier
    try:
        result = await runtime_of(state).invoke(url.function_name, payload, qualifier=qualifier)
    except InvokeError as exc:
        response = events.error(exc.status if exc.status < 500 else 502, exc.message)
    except SteplineError:  # the function is gone, or the runtime is not running here
        response = events.bad_gateway()
    else:
        response = events.bad_gateway() if result.function_error else events.url_response(result.payload)
    response.headers.append(("x-amzn-requestid", request_id))
    if cors is not None:
        response = events.with_cors(response, cors, headers.get("origin"))
    return _send(response)
