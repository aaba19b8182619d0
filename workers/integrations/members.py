"""Member names between Step Functions and botocore's models: Step Functions spells every member in
PascalCase, even of services whose models use camelCase (``StateMachineArn`` for Step Functions'
``stateMachineArn``, API Gateway's ``Items`` for ``items``). Requests are renamed to the model's names
(either spelling accepted), answers to PascalCase, following the operation's shapes so that map keys
and free-form documents keep their own names."""

from __future__ import annotations

from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape


def pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def to_model(shape: Shape | None, value: Any) -> Any:
    """A request in Step Functions' spelling, with the model's member names."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = shape.members
        spelled: dict[str, str] = {pascal(str(name)): str(name) for name in members}
        renamed: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key) if key in members else spelled.get(str(key), str(key))
            renamed[name] = to_model(members.get(name), item)
        return renamed
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_model(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: to_model(shape.value, item) for key, item in value.items()}
    return value


def to_pascal(shape: Shape | None, value: Any) -> Any:
    """An answer with the model's member names, in Step Functions' PascalCase."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = shape.members
        return {
            (pascal(key) if key in members else key): to_pascal(members.get(key), item)
            for key, item in value.items()
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_pascal(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: to_pascal(shape.value, item) for key, item in value.items()}
    return value
