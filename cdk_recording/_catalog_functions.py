"""The catalog's Lambda functions: how each is built, and the findings each causes, with reasons.

Used by :class:`~cdk_recording.RecordingCatalog` (arrival, facts, sweep) and, for its reasons, by
the transcription construct.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_recording._compliance import acknowledge
from cdk_recording._defaults import HANDLER_ARCHITECTURE, HANDLER_RUNTIME
from cdk_recording._logs import encrypted_log_group, function_role

__all__ = ["NO_RESERVATION", "NO_VPC", "catalog_key_statement", "processor_function"]

#: Why the catalog's functions run outside a VPC.
NO_VPC = (
    "The function calls only AWS APIs (S3, DynamoDB, EventBridge, SQS) over TLS with its own "
    "role; it has no inbound network path. A VPC would add NAT or endpoint cost and protect no "
    "data path that IAM, TLS and encryption at rest do not already cover."
)
#: Why they reserve no concurrency.
NO_RESERVATION = (
    "Reserved concurrency is taken from the account's pool and a new account has only 10 in "
    "total: reserving here could fail the deployment or starve the recording handler that live "
    "calls need. The queue in front of the function absorbs bursts instead."
)


def processor_function(
    scope: Construct,
    name: str,
    code: lambda_.Code,
    handler: str,
    environment: dict[str, str],
    *,
    description: str,
    statements: list[iam.PolicyStatement],
    timeout: cdk.Duration,
    memory_size: int,
    log_retention: logs.RetentionDays,
) -> lambda_.Function:
    """One of the catalog's functions (``<name>Function``, its role and log group, in ``scope``):
    the processor asset's ``handler``, traced, every permission in its role's one managed policy,
    and the compliance findings it causes acknowledged with their reasons."""
    log_group = encrypted_log_group(scope, f"{name}Logs", log_retention)
    role = function_role(
        scope, f"{name}Role", description=description, log_group=log_group, statements=statements
    )
    function = lambda_.Function(
        scope,
        f"{name}Function",
        runtime=HANDLER_RUNTIME,
        architecture=HANDLER_ARCHITECTURE,
        code=code,
        handler=handler,
        memory_size=memory_size,
        timeout=timeout,
        log_group=log_group,
        # Every permission is in the role's one managed policy: grants must not add inline ones.
        role=role.without_policy_updates(),
        tracing=lambda_.Tracing.ACTIVE,
        description=description,
        environment=environment,
    )
    acknowledge(
        role,
        ["AwsSolutions::AwsSolutions-IAM5[Resource::*]"],
        "Only X-Ray's PutTraceSegments/PutTelemetryRecords, which support only Resource '*'.",
    )
    acknowledge(
        function,
        [
            "HIPAA.Security::HIPAA.Security-LambdaInsideVPC",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC",
            "PCI.DSS.321::PCI.DSS.321-LambdaInsideVPC",
        ],
        NO_VPC,
    )
    acknowledge(
        function,
        [
            "HIPAA.Security::HIPAA.Security-LambdaConcurrency",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",
        ],
        NO_RESERVATION,
    )
    return function


def catalog_key_statement(key: kms.IKey, stack: cdk.Stack) -> iam.PolicyStatement:
    """Use of the recording key for a catalog table encrypted with it: through DynamoDB only."""
    return iam.PolicyStatement(
        sid="CatalogKey",
        actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
        resources=[key.key_arn],
        conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{stack.region}.amazonaws.com"}},
    )
