"""The SIP media application: native where CloudFormation has the type, a custom resource elsewhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import aws_cdk as cdk
import jsii
from aws_cdk import aws_chime as chime
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from cdk_recording._provider import ChimeVoiceProvider
from cdk_recording._regions import NATIVE_SMA_REGIONS, SMA_REGIONS, SmaImplementation
from cdk_recording._storage import CHIME_SERVICE_PRINCIPAL
from cdk_recording._validation import Problems, check_service_name, default_service_name, is_token

__all__ = ["ISipMediaApplication", "SipMediaApplication"]


@runtime_checkable
class ISipMediaApplication(Protocol):
    """A SIP media application, defined in this stack or imported by id."""

    @property
    def sip_media_application_id(self) -> str: ...

    @property
    def sip_media_application_arn(self) -> str: ...

    @property
    def region(self) -> str: ...

    def grant_call_control(self, grantee: iam.IGrantable) -> iam.Grant: ...


def sma_arn(scope: Construct, sma_id: str, region: str | None = None) -> str:
    """``arn:<partition>:chime:<region>:<account>:sma/<id>`` (IAM service authorization reference)."""
    stack = cdk.Stack.of(scope)
    return stack.format_arn(
        service="chime",
        resource="sma",
        resource_name=sma_id,
        region=region,
        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
    )


class _SipMediaApplicationBase(Construct):
    """What every SMA offers, defined here or imported: id, ARN, Region and the control grant."""

    _id: str
    _arn: str
    _region: str

    @property
    def sip_media_application_id(self) -> str:
        """The SMA id (a token resolved at deploy time for one defined in the stack)."""
        return self._id

    @property
    def sip_media_application_arn(self) -> str:
        """``arn:<partition>:chime:<region>:<account>:sma/<id>``."""
        return self._arn

    @property
    def region(self) -> str:
        """The Region the SMA runs in."""
        return self._region

    def grant_call_control(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start, pause, resume and stop recordings of this SMA's live calls.

        Grants ``chime:UpdateSipMediaApplicationCall`` on this SMA's ARN only.
        """
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["chime:UpdateSipMediaApplicationCall"],
            resource_arns=[self._arn],
        )


class _ImportedSipMediaApplication(_SipMediaApplicationBase):
    def __init__(self, scope: Construct, construct_id: str, sma_id: str, region: str) -> None:
        super().__init__(scope, construct_id)
        self._id = sma_id
        self._region = region
        self._arn = sma_arn(self, sma_id, region)


@jsii.implements(cdk.IAspect)
class _TagsProperty:
    """Puts the stack's tags and the construct's own into a custom resource's ``Tags`` property."""

    def __init__(self, resource: cdk.CustomResource, tags: dict[str, str]) -> None:
        self._resource = resource
        self._tags = tags
        self._done = False

    def visit(self, node: IConstruct) -> None:
        if self._done or node is not self._resource:
            return
        self._done = True
        merged = {**cdk.Stack.of(self._resource).tags.tag_values(), **self._tags}
        if merged:
            cfn = self._resource.node.default_child
            assert isinstance(cfn, cdk.CfnResource)
            cfn.add_property_override(
                "Tags", [{"Key": k, "Value": v} for k, v in sorted(merged.items())]
            )


def resolve_implementation(region: str, implementation: SmaImplementation) -> SmaImplementation:
    """Pick native or custom resource for ``region`` (an unresolved Region gets the custom resource)."""
    if implementation is not SmaImplementation.AUTO:
        return implementation
    if is_token(region) or region not in NATIVE_SMA_REGIONS:
        return SmaImplementation.CUSTOM_RESOURCE
    return SmaImplementation.NATIVE


