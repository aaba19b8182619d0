"""An activity worker in its own process, as users write one: unmodified boto3, long polls.

python -m tests.integration.aws.activity_worker ENDPOINT_URL ACTIVITY_ARN TASKS

Takes TASKS tasks, one after another; answers each with ``{"worked": <input>, "by": <worker name>}``,
or with SendTaskFailure when the input says ``{"fail": "<error>"}``; prints ``ready`` first and
``done`` at the end.
"""

from __future__ import annotations

import json
import sys

import boto3
from botocore.config import Config

WORKER = "test-activity-worker"


def main(url: str, activity_arn: str, tasks: int) -> None:
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(read_timeout=70, retries={"max_attempts": 1}),
    )
    print("ready", flush=True)
    done = 0
    while done < tasks:
        task = sfn.get_activity_task(activityArn=activity_arn, workerName=WORKER)
        token = task.get("taskToken")
        if not token:
            continue
        given = json.loads(task["input"])
        if isinstance(given, dict) and "fail" in given:
            sfn.send_task_failure(taskToken=token, error=given["fail"], cause="the worker refused it")
        else:
            sfn.send_task_heartbeat(taskToken=token)
            sfn.send_task_success(taskToken=token, output=json.dumps({"worked": given, "by": WORKER}))
        done += 1
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
