"""Post-call transcription: Amazon Transcribe jobs for delivered recordings, on Step Functions.

``Recording Available`` (the catalog's event) -> an EventBridge rule -> the per-recording state
machine (plan, start, await the job's event or read its status, record; see
``_transcription_flow``) -> the transcription function
(``recording_processor.transcription.handler.handler``, in the catalog's processor asset) ->
Amazon Transcribe, which reads the recording and writes its outputs under
``transcripts/<transactionId>/`` of the recording bucket through a data access role (that role is
also what lets Transcribe queue jobs beyond the concurrency quota). Transcribe's job state change
events (default bus) return the waiting execution's task token through the same function (see
``_transcription_events``). The backfill state machine runs the same machine for every object
under given key prefixes.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk_recording._assets import ASSET_EXCLUDES, lambda_asset_path
from cdk_recording._catalog import EVENT_SOURCE, RecordingCatalog
from cdk_recording._catalog_functions import NO_RESERVATION, NO_VPC, catalog_key_statement
from cdk_recording._catalog_queues import queue
from cdk_recording._compliance import acknowledge
from cdk_recording._defaults import (
    HANDLER_ARCHITECTURE,
    HANDLER_RUNTIME,
    LOG_RETENTION,
    TRANSCRIPTS_PREFIX,
)
from cdk_recording._logs import encrypted_log_group, function_role
from cdk_recording._retention import RETENTION_ENVIRONMENT_VARIABLE, retention_statements
from cdk_recording._storage import RecordingStorage
from cdk_recording._transcription_events import (
    execution_ended_rule,
    job_event_rules,
    task_success_policy,
)
from cdk_recording._transcription_flow import (
    BACKFILL_TIMEOUT,
    RECORDING_TIMEOUT,
    backfill_definition,
    recording_definition,
)
from cdk_recording._transcription_options import TranscriptionOptions
from cdk_recording._validation import Problems

__all__ = ["TRANSCRIPTION_ENVIRONMENT_VARIABLE", "RecordingTranscription"]

#: The environment variable holding the options as JSON (``TranscriptionOptions.to_config``).
TRANSCRIPTION_ENVIRONMENT_VARIABLE = "TRANSCRIPTION"
_HANDLER = "recording_processor.transcription.handler.handler"
_TIMEOUT = cdk.Duration.seconds(30)
_MEMORY_MB = 256
_TRANSCRIBE = "transcribe.amazonaws.com"

_STATE_MACHINE_ROLE_REASON = (
    "aws-cdk-lib's StateMachine writes the permissions of its tasks to the role's default policy: "
    "lambda:InvokeFunction on the transcription function (and its versions, ':*'), "
    "states:StartExecution on the per-recording machine and DescribeExecution/StopExecution on "
    "its executions (unknown until they start, hence the execution wildcard), s3:ListBucket on "
    "the recording bucket, and the CloudWatch Logs delivery and X-Ray actions, which support "
    "only Resource '*'."
)


class RecordingTranscription(Construct):
    """Transcribes every delivered recording with Amazon Transcribe (Call Analytics first).

    Channel roles come from the catalog's leg and direction (never assumed); mono recordings and
    languages Call Analytics lacks get a standard job. Outputs land under
    ``transcripts/<transactionId>/`` in the recording bucket, with its encryption; the result is
    cataloged (``TRANSCRIPT#<callId>``) and announced (``Transcript Available`` or
    ``Transcription Failed``) on the catalog's bus.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: RecordingStorage,
        catalog: RecordingCatalog,
        options: TranscriptionOptions,
        log_retention: logs.RetentionDays = LOG_RETENTION,
    ) -> None:
        """
        :param storage: the recording storage (its bucket is read and receives the transcripts).
        :param catalog: the catalog whose ``Recording Available`` events start transcription and
            whose table receives the transcript items. Must catalog ``storage``.
        :param options: what to transcribe and how (:class:`TranscriptionOptions`).
        :param log_retention: retention of the function's and state machines' log groups.
            Default: one year.
        """
        super().__init__(scope, construct_id)
        problems = Problems()
        if not isinstance(options, TranscriptionOptions):
            problems.add("options", options, "must be a TranscriptionOptions")
        else:
            options.validate(problems, "options")
        if catalog.storage is not storage:
            problems.add(
                "catalog",
                catalog.node.path,
                f"catalogs {catalog.storage.node.path}, not storage={storage.node.path}; pass the "
                "catalog of the same storage",
            )
        problems.raise_if_any(self.node.path)
        for note in options.notes():
            cdk.Annotations.of(self).add_warning_v2("cdk-recording:transcription", note)

        stack = cdk.Stack.of(self)
        bucket = storage.bucket
        key = storage.encryption_key
        self.options = options
        self.storage = storage
        self.catalog = catalog
        self.transcripts_prefix: str = TRANSCRIPTS_PREFIX
        """Key prefix of every transcription output: ``transcripts/<transactionId>/...``."""

        # -- the role Transcribe assumes to read recordings and write transcripts ----------------
        self.data_access_role = iam.Role(
            self,
            "DataAccessRole",
            assumed_by=iam.ServicePrincipal(
                _TRANSCRIBE, conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="Amazon Transcribe reads recordings and writes transcripts",
        )
        """The data access role passed to every job (also what enables job queueing)."""
        data_statements = [
            iam.PolicyStatement(
                sid="ReadRecordings",
                actions=["s3:GetObject"],
                resources=[storage.recordings_arn()],
            ),
            iam.PolicyStatement(
                sid="WriteTranscripts",
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{TRANSCRIPTS_PREFIX}/*")],
            ),
            iam.PolicyStatement(
                sid="ListRecordingsAndTranscripts",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={
                    "StringLike": {
                        "s3:prefix": [f"{storage.recording_prefix}/*", f"{TRANSCRIPTS_PREFIX}/*"]
                    }
                },
            ),
        ]
        if key is not None:
            data_statements.append(
                iam.PolicyStatement(
                    sid="RecordingKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}
                    },
                )
            )
        self.data_access_role.add_managed_policy(
            iam.ManagedPolicy(
                self.data_access_role,
                "Policy",
                description="Amazon Transcribe: read recordings, write transcripts",
                statements=data_statements,
            )
        )
        self._acknowledge_object_wildcards(
            self.data_access_role,
            [storage.recording_prefix, TRANSCRIPTS_PREFIX],
            "Transcribe reads any recording (jobs are per recording, known at run time) and "
            "writes only under the transcripts prefix; the wildcards are those two prefixes.",
        )

        # -- the function the state machine calls ------------------------------------------------
        table = catalog.table
        statements = [
            iam.PolicyStatement(
                sid="TranscribeJobs",
                actions=[
                    "transcribe:StartCallAnalyticsJob",
                    "transcribe:StartTranscriptionJob",
                    "transcribe:GetCallAnalyticsJob",
                    "transcribe:GetTranscriptionJob",
                    # A FAILED job is deleted before it is started again under its name.
                    "transcribe:DeleteCallAnalyticsJob",
                    "transcribe:DeleteTranscriptionJob",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="PassDataAccessRole",
                actions=["iam:PassRole"],
                resources=[self.data_access_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": _TRANSCRIBE}},
            ),
            iam.PolicyStatement(
                sid="CatalogItems",
                # Single items of a call (REC#, TRANSCRIPT#): no query, no index, no delete.
                actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                resources=[table.table_arn],
            ),
            iam.PolicyStatement(
                sid="PutTranscriptionEvents",
                actions=["events:PutEvents"],
                resources=[catalog.event_bus.event_bus_arn],
                conditions={"StringEquals": {"events:source": EVENT_SOURCE}},
            ),
        ]
        if key is not None:
            # Jobs name the recording key as OutputEncryptionKMSKeyId (else Transcribe writes its
            # outputs SSE-S3 into an SSE-KMS bucket); the caller must be allowed to use the key.
            statements.append(
                iam.PolicyStatement(
                    sid="TranscriptKey",
                    actions=["kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                    resources=[key.key_arn],
                )
            )
            statements.append(catalog_key_statement(key, stack))
        # Transcripts are records too: with Object Lock, each output gets its recording's
        # retention and class tag when it is recorded (the arrival processor's policy).
        retention = storage.retention_environment()
        if retention is not None:
            statements.extend(
                retention_statements(
                    bucket.arn_for_objects(f"{TRANSCRIPTS_PREFIX}/*"),
                    sid="RetainTranscripts",
                    legal_hold=True,
                )
            )
        description = "cdk-recording: plans, starts and records Amazon Transcribe jobs"
        log_group = encrypted_log_group(self, "FunctionLogs", log_retention)
        role = function_role(
            self,
            "FunctionRole",
            description=description,
            log_group=log_group,
            statements=statements,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=HANDLER_RUNTIME,
            architecture=HANDLER_ARCHITECTURE,
            # The catalog's asset: the same folder and excludes, so the same hash and one upload.
            code=lambda_.Code.from_asset(
                lambda_asset_path("recording_processor"), exclude=[*ASSET_EXCLUDES, "tests"]
            ),
            handler=_HANDLER,
            memory_size=_MEMORY_MB,
            timeout=_TIMEOUT,
            log_group=log_group,
            role=role.without_policy_updates(),
            tracing=lambda_.Tracing.ACTIVE,
            description=description,
            environment={
                TRANSCRIPTION_ENVIRONMENT_VARIABLE: json.dumps(
                    options.to_config(), separators=(",", ":"), sort_keys=True
                ),
                "DATA_ACCESS_ROLE_ARN": self.data_access_role.role_arn,
                "CATALOG_TABLE": table.table_name,
                "RECORDING_BUCKET": bucket.bucket_name,
                "RECORDING_PREFIX": storage.recording_prefix,
                "EVENT_BUS": catalog.event_bus.event_bus_name,
                "METRICS_NAMESPACE": catalog.metrics_namespace,
                "APPLICATION": catalog.application_name,
                **({"OUTPUT_KMS_KEY_ID": key.key_arn} if key is not None else {}),
                **({RETENTION_ENVIRONMENT_VARIABLE: retention} if retention is not None else {}),
            },
        )
        """The transcription function (actions plan, start, status, record, fail, await,
        job-event)."""
        acknowledge(
            role,
            ["AwsSolutions::AwsSolutions-IAM5[Resource::*]"],
            "X-Ray's PutTraceSegments/PutTelemetryRecords, and Amazon Transcribe's "
            "StartCallAnalyticsJob/StartTranscriptionJob/GetCallAnalyticsJob/GetTranscriptionJob "
            "and DeleteCallAnalyticsJob/DeleteTranscriptionJob (a FAILED job is deleted before it "
            "is started again under its name): job names are derived from each recording's key "
            "at run time, so no job ARN exists to name in advance; the actions are listed "
            "explicitly, never a wildcard.",
        )
        if retention is not None:
            self._acknowledge_object_wildcards(
                role,
                [TRANSCRIPTS_PREFIX],
                "The function locks and tags each transcript a job wrote (keys known only when "
                "the job completes), and only under the transcripts prefix.",
            )
        acknowledge(
            self.function,
            [
                "HIPAA.Security::HIPAA.Security-LambdaInsideVPC",
                "NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC",
                "PCI.DSS.321::PCI.DSS.321-LambdaInsideVPC",
            ],
            NO_VPC,
        )
        acknowledge(
            self.function,
            [
                "HIPAA.Security::HIPAA.Security-LambdaConcurrency",
                "NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",
            ],
            NO_RESERVATION,
        )
        acknowledge(
            self.function,
            [
                "HIPAA.Security::HIPAA.Security-LambdaDLQ",
                "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
                "Serverless::Serverless-LambdaDLQ",
            ],
            "Invoked synchronously by the transcription state machines, which retry and catch "
            "its errors (every failure is cataloged and announced), and asynchronously only by "
            "the rules on Transcribe's job state change events, which have a dead-letter queue "
            "for undeliverable events; a job event that fails in the function costs its "
            "execution one round's timeout, after which the status read decides.",
        )

        # -- the state machines --------------------------------------------------------------------
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment="cdk-recording: transcribe one recording",
            definition_body=sfn.DefinitionBody.from_chainable(
                recording_definition(self, self.function)
            ),
            timeout=RECORDING_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=encrypted_log_group(self, "StateMachineLogs", log_retention),
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),
        )
        """The per-recording state machine (input: a Recording Available detail or bucket/key)."""
        self.backfill_state_machine = sfn.StateMachine(
            self,
            "BackfillStateMachine",
            comment="cdk-recording: transcribe every recording under the given key prefixes",
            definition_body=sfn.DefinitionBody.from_chainable(
                backfill_definition(
                    self,
                    bucket=bucket,
                    recording_machine=self.state_machine,
                    concurrency=options.backfill_concurrency,
                )
            ),
            timeout=BACKFILL_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=encrypted_log_group(self, "BackfillLogs", log_retention),
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),
        )
        """The backfill state machine (input: ``{"prefixes": [...]}``, 1 to 366 prefixes)."""
        self._acknowledge_machine_roles()

        # -- the trigger ---------------------------------------------------------------------------
        self.trigger_dead_letter_queue = queue(self, "TriggerDeadLetters", None, dead_letter=True)
        """Recording Available events EventBridge could not start the machine for."""
        trigger_role = iam.Role(
            self,
            "TriggerRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="EventBridge starts the transcription state machine",
        )
        trigger_role.add_managed_policy(
            iam.ManagedPolicy(
                trigger_role,
                "Policy",
                statements=[
                    iam.PolicyStatement(
                        sid="StartTranscription",
                        actions=["states:StartExecution"],
                        resources=[self.state_machine.state_machine_arn],
                    )
                ],
            )
        )
        self.trigger_rule = events.Rule(
            self,
            "TriggerRule",
            description="cdk-recording: transcribe each recording when it becomes available",
            event_bus=catalog.event_bus,
            event_pattern=events.EventPattern(
                source=[EVENT_SOURCE],
                detail_type=["Recording Available"],
                detail={"bucket": [bucket.bucket_name]},
            ),
            targets=[
                targets.SfnStateMachine(
                    self.state_machine,
                    input=events.RuleTargetInput.from_event_path("$.detail"),
                    role=trigger_role.without_policy_updates(),
                    dead_letter_queue=self.trigger_dead_letter_queue,
                    retry_attempts=185,
                    max_event_age=cdk.Duration.hours(24),
                )
            ],
        )
        """The rule on the catalog's bus that starts the machine for each delivered recording."""

        # -- the job events that end a wait ------------------------------------------------------
        self.job_event_dead_letter_queue = queue(
            self, "JobEventDeadLetters", None, dead_letter=True
        )
        """Transcribe job state change events EventBridge could not hand to the function."""
        self.job_event_rules = job_event_rules(
            self, function=self.function, dead_letter_queue=self.job_event_dead_letter_queue
        )
        """The rules on the default bus (standard and Call Analytics jobs, COMPLETED or FAILED)."""
        self.execution_ended_rule = execution_ended_rule(
            self,
            "ExecutionEndedRule",
            function=self.function,
            state_machine=self.state_machine,
            dead_letter_queue=self.job_event_dead_letter_queue,
        )
        """The rule that records a transcription whose execution timed out or was stopped."""
        task_success_policy(self, "WakePolicy", role=role, state_machine=self.state_machine)

        cdk.CfnOutput(
            self,
            "TranscriptionStateMachineArn",
            value=self.state_machine.state_machine_arn,
            description="Transcribes one recording (input: Recording Available detail or "
            '{"bucket","key"})',
        )
        cdk.CfnOutput(
            self,
            "TranscriptionBackfillStateMachineArn",
            value=self.backfill_state_machine.state_machine_arn,
            description='Transcribes recordings under key prefixes (input: {"prefixes": [...]}); '
            "`cdk-recording recordings transcribe` starts it",
        )

    # -- grants ------------------------------------------------------------------------------------

    def _served_patterns(self) -> list[str]:
        if not self.options.redaction or not self.options.serve_redacted:
            return [f"{TRANSCRIPTS_PREFIX}/*"]
        # Call Analytics writes redacted-analytics/<job>.json (and .wav); a standard job writes
        # redacted-<job>.json. Job names start with the recording's timestamp, never "redacted-".
        return [f"{TRANSCRIPTS_PREFIX}/*/redacted-*"]

    def grant_read_transcripts(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read the served transcripts: only redacted output when redaction is on
        (and ``serve_redacted``), else every output under ``transcripts/``."""
        return self._grant_read(grantee, self._served_patterns())

    def grant_read_unredacted(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read every output under ``transcripts/``, unredacted ones included.

        Give it only to those who may hear the recordings: an unredacted transcript is as
        sensitive as the audio.
        """
        return self._grant_read(grantee, [f"{TRANSCRIPTS_PREFIX}/*"])

    def _grant_read(self, grantee: iam.IGrantable, patterns: list[str]) -> iam.Grant:
        bucket = self.storage.bucket
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject"],
            resource_arns=[bucket.arn_for_objects(p) for p in patterns],
        )
        key = self.storage.encryption_key
        if key is not None:
            key.grant_decrypt(grantee)
        return grant

    # -- helpers -------------------------------------------------------------------------------------

    def _acknowledge_machine_roles(self) -> None:
        stack = cdk.Stack.of(self)
        region = "<AWS::Region>" if cdk.Token.is_unresolved(stack.region) else stack.region
        account = "<AWS::AccountId>" if cdk.Token.is_unresolved(stack.account) else stack.account

        def logical(construct: Construct) -> str:
            return stack.get_logical_id(construct.node.default_child)  # type: ignore[arg-type]

        def executions(machine: sfn.StateMachine) -> str:
            name = {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": logical(machine)}]}]}
            return (
                f"arn:<AWS::Partition>:states:{region}:{account}:execution:"
                f"{json.dumps(name, separators=(',', ':'))}"
            )

        iam5 = "AwsSolutions::AwsSolutions-IAM5"
        inline = [
            f"{pack}::{pack}-IAMNoInlinePolicy"
            for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
        ]
        acknowledge(
            self.state_machine,
            [
                f"{iam5}[Resource::*]",
                f"{iam5}[Resource::<{logical(self.function)}.Arn>:*]",
                *inline,
            ],
            _STATE_MACHINE_ROLE_REASON,
        )
        acknowledge(
            self.backfill_state_machine,
            [
                f"{iam5}[Resource::*]",
                f"{iam5}[Resource::{executions(self.state_machine)}*]",
                f"{iam5}[Resource::{executions(self.backfill_state_machine)}:*]",
                f"{iam5}[Resource::{executions(self.backfill_state_machine)}/*:*]",
                *inline,
            ],
            _STATE_MACHINE_ROLE_REASON
            + " The Distributed Map's own policy (states:StartExecution, DescribeExecution and "
            "StopExecution on this machine's map runs) is defined by aws-cdk-lib's DistributedMap "
            "as an inline policy it exposes no setting for.",
        )

    def _acknowledge_object_wildcards(
        self, scope: Construct, prefixes: list[str], reason: str
    ) -> None:
        bucket = self.storage.bucket.node.default_child
        if not isinstance(bucket, cdk.CfnResource):
            return
        logical = cdk.Stack.of(self).get_logical_id(bucket)
        acknowledge(
            scope,
            [f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical}.Arn>/{p}/*]" for p in prefixes],
            reason,
        )
