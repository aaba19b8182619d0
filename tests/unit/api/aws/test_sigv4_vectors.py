"""The AWS SigV4 test suite (as data in ``sigv4_vectors/``) verifies through ``api.aws.sigv4``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.aws import sigv4

VECTORS = Path(__file__).parent / "sigv4_vectors"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SIGNED_AT = {
    "suite-2011": datetime(2011, 9, 9, 23, 36, tzinfo=UTC),
    "suite-2015": datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
}
CASES = sorted(p.with_suffix("") for p in VECTORS.glob("*/*.req"))


def parse(raw: str, authorization: str) -> sigv4.SignedRequest:
    """A raw HTTP/1.1 request as an ASGI server hands it over (bytes, lower-case header names)."""
    head, _, body = raw.partition("\n\n")
    request_line, *header_lines = head.split("\n")
    method, target = request_line.rsplit(" ", 1)[0].split(" ", 1)
    path, _, query = target.partition("?")
    headers = [
        (n.strip().lower().encode(), v.encode()) for n, _, v in (h.partition(":") for h in header_lines)
    ]
    headers.append((b"authorization", authorization.encode()))
    return sigv4.SignedRequest(method, path.encode(), query.encode(), headers, body.encode())


def load(case: Path) -> tuple[sigv4.SignedRequest, sigv4.Credential, datetime]:
    authorization = case.with_suffix(".authz").read_text().strip()
    request = parse(case.with_suffix(".req").read_text(), authorization)
    return request, sigv4.credential_of(request), SIGNED_AT[case.parent.name]


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_vector_verifies(case: Path) -> None:
    request, credential, now = load(case)
    sigv4.verify(request, credential, SECRET, now=now)


@pytest.mark.parametrize("case", [c for c in CASES if c.with_suffix(".creq").exists()], ids=lambda p: p.name)
def test_vector_canonical_request_and_string_to_sign(case: Path) -> None:
    request, credential, _ = load(case)
    canonical = sigv4.canonical_request(
        request, credential.signed_headers, sigv4.payload_hash(request, False)
    )
    assert canonical == case.with_suffix(".creq").read_text()
    sts = sigv4.string_to_sign(sigv4.request_time(request), credential.scope, canonical)
    assert sts == case.with_suffix(".sts").read_text()


@pytest.mark.parametrize("case", CASES[:: max(1, len(CASES) // 8)], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_vector_with_another_secret_is_refused(case: Path) -> None:
    request, credential, now = load(case)
    with pytest.raises(sigv4.SignatureError) as refused:
        sigv4.verify(request, credential, SECRET[:-1] + "X", now=now)
    assert refused.value.code == "InvalidSignatureException"


def test_the_suite_is_all_there() -> None:
    assert len(CASES) >= 45
