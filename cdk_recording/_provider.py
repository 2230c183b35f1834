"""One custom-resource provider per stack for every chime-sdk-voice resource CloudFormation lacks."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct

from cdk_recording._assets import ASSET_EXCLUDES, lambda_asset_path
from cdk_recording._compliance import acknowledge
from cdk_recording._defaults import HANDLER_ARCHITECTURE, HANDLER_RUNTIME
from cdk_recording._logs import encrypted_log_group, function_role

__all__ = ["ChimeVoiceProvider"]

_PROVIDER_ID = "CdkRecordingChimeVoiceProvider"

#: How long a phone-number order may take before the deployment fails, and how often it is polled.
ORDER_TIMEOUT = cdk.Duration.minutes(30)
ORDER_POLL_INTERVAL = cdk.Duration.seconds(30)

#: Explicit chime-sdk-voice actions per resource kind (IAM service prefix ``chime``).
_SMA_ACTIONS = [
    "chime:CreateSipMediaApplication",
    "chime:UpdateSipMediaApplication",
    "chime:DeleteSipMediaApplication",
    "chime:PutSipMediaApplicationLoggingConfiguration",
    "chime:TagResource",
    "chime:UntagResource",
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
        stack = cdk.Stack.of(self)
        code = lambda_.Code.from_asset(lambda_asset_path("chime_provider"), exclude=ASSET_EXCLUDES)
        self.log_group = encrypted_log_group(self, "Logs")
        sma_arns = stack.format_arn(
            service="chime",
            resource="sma",
            resource_name="*",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        self.role = function_role(
            self,
            "Role",
            description="cdk-recording chime-sdk-voice custom resources",
            log_group=self.log_group,
            statements=[
                iam.PolicyStatement(
                    sid="SipMediaApplications", actions=_SMA_ACTIONS, resources=[sma_arns]
                ),
                iam.PolicyStatement(
                    sid="SipMediaApplicationCreate",
                    # List: after a create whose outcome is unknown (5xx, timeout), to adopt the SMA
                    # the first attempt may have made instead of creating a second one.
                    actions=["chime:CreateSipMediaApplication", "chime:ListSipMediaApplications"],
                    resources=["*"],
                ),
                # PutSipMediaApplicationLoggingConfiguration sets up CloudWatch Logs delivery with
                # the caller's credentials (these account-level delivery actions take only '*').
                iam.PolicyStatement(
                    sid="MessageLogsDelivery",
                    actions=[
                        "logs:CreateLogDelivery",
                        "logs:GetLogDelivery",
                        "logs:DeleteLogDelivery",
                        "logs:ListLogDeliveries",
                        "logs:PutResourcePolicy",
                        "logs:DescribeResourcePolicies",
                        "logs:DescribeLogGroups",
                        "logs:CreateLogGroup",
                    ],
                    resources=["*"],
                ),
                # CreateSipMediaApplication may create the service-linked role Speak relies on.
                iam.PolicyStatement(
                    sid="ChimeServiceLinkedRole",
                    actions=["iam:CreateServiceLinkedRole"],
                    resources=[
                        stack.format_arn(
                            service="iam",
                            region="",
                            resource="role",
                            resource_name="aws-service-role/voiceconnector.chime.amazonaws.com/*",
                            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
                        )
                    ],
                    conditions={
                        "StringEquals": {"iam:AWSServiceName": "voiceconnector.chime.amazonaws.com"}
                    },
                ),
                iam.PolicyStatement(sid="SipRules", actions=_RULE_ACTIONS, resources=["*"]),
                iam.PolicyStatement(sid="PhoneNumbers", actions=_NUMBER_ACTIONS, resources=["*"]),
            ],
        )
        policy = self.role.node.find_child("Policy")
        assert isinstance(policy, iam.ManagedPolicy)
        self.policy: iam.ManagedPolicy = policy
        """The role's one customer managed policy (see :func:`function_role`)."""
        # HandlerInvokePermission: created by the first allow_invoke_permission, one ARN per handler.
        self._invoke_permission: iam.PolicyStatement | None = None
        self._invoke_permission_arns: list[str] = []
        common: dict[str, Any] = {
            "code": code,
            "runtime": HANDLER_RUNTIME,
            "architecture": HANDLER_ARCHITECTURE,
            "memory_size": 256,
            "role": self.role.without_policy_updates(),
            "log_group": self.log_group,
            "logging_format": lambda_.LoggingFormat.JSON,
            "tracing": lambda_.Tracing.ACTIVE,
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
            # One poll is a few calls, but each may be retried with backoff after a hung connection.
            timeout=cdk.Duration.minutes(3),
            description="cdk-recording: poll phone-number orders until they complete",
            **common,
        )
        self.framework_log_group = encrypted_log_group(self, "FrameworkLogs")
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event_function,
            is_complete_handler=self.is_complete_function,
            query_interval=ORDER_POLL_INTERVAL,
            total_timeout=ORDER_TIMEOUT,
            log_group=self.framework_log_group,
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=self.framework_log_group,
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
        )
        self.service_token: str = self.provider.service_token
        """The ServiceToken for custom resources served by this provider."""
        self._acknowledge()

    @classmethod
    def of(cls, scope: Construct) -> ChimeVoiceProvider:
        """The single provider of the stack that contains ``scope``, created on first use."""
        stack = cdk.Stack.of(scope)
        existing = stack.node.try_find_child(_PROVIDER_ID)
        if isinstance(existing, ChimeVoiceProvider):
            return existing
        return cls(stack, _PROVIDER_ID)

    def allow_invoke_permission(self, function: lambda_.IFunction) -> None:
        """Let the provider check and add ``function``'s invoke permission (idempotent).

        CreateSipMediaApplication, called by the provider for a custom-resource SMA, may run
        ``lambda:GetPolicy`` and ``lambda:AddPermission`` on the SMA's endpoint with the caller's
        credentials. The grant names only the functions passed here, in one ``HandlerInvokePermission``
        statement created on first use: a stack whose SMAs are all native has no such statement.
        """
        arn = function.function_arn
        if arn in self._invoke_permission_arns:
            return
        self._invoke_permission_arns.append(arn)
        if self._invoke_permission is None:
            self._invoke_permission = iam.PolicyStatement(
                sid="HandlerInvokePermission",
                actions=["lambda:GetPolicy", "lambda:AddPermission"],
                resources=[arn],
            )
            self.policy.add_statements(self._invoke_permission)
        else:
            self._invoke_permission.add_resources(arn)

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
        stack = cdk.Stack.of(self)
        region = _nag_token(stack.region, "AWS::Region")
        account = _nag_token(stack.account, "AWS::AccountId")
        acknowledge(
            self.role,
            [
                "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:chime:{region}:{account}:sma/*]",
                f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::{account}:role/aws-service-role/voiceconnector.chime.amazonaws.com/*]",
            ],
            "Explicit actions only, no action wildcards. chime-sdk-voice phone numbers, SIP rules "
            "and new SIP media applications have no ARN before they exist, so CreateSipRule, "
            "SearchAvailablePhoneNumbers, CreatePhoneNumberOrder, CreateSipMediaApplication and "
            "ListSipMediaApplications (to adopt an SMA a create with an unknown outcome made) apply "
            "to '*'; actions on existing SMAs are scoped to this account's sma/* ARNs. CloudWatch "
            "Logs delivery actions (message logs) and X-Ray's PutTrace* support only '*'. The "
            "iam:CreateServiceLinkedRole is scoped to the Chime voice service-linked role only; "
            "lambda:GetPolicy/AddPermission (used when a custom-resource SMA is created) name only "
            "the handler functions of those SMAs.",
        )
        functions = [self.on_event_function, self.is_complete_function]
        for function in functions:
            _acknowledge_function(function)
        # Everything under Provider is AWS CDK's custom_resources framework (its three functions,
        # their roles and the waiter state machine): not configurable beyond what is set above.
        acknowledge(
            self.provider,
            [
                "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
                "service-role/AWSLambdaBasicExecutionRole]",
                *[
                    f"AwsSolutions::AwsSolutions-IAM5[Resource::<{stack.get_logical_id(f.node.default_child)}.Arn>:*]"  # type: ignore[arg-type]
                    for f in functions
                ],
                *[
                    f"AwsSolutions::AwsSolutions-IAM5[Resource::<{stack.get_logical_id(f.node.default_child)}.Arn>:*]"  # type: ignore[arg-type]
                    for f in self._framework_functions()
                ],
                "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                "AwsSolutions::AwsSolutions-SF2",
                "Serverless::Serverless-StepFunctionStateMachineXray",
                "Serverless::Serverless-LambdaDefaultMemorySize",
                "Serverless::Serverless-LambdaTracing",
                *[f"{pack}::{pack}-IAMNoInlinePolicy" for pack in _INLINE_POLICY_PACKS],
            ],
            "AWS CDK's custom_resources.Provider framework defines these functions, roles and the "
            "waiter state machine; it exposes no settings for managed policies, memory, tracing or "
            "X-Ray on them. Its roles may only invoke this provider's own two functions "
            "(and their versions, hence '<function ARN>:*'); the waiter state machine's "
            "CloudWatch Logs delivery actions (logs:CreateLogDelivery and friends) support only "
            "Resource '*'.",
        )
        for function in self._framework_functions():
            _acknowledge_function(function)

    def _framework_functions(self) -> list[lambda_.Function]:
        found = []
        for child in self.provider.node.find_all():
            if isinstance(child, lambda_.Function):
                found.append(child)
        return found


_INLINE_POLICY_PACKS = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")


def _nag_token(value: str, pseudo: str) -> str:
    return f"<{pseudo}>" if cdk.Token.is_unresolved(value) else value


def _acknowledge_function(function: lambda_.Function) -> None:
    """Findings every custom-resource function causes, for reasons true of all of them."""
    acknowledge(
        function,
        [
            "HIPAA.Security::HIPAA.Security-LambdaDLQ",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
            "Serverless::Serverless-LambdaDLQ",
        ],
        "Invoked synchronously (by CloudFormation's provider framework or a state machine task), "
        "which returns every error to the caller: a dead-letter queue receives only asynchronous "
        "invocations, so it would stay empty.",
    )
    acknowledge(
        function,
        [
            "HIPAA.Security::HIPAA.Security-LambdaConcurrency",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",
        ],
        "Runs only during deployments, a few times per resource. Reserved concurrency would not "
        "bound anything real, and on accounts whose unreserved concurrency is at the minimum (new "
        "accounts) any reservation fails the deployment.",
    )
    acknowledge(
        function,
        [
            "HIPAA.Security::HIPAA.Security-LambdaInsideVPC",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC",
            "PCI.DSS.321::PCI.DSS.321-LambdaInsideVPC",
        ],
        "Reaches only AWS public service endpoints (chime-sdk-voice, CloudFormation's response URL, "
        "Lambda) and no resource inside a VPC; a VPC would add NAT cost and failure modes and "
        "protect no data path.",
    )
