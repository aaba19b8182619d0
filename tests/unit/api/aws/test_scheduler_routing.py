"""EventBridge Scheduler's routes: every operation of botocore's model is served and routed from its
method and path (a label holding an encoded ``/``, a schedule ARN, stays one label), nothing else
is, and the AWS gate treats Scheduler's paths as restJson1."""

from __future__ import annotations

import re

import pytest

from api.aws import lambda_routing
from api.aws.auth import aws_protocol
from api.aws.models import service_model
from api.aws.scheduler_endpoint import PATH, SERVICE
from api.aws.scheduler_operations import OPERATIONS

MODEL = service_model(SERVICE)


def test_every_operation_of_the_model_has_a_handler() -> None:
    assert set(OPERATIONS) == set(MODEL.operation_names)


@pytest.mark.parametrize("operation", sorted(MODEL.operation_names))
def test_each_operation_is_routed_from_its_method_and_path(operation: str) -> None:
    http = MODEL.operation_model(operation).http
    path = re.sub(
        r"\{[^}]+\}", "arn%3Aaws%3Ascheduler%3Aus-east-1%3A0%3Aschedule-group%2Fg", http["requestUri"]
    )
    found = lambda_routing.match(http["method"], path.encode(), {}, SERVICE)
    assert found is not None and found.operation == operation
    assert all("/" not in v or v.startswith("arn:") for v in found.labels.values())
    assert PATH.match(path)


@pytest.mark.parametrize(
    ("method", "path", "protocol"),
    [
        ("GET", "/schedules", "rest-json"),
        ("POST", "/schedule-groups/g", "rest-json"),
        ("GET", "/tags/x", "rest-json"),
        ("GET", "/schedulesx", None),
        ("GET", "/v1/schedules", None),
    ],
)
def test_the_gate_speaks_restjson_on_schedulers_paths(method: str, path: str, protocol: str | None) -> None:
    assert aws_protocol({"path": path, "method": method}) == protocol


def test_other_paths_are_no_scheduler_operation() -> None:
    assert lambda_routing.match("GET", b"/schedules/a/b", {}, SERVICE) is None
    assert lambda_routing.match("PATCH", b"/schedules/a", {}, SERVICE) is None
    assert not PATH.match("/v1/schedules") and not PATH.match("/schedulesx")