class SipMediaApplication(_SipMediaApplicationBase):
    """A SIP media application whose endpoint is ``handler``, with message logs on by default.

    The native ``AWS::Chime::SipMediaApplication`` is used where CloudFormation offers it; elsewhere
    (us-west-2 today) and in environment-agnostic stacks, the library's custom resource. The handler's
    resource policy lets ``voiceconnector.chime.amazonaws.com`` invoke it, for this account and this SMA
    only.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        name: str | None = None,
        implementation: SmaImplementation = SmaImplementation.AUTO,
        message_logs: bool = True,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """
        :param handler: the Lambda function the SMA invokes; it must be in the stack's Region.
        :param name: the SMA's name (1-256 of ``[a-zA-Z0-9 _.-]``). Default: derived from the
            construct path, unique in the stack.
        :param implementation: ``AUTO`` picks native or custom resource from the stack's Region;
            ``NATIVE`` or ``CUSTOM_RESOURCE`` force one. Default: ``AUTO``.
        :param message_logs: turn on SIP media application message logs
            (PutSipMediaApplicationLoggingConfiguration). Default: true.
        :param tags: tags of the SMA (1-50). ``cdk.Tags.of(...)`` also reaches the native resource;
            the custom resource gets these plus the stack's tags known at this point.
            Default: none.
        """
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        region = stack.region
        resolved_name = name if name is not None else default_service_name(self)

        problems = Problems()
        check_service_name(problems, "name", resolved_name)
        if not is_token(region) and region not in SMA_REGIONS:
            problems.add(
                "region (the stack's)",
                region,
                "the Amazon Chime SDK PSTN audio service runs only in " + ", ".join(SMA_REGIONS),
            )
        chosen = resolve_implementation(region, implementation)
        if chosen is SmaImplementation.NATIVE and (
            is_token(region) or region not in NATIVE_SMA_REGIONS
        ):
            problems.add(
                "implementation",
                "NATIVE",
                "CloudFormation has AWS::Chime::SipMediaApplication only in "
                + ", ".join(sorted(NATIVE_SMA_REGIONS))
                + "; use SmaImplementation.AUTO or CUSTOM_RESOURCE",
            )
        if tags is not None and not 1 <= len(tags) <= 50:
            problems.add("tags", f"<{len(tags)} tags>", "give 1-50 tags, or None")
        for key, value in (tags or {}).items():
            if not is_token(key) and not 1 <= len(key) <= 128:
                problems.add(f"tags[{key!r}]", key, "tag keys are 1-128 characters")
            if not is_token(value) and len(value) > 256:
                problems.add(f"tags[{key!r}]", value, "tag values are at most 256 characters")
        problems.raise_if_any(self.node.path)

        self.handler = handler
        self.implementation: SmaImplementation = chosen
        """Which implementation defines the SMA in this stack."""
        self._region = region

        if chosen is SmaImplementation.NATIVE:
            resource = chime.CfnSipMediaApplication(
                self,
                "Resource",
                tags=[cdk.CfnTag(key=k, value=v) for k, v in (tags or {}).items()] or None,
                aws_region=region,
                name=resolved_name,
                endpoints=[
                    chime.CfnSipMediaApplication.SipMediaApplicationEndpointProperty(
                        lambda_arn=handler.function_arn
                    )
                ],
            )
            self._id: str = resource.attr_sip_media_application_id
            self._arn: str = resource.attr_sip_media_application_arn
            self.resource: cdk.CfnResource | cdk.CustomResource = resource
        else:
            provider = ChimeVoiceProvider.of(self)
            # CreateSipMediaApplication may check or add the handler's invoke permission with the
            # provider's credentials; the provider's functions depend on its policy, so the grant
            # is in place before the SMA is created.
            provider.allow_invoke_permission(handler)
            custom = provider.custom_resource(
                self,
                "Resource",
                resource_type="ChimeSipMediaApplication",
                properties={
                    "Name": resolved_name,
                    "AwsRegion": region,
                    "LambdaArn": handler.function_arn,
                },
            )
            # Stack tags (cdk.Tags.of(stack)) are known only once the app synthesizes.
            cdk.Aspects.of(self).add(_TagsProperty(custom, dict(tags or {})))
            self._id = custom.get_att_string("SipMediaApplicationId")
            self._arn = custom.get_att_string("SipMediaApplicationArn")
            self.resource = custom

        # The permission names the SMA's ARN, so it is its own resource that depends on the SMA:
        # SMA -> function ARN, permission -> SMA ARN, with no cycle.
        self.invoke_permission = lambda_.CfnPermission(
            self,
            "InvokePermission",
            action="lambda:InvokeFunction",
            function_name=handler.function_arn,
            principal=CHIME_SERVICE_PRINCIPAL,
            source_account=stack.account,
            source_arn=self._arn,
        )

        self.logging: cdk.CustomResource | None = None
        if message_logs:
            self.logging = ChimeVoiceProvider.of(self).custom_resource(
                self,
                "MessageLogs",
                resource_type="ChimeSmaLogging",
                properties={
                    "SipMediaApplicationId": self._id,
                    "EnableSipMediaApplicationMessageLogs": "true",
                },
            )

    @staticmethod
    def from_sip_media_application_id(
        scope: Construct,
        construct_id: str,
        sip_media_application_id: str,
        *,
        region: str | None = None,
    ) -> ISipMediaApplication:
        """Refer to an SMA made elsewhere. Default region: the stack's."""
        resolved = region if region is not None else cdk.Stack.of(scope).region
        return _ImportedSipMediaApplication(scope, construct_id, sip_media_application_id, resolved)
