"""The catalog's SQS queues: encrypted, TLS only, with dead-letter queues, and their consumers."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_recording._compliance import acknowledge

__all__ = ["ESM_REASON", "consume", "queue", "subscribe"]

_DLQ_RETENTION = cdk.Duration.days(14)


ESM_REASON = (
    "An SQS event source mapping cannot have an on-failure destination (Lambda supports them for "
    "streams and Kafka only); a message that keeps failing goes to the queue's dead-letter queue "
    "after 5 receives, which is this mapping's failure destination."
)


def subscribe(function: lambda_.Function, queue: sqs.IQueue, batch_size: int) -> None:
    """Feed ``function`` from ``queue``; the queue's dead-letter queue stands in for the
    function's and the mapping's failure destinations."""
    source = sources.SqsEventSource(queue, batch_size=batch_size, report_batch_item_failures=True)
    function.add_event_source(source)
    acknowledge(
        function,
        [
            "HIPAA.Security::HIPAA.Security-LambdaDLQ",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
            "Serverless::Serverless-LambdaDLQ",
        ],
        "Invoked by an SQS event source mapping (synchronously); failed messages go to the "
        "queue's own dead-letter queue after 5 receives, which a Lambda DLQ would not see.",
    )
    for child in function.node.children:
        if isinstance(child, lambda_.EventSourceMapping):
            acknowledge(
                child, ["Serverless::Serverless-LambdaEventSourceMappingDestination"], ESM_REASON
            )


def consume(queue: sqs.IQueue, key: kms.IKey | None, name: str) -> list[iam.PolicyStatement]:
    """What an SQS event source mapping needs, as statements of the function's managed policy."""
    statements = [
        iam.PolicyStatement(
            sid=f"Consume{name}",
            actions=[
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
            ],
            resources=[queue.queue_arn],
        )
    ]
    if key is not None:
        statements.append(
            iam.PolicyStatement(
                sid=f"Decrypt{name}",
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"sqs.{cdk.Stack.of(queue).region}.amazonaws.com"
                    }
                },
            )
        )
    return statements


def queue(
    scope: Construct,
    construct_id: str,
    key: kms.IKey | None,
    *,
    visibility: cdk.Duration | None = None,
    dead_letter: sqs.DeadLetterQueue | bool = False,
) -> sqs.Queue:
    is_dlq = dead_letter is True
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS if key is not None else sqs.QueueEncryption.SQS_MANAGED,
        encryption_master_key=key,
        enforce_ssl=True,
        visibility_timeout=visibility,
        retention_period=_DLQ_RETENTION if is_dlq else cdk.Duration.days(4),
        dead_letter_queue=dead_letter if isinstance(dead_letter, sqs.DeadLetterQueue) else None,
        removal_policy=cdk.RemovalPolicy.RETAIN if is_dlq else cdk.RemovalPolicy.DESTROY,
    )
    if is_dlq:
        acknowledge(
            queue,
            ["AwsSolutions::AwsSolutions-SQS3", "Serverless::Serverless-SQSRedrivePolicy"],
            "This is a dead-letter queue: its messages are inspected and redriven by an operator; "
            "a dead-letter queue of its own would only move them one queue further.",
        )
    return queue
