"""What an ImageUri names: repository and tag or digest, behind any registry host (ECR's included)."""

from __future__ import annotations

import pytest

from api.services.images import parse_reference

DIGEST = "sha256:" + "ab" * 32
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
CASES = {
    "ecr-tag": ("123456789012.dkr.ecr.us-east-1.amazonaws.com/hello:v1", ("hello", "v1", None)),
    "ecr-digest": (
        f"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app@{DIGEST}",
        ("team/app", None, DIGEST),
    ),
    "bare-latest": ("hello", ("hello", "latest", None)),
    "nested-path": ("team/app:1.0", ("team/app", "1.0", None)),
    "docker-hub-library": ("docker.io/library/hello:v1", ("hello", "v1", None)),
    "host-with-port": ("localhost:5000/app:x", ("app", "x", None)),
    "tag-and-digest": (f"app:x@{DIGEST}", ("app", "x", DIGEST)),
}


@pytest.mark.parametrize("reference, expected", CASES.values(), ids=CASES.keys())
def test_references_name_a_repository_and_a_tag_or_digest(
    reference: str, expected: tuple[str, str | None, str | None]
) -> None:
    assert parse_reference(reference) == expected


@pytest.mark.parametrize(
    "reference", ["", "Upper:case", "app:", "app@sha256:short", "a" * 600, "app:t@g", "../app"]
)
def test_what_is_not_a_reference_is_refused(reference: str) -> None:
    with pytest.raises(ValueError, match="not an image reference"):
        parse_reference(reference)
