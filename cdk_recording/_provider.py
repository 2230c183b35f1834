"""One custom-resource provider per stack for every chime-sdk-voice resource CloudFormation lacks."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from cdk_recording._assets import lambda_asset_path
from cdk_recording._compliance import acknowledge
from cdk_recording._defaults import HANDLER_ARCHITECTURE, HANDLER_RUNTIME, LOG_RETENTION

__all__ = ["ChimeVoiceProvider"]

_PROVIDER_ID = "CdkRecordingChimeVoiceProvider"

#: How long a phone-number order may take before the deployment fails, and how often it is polled.
ORDER_TIMEOUT = cdk.Duration.minutes(30)
ORDER_POLL_INTERVAL = cdk.Duration.seconds(30)

#: Explicit chime-sdk-voice actions per resource kind (IAM service prefix ``chime``).
_SMA_ACTIONS = [
    "chime:CreateSipMediaApplication",
    "chime:GetSipMediaApplication",
    "chime:UpdateSipMediaApplication",
    "chime:DeleteSipMediaApplication",
    "chime:PutSipMediaApplicationLoggingConfiguration",
    "chime:GetSipMediaApplicationLoggingConfiguration",
    "chime:TagResource",
    "chime:UntagResource",
    "chime:ListTagsForResource",
]
_RULE_ACTIONS = [
    "chime:CreateSipRule",
    "chime:GetSipRule",
    "chime:UpdateSipRule",
    "chime:DeleteSipRule",
    "chime:ListSipRules",
]
_NUMBER_ACTIONS = [
    "chime:SearchAvailablePhoneNumbers",
    "chime:CreatePhoneNumberOrder",
    "chime:GetPhoneNumberOrder",
    "chime:GetPhoneNumber",
    "chime:DeletePhoneNumber",
]


class ChimeVoiceProvider(Construct):
    """The stack's provider for ``Custom::Chime*`` resources (SMA, SMA logging, phone number, SIP rule).

    Use :meth:`of` to get the stack's single instance. Its Lambda functions run the handlers in
    ``lambda/chime_provider`` with ``on_event`` and ``is_complete``; phone-number orders are polled every
    30 seconds for at most 30 minutes.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        code = lambda_.Code.from_asset(lambda_asset_path("chime_provider"))
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Manages chime-sdk-voice resources for cdk-recording custom resources",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=LOG_RETENTION,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        common: dict[str, Any] = {
            "code": code,
            "runtime": HANDLER_RUNTIME,
            "architecture": HANDLER_ARCHITECTURE,
            "memory_size": 256,
            "role": self.role,
            "log_group": self.log_group,
            "logging_format": lambda_.LoggingFormat.JSON,
            "tracing": lambda_.Tracing.ACTIVE,
            "reserved_concurrent_executions": None,
        }
        self.on_event_function = lambda_.Function(
            self,
            "OnEvent",
            handler="chime_provider.handler.on_event",
            timeout=cdk.Duration.minutes(5),
            description="cdk-recording: create, update and delete chime-sdk-voice resources",
            **common,
        )
        self.is_complete_function = lambda_.Function(
            self,
            "IsComplete",
            handler="chime_provider.handler.is_complete",
            timeout=cdk.Duration.minutes(1),
            description="cdk-recording: poll phone-number orders until they complete",
            **common,
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn, f"{self.log_group.log_group_arn}:*"],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                resources=["*"],
            )
        )
        stack = cdk.Stack.of(self)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="SipMediaApplications",
                actions=_SMA_ACTIONS,
                resources=[
                    stack.format_arn(
                        service="chime",
                        resource="sma",
                        resource_name="*",
                        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
                    )
                ],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="SipMediaApplicationCreate",
                actions=["chime:CreateSipMediaApplication"],
                resources=["*"],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(sid="SipRules", actions=_RULE_ACTIONS, resources=["*"])
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(sid="PhoneNumbers", actions=_NUMBER_ACTIONS, resources=["*"])
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event_function,
            is_complete_handler=self.is_complete_function,
            query_interval=ORDER_POLL_INTERVAL,
            total_timeout=ORDER_TIMEOUT,
            log_retention=LOG_RETENTION,
        )
        self.service_token: str = self.provider.service_token
        """The ServiceToken for ``CfnCustomResource`` resources served by this provider."""
        self._acknowledge()

    @classmethod
    def of(cls, scope: Construct) -> ChimeVoiceProvider:
        """The single provider of the stack that contains ``scope``, created on first use."""
        stack = cdk.Stack.of(scope)
        existing = stack.node.try_find_child(_PROVIDER_ID)
        if isinstance(existing, ChimeVoiceProvider):
            return existing
        return cls(stack, _PROVIDER_ID)

    def custom_resource(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_type: str,
        properties: dict[str, Any],
        removal_policy: cdk.RemovalPolicy | None = None,
    ) -> cdk.CustomResource:
        """A ``Custom::<resource_type>`` resource served by this provider."""
        return cdk.CustomResource(
            scope,
            construct_id,
            service_token=self.service_token,
            resource_type=f"Custom::{resource_type}",
            properties=properties,
            removal_policy=removal_policy,
        )

    def _acknowledge(self) -> None:
        acknowledge(
            self.role,
            [
                "AwsSolutions::AwsSolutions-IAM5",
                "HIPAA.Security::HIPAA.Security-IAMNoInlinePolicy",
                "NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy",
                "PCI.DSS.321::PCI.DSS.321-IAMNoInlinePolicy",
            ],
            "chime-sdk-voice phone numbers, SIP rules and new SIP media applications have no ARN "
            "known before they exist, so these explicit chime: actions (no action wildcards) apply to "
            "Resource '*'; SMA actions are scoped to this account's sma/* ARNs. X-Ray's PutTrace* "
            "actions support only '*'. The policy is owned by this role alone.",
        )
