"""AWS Signature Version 4, verified on the server side.

The canonical request is rebuilt from the request as it came off the wire: the RAW path (botocore
and the other SDKs sign ``quote(remove_dot_segments(path), safe="/~")`` of the path they sent, so an
already percent-encoded Lambda path is encoded twice), the query re-encoded with AWS's rules and
sorted, the signed headers trimmed, and the SHA-256 of the raw body. Pure functions only: looking up
the secret and deciding policy is ``api.aws.auth``'s job.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote_to_bytes

from api.aws.errors import AwsError

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_SKEW = timedelta(minutes=15)
_TIMESTAMP = "%Y%m%dT%H%M%SZ"
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class SignatureError(AwsError):
    """A request whose signature is missing, malformed or wrong (403); ``code`` is AWS's error code.

    Messages never say which part failed to match (that would help a guesser), as AWS's do not.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, 403)


MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)


UNRECOGNIZED = "The security token included in the request is invalid."


def _incomplete(message: str) -> SignatureError:
    return SignatureError("IncompleteSignatureException", message)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a signature covers, as received (header names lower case, as ASGI gives them)."""

    method: str
    raw_path: bytes
    query_string: bytes
    headers: Sequence[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> str | None:
        values = [v.decode("latin-1") for k, v in self.headers if k == name]
        return ",".join(values) if values else None


@dataclass(frozen=True, slots=True)
class Credential:
    """The parsed ``Authorization`` header."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def parse_authorization(value: str) -> Credential:
    """Parse ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``."""
    found = _AUTHORIZATION.match(value)
    if found is None:
        raise _incomplete("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.")
    parts = found["credential"].split("/")
    if (
        len(parts) != 5
        or parts[4] != "aws4_request"
        or not all(parts)
        or not re.fullmatch(r"\d{8}", parts[1])
    ):
        raise _incomplete("Credential should be scoped to a valid date, region, service and 'aws4_request'.")
    signed = tuple(found["signed"].split(";"))
    if "host" not in signed or any(not h or h != h.lower() for h in signed):
        raise _incomplete("SignedHeaders must be lower case, separated by ';', and include 'host'.")
    return Credential(parts[0], parts[1], parts[2], parts[3], signed, found["signature"])


def request_time(request: SignedRequest) -> datetime:
    """The signing time: ``X-Amz-Date`` (basic ISO 8601), else ``Date`` (RFC 1123)."""
    amz = request.header(b"x-amz-date")
    try:
        if amz is not None:
            return datetime.strptime(amz.strip(), _TIMESTAMP).replace(tzinfo=UTC)
        date = request.header(b"date")
        if date is not None:
            return parsedate_to_datetime(date).astimezone(UTC)
    except (ValueError, TypeError):
        raise _incomplete(
            "Date must be in ISO-8601 'basic format' (X-Amz-Date) or RFC 1123 (Date)."
        ) from None
    raise _incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")


def remove_dot_segments(path: bytes) -> bytes:
    """RFC 3986 5.2.4, plus collapsing empty segments (what botocore's ``normalize_url_path`` does)."""
    if not path:
        return b"/"
    out: list[bytes] = []
    for segment in path.split(b"/"):
        if segment in (b"", b"."):
            continue
        if segment == b"..":
            if out:
                out.pop()
        else:
            out.append(segment)
    first = b"/" if path.startswith(b"/") else b""
    last = b"/" if path.endswith(b"/") and out else b""
    return first + b"/".join(out) + last


def canonical_uri(raw_path: bytes) -> str:
    """The path as sent, dot segments removed, percent-encoded once more (AWS's non-S3 rule)."""
    return quote(remove_dot_segments(raw_path.split(b"?", 1)[0]), safe="/~")


def canonical_query(query_string: bytes) -> str:
    """Each ``name=value`` decoded then encoded with AWS's unreserved set, sorted by name then value."""
    pairs: list[tuple[str, str]] = []
    for part in query_string.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        pairs.append(
            (quote(unquote_to_bytes(name), safe="-_.~"), quote(unquote_to_bytes(value), safe="-_.~"))
        )
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_headers(request: SignedRequest, signed: Sequence[str]) -> str:
    lines = []
    for name in signed:
        values = [v.decode("latin-1") for k, v in request.headers if k.decode("latin-1").lower() == name]
        lines.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}\n")
    return "".join(lines)


def payload_hash(request: SignedRequest, allow_unsigned: bool) -> str:
    """``x-amz-content-sha256`` when given (checked against the body), else the body's SHA-256."""
    declared = request.header(b"x-amz-content-sha256")
    if declared is None:
        return hashlib.sha256(request.body).hexdigest()
    declared = declared.strip()
    if declared == UNSIGNED_PAYLOAD and allow_unsigned:
        return declared
    if _SHA256_HEX.match(declared) and hmac.compare_digest(
        declared, hashlib.sha256(request.body).hexdigest()
    ):
        return declared
    raise SignatureError("InvalidSignatureException", MISMATCH)


def canonical_request(request: SignedRequest, signed: Sequence[str], body_hash: str) -> str:
    return "\n".join(
        (
            request.method.upper(),
            canonical_uri(request.raw_path),
            canonical_query(request.query_string),
            canonical_headers(request, signed),
            ";".join(signed),
            body_hash,
        )
    )


def string_to_sign(timestamp: datetime, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp.strftime(_TIMESTAMP)}\n{scope}\n{digest}"


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def sign(secret: str, credential: Credential, sts: str) -> str:
    key = signing_key(secret, credential.date, credential.region, credential.service)
    return hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()


def check_time(timestamp: datetime, credential: Credential, now: datetime) -> None:
    """The scope's date is the request's, and the request is within ``MAX_SKEW`` of ``now``."""
    if timestamp.strftime("%Y%m%d") != credential.date:
        raise SignatureError("InvalidSignatureException", "Credential should be scoped to a valid date.")
    if timestamp < now - MAX_SKEW:
        raise SignatureError("InvalidSignatureException", "Signature expired: the request time is too old.")
    if timestamp > now + MAX_SKEW:
        raise SignatureError(
            "InvalidSignatureException", "Signature not yet current: the request time is too far ahead."
        )


def credential_of(request: SignedRequest) -> Credential:
    """The request's parsed ``Authorization`` header (``MissingAuthenticationTokenException`` without one)."""
    authorization = request.header(b"authorization")
    if authorization is None:
        raise SignatureError("MissingAuthenticationTokenException", "Missing Authentication Token")
    return parse_authorization(authorization)


def verify(
    request: SignedRequest, credential: Credential, secret: str | None, *, now: datetime | None = None,
    allow_unsigned_payload: bool = False,
) -> None:  # fmt: skip
    """Check the request's signature against ``secret`` (None: the key is unknown or revoked).

    Raises ``SignatureError``. A declared ``x-amz-content-sha256`` must be the body's (or, where
    allowed, ``UNSIGNED-PAYLOAD``), so a changed body never passes on an unchanged signature.
    """
    timestamp = request_time(request)
    check_time(timestamp, credential, now or datetime.now(UTC))
    if secret is None:
        raise SignatureError("UnrecognizedClientException", UNRECOGNIZED)
    body_hash = payload_hash(request, allow_unsigned_payload)
    canonical = canonical_request(request, credential.signed_headers, body_hash)
    expected = sign(secret, credential, string_to_sign(timestamp, credential.scope, canonical))
    if not hmac.compare_digest(expected.encode(), credential.signature.encode()):
        raise SignatureError("InvalidSignatureException", MISMATCH)
