"""Step Functions ARNs read from requests, as Stepline names.

ARNs are built and read in one place, ``statemachine.arns`` (what ``$$`` shows inside executions and
what both APIs return); this module puts what it reads in the API's terms (a machine and published
version, an execution's id) and its ``ArnError`` as InvalidArn. The region and account of an ARN in
a request are not checked: one Stepline is one region of one account, whatever the caller's SDK is
configured with.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.aws.errors import AwsError
from foundation.registry.executions import execution_id
from statemachine import ArnError, states_resource


@dataclass(frozen=True, slots=True)
class MachineRef:
    """``arn:aws:states:REGION:ACCOUNT:stateMachine:NAME[:N]``."""

    name: str
    published: int | None = None
    """N of a qualified ARN: a published version."""
    alias: str | None = None
    """ALIAS of a qualified ARN ``...:NAME:ALIAS`` (a name that is not only digits)."""


@dataclass(frozen=True, slots=True)
class ExecutionRef:
    """``arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME``."""

    machine: str
    name: str

    @property
    def id(self) -> str:
        """The execution's id in the registry (and its workflow id)."""
        return execution_id(self.machine, self.name)


def state_machine(arn: str) -> MachineRef:
    """The machine (and published version) an ARN names; InvalidArn otherwise."""
    resource = _resource(arn, "stateMachine")
    if len(resource) == 1:
        return MachineRef(resource[0])
    if len(resource) == 2 and resource[1].isdigit() and resource[1].isascii():
        return MachineRef(resource[0], int(resource[1]))
    if len(resource) == 2 and resource[1]:
        return MachineRef(resource[0], alias=resource[1])
    raise _invalid(arn)


def alias(arn: str) -> MachineRef:
    """The alias an ARN names; InvalidArn for any other ARN."""
    ref = state_machine(arn)
    if ref.alias is None:
        raise AwsError("InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {arn}'")
    return ref


def unqualified_state_machine(arn: str) -> str:
    """The name of the machine an unqualified ARN names; InvalidArn for a version or alias ARN."""
    ref = state_machine(arn)
    if ref.published is not None:
        raise AwsError("InvalidArn", f"Invalid Arn: 'Unexpected version ARN: {arn}'")
    if ref.alias is not None:
        raise AwsError("InvalidArn", f"Invalid Arn: 'Unexpected alias ARN: {arn}'")
    return ref.name


def execution(arn: str) -> ExecutionRef:
    """The execution an ARN names; InvalidArn otherwise."""
    resource = _resource(arn, "execution")
    if len(resource) != 2:
        raise _invalid(arn)
    return ExecutionRef(resource[0], resource[1])


def _resource(arn: str, kind: str) -> list[str]:
    """The parts after ``...:<kind>:`` of a Step Functions ARN."""
    try:
        return states_resource(arn, kind)
    except ArnError as exc:
        raise AwsError("InvalidArn", str(exc)) from None


def _invalid(arn: str) -> AwsError:
    return AwsError("InvalidArn", f"Invalid Arn: 'Unable to parse ARN: {arn}'")
