"""What the recording storage lets the Chime service do: bucket and key policy statements.

The bucket statements let the service write recordings under the recording prefix and read prompts
under the prompts prefix; :class:`~cdk_recording.RecordingStorage` adds the ``aws:SourceAccount`` /
``aws:SourceArn`` conditions as SIP media applications register. Where the stack cannot change a
policy (an imported bucket or key), :class:`WarnWithStatements` prints the statements to add by hand.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

__all__ = [
    "CHIME_SERVICE_PRINCIPAL",
    "WarnWithStatements",
    "chime_key_statement",
    "service_statements",
]

#: The service principal that writes recordings, reads prompts and invokes the handler (DG, PSTN audio).
CHIME_SERVICE_PRINCIPAL = "voiceconnector.chime.amazonaws.com"


def service_statements(recordings_arn: str, prompts_arn: str) -> list[iam.PolicyStatement]:
    """The bucket statements: the service writes recordings and reads prompts, nothing else."""
    principal = iam.ServicePrincipal(CHIME_SERVICE_PRINCIPAL)
    return [
        iam.PolicyStatement(
            sid="ChimeSmaWritesRecordings",
            principals=[principal],
            actions=["s3:PutObject", "s3:PutObjectAcl"],
            resources=[recordings_arn],
        ),
        iam.PolicyStatement(
            sid="ChimeSmaReadsPrompts",
            principals=[principal],
            actions=["s3:GetObject"],
            resources=[prompts_arn],
        ),
    ]


def chime_key_statement(scope: Construct, account: str) -> iam.PolicyStatement:
    """The key policy statement that lets the service encrypt recordings through S3.

    A key policy is part of the key, so naming the SMA here would make the key depend on the SMA,
    which depends on the handler, whose configuration names the bucket, which depends on the key: a
    cycle CloudFormation rejects. So the key admits any SMA of this account and Region, and only
    through S3 in this Region; the bucket policy still names the SMA.
    """
    stack = cdk.Stack.of(scope)
    return iam.PolicyStatement(
        sid="ChimeSmaEncryptsRecordings",
        principals=[iam.ServicePrincipal(CHIME_SERVICE_PRINCIPAL)],
        actions=["kms:GenerateDataKey", "kms:Decrypt"],
        resources=["*"],
        conditions={
            "StringEquals": {
                "aws:SourceAccount": account,
                "kms:ViaService": f"s3.{stack.region}.amazonaws.com",
            },
            "ArnLike": {
                "aws:SourceArn": stack.format_arn(
                    service="chime",
                    resource="sma",
                    resource_name="*",
                    arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
                )
            },
        },
    )


@jsii.implements(cdk.IAspect)
class WarnWithStatements:
    """Warn, when the app synthesizes, with the statements the stack could not add itself."""

    def __init__(
        self,
        storage: Construct,
        warning_id: str,
        text: str,
        statements: list[iam.PolicyStatement],
    ) -> None:
        self._storage = storage
        self._id = warning_id
        self._text = text
        self._statements = statements
        self._done = False

    def visit(self, node: IConstruct) -> None:
        if self._done or node is not self._storage:
            return
        self._done = True
        stack = cdk.Stack.of(self._storage)
        rendered = json.dumps(
            stack.resolve({"Statement": [s.to_statement_json() for s in self._statements]}),
            sort_keys=True,
        )
        cdk.Annotations.of(self._storage).add_warning_v2(
            f"cdk-recording:storage:{self._id}",
            f"{self._text} (values in {{...}} are CloudFormation expressions; the stack outputs "
            f"show the SMA id): {rendered}",
        )
