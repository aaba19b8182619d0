"""Server-side SigV4 verification against requests signed by botocore, and tampered copies of them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from api.aws import sigv4

KEY_ID, SECRET = "AKIAEXAMPLEEXAMPLE12", "s3cr3t/EXAMPLE+key0123456789abcdefghijkl"
URL = "http://127.0.0.1:8000/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af/invocations"


def botocore_signed(
    url: str = URL, body: bytes = b'{"a": 1}', headers: dict[str, str] | None = None, service: str = "lambda"
) -> sigv4.SignedRequest:
    """A request signed by botocore, as an ASGI server would receive it."""
    request = AWSRequest(method="POST", url=url, data=body, headers=headers or {})
    SigV4Auth(Credentials(KEY_ID, SECRET), service, "us-east-1").add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    wire_headers = [
        (k.lower().encode(), v.encode() if isinstance(v, str) else v) for k, v in prepared.headers.items()
    ]
    wire_headers.append((b"host", parts.netloc.encode()))
    return sigv4.SignedRequest(
        "POST", parts.path.encode(), parts.query.encode(), wire_headers, prepared.body or b""
    )


def check(request: sigv4.SignedRequest, secret: str | None = SECRET, now: datetime | None = None) -> None:
    sigv4.verify(request, sigv4.credential_of(request), secret, now=now)


def refused_code(request: sigv4.SignedRequest, **kwargs: object) -> str:
    with pytest.raises(sigv4.SignatureError) as refused:
        check(request, **kwargs)  # type: ignore[arg-type]
    return refused.value.code


def replace_header(request: sigv4.SignedRequest, name: bytes, value: bytes) -> sigv4.SignedRequest:
    headers = [(k, value if k == name else v) for k, v in request.headers]
    return dataclasses.replace(request, headers=headers)


def test_botocore_signatures_verify() -> None:
    check(botocore_signed())
    check(botocore_signed(url=URL + "?Qualifier=%24LATEST&b=x%20y", body=b""))
    check(
        botocore_signed(
            url="http://localhost:8000/",
            service="states",
            headers={"X-Amz-Target": "AWSStepFunctions.ListStateMachines"},
        )
    )


def test_the_double_encoded_path_is_what_botocore_signs() -> None:
    request = botocore_signed()
    assert sigv4.canonical_uri(request.raw_path).startswith("/2015-03-31/functions/arn%253Aaws%253A")


def test_a_tampered_body_is_refused() -> None:
    assert (
        refused_code(dataclasses.replace(botocore_signed(), body=b'{"a": 2}')) == "InvalidSignatureException"
    )


def test_a_tampered_path_or_query_is_refused() -> None:
    request = botocore_signed(url=URL + "?Qualifier=1")
    other_function = request.raw_path.replace(b"function%3Af/", b"function%3Ag/")
    assert refused_code(dataclasses.replace(request, raw_path=other_function)) == "InvalidSignatureException"
    assert (
        refused_code(dataclasses.replace(request, query_string=b"Qualifier=2")) == "InvalidSignatureException"
    )


def test_a_tampered_signed_header_is_refused() -> None:
    request = botocore_signed(headers={"X-Amz-Invocation-Type": "RequestResponse"})
    tampered = replace_header(request, b"x-amz-invocation-type", b"Event")
    assert refused_code(tampered) == "InvalidSignatureException"


def test_a_tampered_date_is_refused() -> None:
    request = botocore_signed()
    signed_at = datetime.strptime(request.header(b"x-amz-date") or "", "%Y%m%dT%H%M%SZ")
    later = (signed_at + timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ").encode()
    assert refused_code(replace_header(request, b"x-amz-date", later)) == "InvalidSignatureException"


def test_a_declared_payload_hash_must_be_the_bodys() -> None:
    request = botocore_signed(body=b"payload")
    lying = dataclasses.replace(
        request, headers=[*request.headers, (b"x-amz-content-sha256", b"UNSIGNED-PAYLOAD")], body=b"other"
    )
    assert refused_code(lying) == "InvalidSignatureException"


def test_more_than_15_minutes_of_skew_is_refused() -> None:
    request = botocore_signed()
    now = datetime.now(UTC)
    check(request, now=now + timedelta(minutes=14))
    assert refused_code(request, now=now + timedelta(minutes=16)) == "InvalidSignatureException"
    assert refused_code(request, now=now - timedelta(minutes=16)) == "InvalidSignatureException"


def test_an_unknown_key_and_a_wrong_secret_say_nothing_more() -> None:
    request = botocore_signed()
    with pytest.raises(sigv4.SignatureError) as unknown:
        check(request, secret=None)
    assert unknown.value.code == "UnrecognizedClientException"
    with pytest.raises(sigv4.SignatureError) as wrong:
        check(request, secret=SECRET[:-1] + "X")
    assert wrong.value.code == "InvalidSignatureException"
    assert "canonical" not in wrong.value.message.lower() and SECRET[:8] not in wrong.value.message


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/lambda, SignedHeaders=host, Signature="
        + "0" * 64,
        "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/lambda/aws4_request, SignedHeaders=x-amz-date, "
        "Signature=" + "0" * 64,
        "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host",
        "Bearer abc",
    ],
)
def test_malformed_authorization_is_incomplete(authorization: str) -> None:
    with pytest.raises(sigv4.SignatureError) as refused:
        sigv4.parse_authorization(authorization)
    assert refused.value.code == "IncompleteSignatureException"


def test_no_authorization_is_a_missing_token() -> None:
    request = sigv4.SignedRequest("GET", b"/", b"", [(b"host", b"x")], b"")
    with pytest.raises(sigv4.SignatureError) as refused:
        sigv4.credential_of(request)
    assert refused.value.code == "MissingAuthenticationTokenException"
