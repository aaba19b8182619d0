"""Task states calling other services: AWS SDK operations through botocore, the optimized
integrations' request and result shapes, the HTTP Task and its connections, each service at the
endpoint the operator configures. ``Integrations.call`` is what the ``call_service`` activity and
synchronous executions run."""

from workers.integrations.aws_sdk import known_operation
from workers.integrations.gateway import Integrations, for_settings

__all__ = ["Integrations", "for_settings", "known_operation"]
