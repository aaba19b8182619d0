"""The AWS endpoints served for real (uvicorn on a loopback port, a worker in the API process) and
unmodified boto3 clients pointed at them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from foundation.db import upgrade
from tests.integration.aws.server import ServerThread, own_settings
from tests.integration.conftest import create_database, drop_database

CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "test", "aws_secret_access_key": "test"}


@pytest.fixture(scope="module")
async def own_database() -> AsyncIterator[str]:
    """A migrated database of the module's own: an access key changes the policy of every API on its
    database, so modules that create keys keep them away from the session's shared one."""
    url = await create_database()
    await asyncio.to_thread(upgrade, url)
    yield url
    await drop_database(url)


@pytest.fixture(scope="module")
def aws_url(
    database_url: str, temporal_address: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The API (and its worker) on a task queue of this module's own."""
    with (
        own_settings(database_url, temporal_address, "aws", sandbox={"spare_environments": 0}) as settings,
        ServerThread(settings) as url,
    ):
        yield url


def client(url: str, service: str, **config: Any) -> Any:
    """An unmodified boto3 client for ``service`` at ``url`` (no retries: a failure shows at once)."""
    return boto3.client(
        service, endpoint_url=url, config=Config(retries={"max_attempts": 1}, **config), **CREDENTIALS
    )


def refused(call: Any, **params: Any) -> tuple[str, str]:
    """The error code and message of a boto3 call that must fail."""
    with pytest.raises(ClientError) as failed:
        call(**params)
    error = failed.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture(scope="module")
def sfn(aws_url: str) -> Any:
    """Step Functions, as a user's code creates it (the ``sync-`` host prefix left on)."""
    return client(aws_url, "stepfunctions")


@pytest.fixture(scope="module")
def sfn_sync(aws_url: str) -> Any:
    """Step Functions with the ``sync-`` host prefix off (``inject_host_prefix=False``), for
    StartSyncExecution against a loopback address."""
    return client(aws_url, "stepfunctions", inject_host_prefix=False)
