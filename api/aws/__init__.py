"""The AWS wire protocols (Step Functions awsJson1_0, Lambda restJson1) over the same services as ``/v1``."""
