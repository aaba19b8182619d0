"""botocore's service models, loaded once per process on first use (never at import time).

The models that ship with ``botocore`` are the contract of the AWS endpoints: operation names,
input and output shapes, constraints and error codes all come from them, not from hand-written
copies. Loading one costs ~30 ms, so each is loaded once and cached with what is compiled from it.
"""

from __future__ import annotations

import functools

import botocore.session
from botocore.model import OperationModel, ServiceModel


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def service_model(service: str) -> ServiceModel:
    """The model of ``service`` ("stepfunctions", "lambda")."""
    return _session().get_service_model(service)


@functools.cache
def operation_model(service: str, operation: str) -> OperationModel:
    """One operation of ``service`` (``botocore.exceptions.OperationNotFoundError`` if unknown)."""
    return service_model(service).operation_model(operation)


@functools.cache
def operation_names(service: str) -> frozenset[str]:
    """Every operation the model of ``service`` defines."""
    return frozenset(service_model(service).operation_names)
