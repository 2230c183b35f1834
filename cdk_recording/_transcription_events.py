"""Transcribe's job state change events back to the waiting per-recording execution.

Amazon Transcribe sends ``Transcribe Job State Change`` (standard jobs) and ``Call Analytics Job
State Change`` events to the account's **default** event bus (post-call.md §2.5, best effort).
One rule per detail type, on COMPLETED and FAILED only, with the patterns the AWS post-call
analytics sample uses, invokes the transcription function with ``{"action": "job-event",
"detailType", "detail"}``; the function returns the task token stored by the execution's
``AwaitJobEvent`` step (``SendTaskSuccess``). Events EventBridge could not deliver go to a
dead-letter queue, like the ``Recording Available`` rule's; a lost event only means the round's
timeout and status read see the job's end instead.

**SendTaskSuccess's resource.** The Service Authorization Reference lists no resource type for
``states:SendTaskSuccess`` (as quoted in 2024, which would mean ``Resource: "*"``), yet Step
Functions authorizes a callback task's token against the task's state machine: a reported
AccessDenied for ``SendTaskFailure`` names ``arn:aws:states:...:stateMachine:<name>`` as the
resource (NOAA-OWP/hydrovis#837), the aws-cdk maintainers found a Lambda callback task's
``SendTask*`` allowed when scoped to its state machine (aws/aws-cdk#8486), and aws-cdk-lib
2.275's ``grantTaskResponse`` scopes to the state machine ARN. The grant is that ARN, the
tightest resource AWS evaluates (an execution ARN would not match). Were it ever refused, the
function's error shows it (the job-event invocation fails, and Lambda's metrics count it) while
every execution still finishes through its status reads.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

__all__ = [
    "ENDED_OUTSIDE",
    "JOB_EVENT_PATTERNS",
    "TRANSCRIBE_EVENT_SOURCE",
    "execution_ended_rule",
    "job_event_rules",
    "task_success_policy",
]

#: The source of Transcribe's events.
TRANSCRIBE_EVENT_SOURCE = "aws.transcribe"
#: Construct id -> (detail type, status field) of each rule.
JOB_EVENT_PATTERNS: dict[str, tuple[str, str]] = {
    "StandardJobEventRule": ("Transcribe Job State Change", "TranscriptionJobStatus"),
    "CallAnalyticsJobEventRule": ("Call Analytics Job State Change", "JobStatus"),
}
_FINISHED = ["FAILED", "COMPLETED"]
#: Delivery retries of an event the function could not be invoked for (throttled), and how
#: long to keep trying: past a round's timeout the status read has seen the job's end anyway.
_RETRY_ATTEMPTS = 20
_MAX_EVENT_AGE = cdk.Duration.hours(1)


def job_event_rules(
    scope: Construct,
    *,
    function: lambda_.IFunction,
    dead_letter_queue: sqs.IQueue,
) -> list[events.Rule]:
    """The rules on the default bus that hand each finished job's event to ``function``."""
    rules = []
    for construct_id, (detail_type, status_field) in JOB_EVENT_PATTERNS.items():
        rules.append(
            events.Rule(
                scope,
                construct_id,
                description=f"cdk-recording: wake the transcription waiting for a job ({detail_type})",
                event_pattern=events.EventPattern(
                    source=[TRANSCRIBE_EVENT_SOURCE],
                    detail_type=[detail_type],
                    detail={status_field: _FINISHED},
                ),
                targets=[
                    targets.LambdaFunction(
                        function,
                        event=events.RuleTargetInput.from_object(
                            {
                                "action": "job-event",
                                "detailType": events.EventField.detail_type,
                                "detail": events.EventField.from_path("$.detail"),
                            }
                        ),
                        dead_letter_queue=dead_letter_queue,
                        retry_attempts=_RETRY_ATTEMPTS,
                        max_event_age=_MAX_EVENT_AGE,
                    )
                ],
            )
        )
    return rules


#: How an execution can end without its own catch recording the outcome: the machine's timeout
#: cannot be caught, a stop (by hand, or the backfill's ``.sync:2`` parent stopping its children)
#: runs no state, and a ``States.Runtime`` error fails the execution past every catch. The function
#: records only a transcript still ``started`` (a FAILED execution that went through its catch has
#: recorded its failure already).
ENDED_OUTSIDE = ["TIMED_OUT", "ABORTED", "FAILED"]


def execution_ended_rule(
    scope: Construct,
    construct_id: str,
    *,
    function: lambda_.IFunction,
    state_machine: sfn.IStateMachine,
    dead_letter_queue: sqs.IQueue,
) -> events.Rule:
    """The rule on the default bus that records the failure of an execution of ``state_machine``
    that ended outside its catches (:data:`ENDED_OUTSIDE`), so its ``TRANSCRIPT#`` item never
    stays ``started`` (which would keep ``recordings erase`` refusing the call).

    The function's ``fail`` action gets the execution's input (``detail.input``, the JSON text
    of the recording the execution was for) and the status as the error; a completed or erased
    item is left as it is.
    """
    return events.Rule(
        scope,
        construct_id,
        description="cdk-recording: record a transcription whose execution timed out or stopped",
        event_pattern=events.EventPattern(
            source=["aws.states"],
            detail_type=["Step Functions Execution Status Change"],
            detail={
                "status": ENDED_OUTSIDE,
                "stateMachineArn": [state_machine.state_machine_arn],
            },
        ),
        targets=[
            targets.LambdaFunction(
                function,
                event=events.RuleTargetInput.from_object(
                    {
                        "action": "fail",
                        "ended": True,
                        "recording": events.EventField.from_path("$.detail.input"),
                        "error": {
                            "Error": events.EventField.from_path("$.detail.status"),
                            "Cause": events.EventField.from_path("$.detail.executionArn"),
                        },
                    }
                ),
                dead_letter_queue=dead_letter_queue,
                retry_attempts=_RETRY_ATTEMPTS,
                max_event_age=cdk.Duration.hours(24),
            )
        ],
    )


def task_success_policy(
    scope: Construct, construct_id: str, *, role: iam.IRole, state_machine: sfn.IStateMachine
) -> iam.ManagedPolicy:
    """``states:SendTaskSuccess`` on ``state_machine`` for ``role`` (see the module docstring).

    Defined in ``scope``, not under the role: the function depends on its role's children, and
    this policy depends on the state machine, which depends on the function.
    """
    return iam.ManagedPolicy(
        scope,
        construct_id,
        description="The transcription function returns the task token of a waiting execution",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                sid="WakeWaitingTranscription",
                actions=["states:SendTaskSuccess"],
                resources=[state_machine.state_machine_arn],
            )
        ],
    )
