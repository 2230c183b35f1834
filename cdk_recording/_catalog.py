"""After delivery: the recording catalog, its processors, and the events it puts on a bus.

Three paths, each on an AWS engine (no loop or scheduler of our own):

* **arrival**: S3 EventBridge notifications on the recording bucket -> a rule on the default bus
  (``Object Created`` under the recording prefix) -> an SQS queue (dead-letter queue after 5
  receives) -> the arrival processor -> the catalog table and a ``Recording Available`` event;
* **call facts**: the recording handler sends one message per invocation that changed something
  (parties, consent, recording started/paused/resumed/stopped) to an encrypted SQS queue -> the
  facts consumer -> the catalog (the consent and recording audit trail);
* **delivery assurance**: an EventBridge schedule (every 5 minutes) -> the sweep, which marks
  recordings started but not delivered by their deadline ``missing`` and puts ``Recording Missing``.

The items and indexes are described in ``docs/catalog.md``; the index names and keys come from the
runtime's ``recording_processor.schema`` so the table and the code cannot drift apart (a construct
test compares them).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_recording._assets import ASSET_EXCLUDES, lambda_asset_path
from cdk_recording._catalog_functions import catalog_key_statement, processor_function
from cdk_recording._catalog_queues import consume, queue, subscribe
from cdk_recording._compliance import acknowledge
from cdk_recording._defaults import (
    LOG_RETENTION,
    METRICS_NAMESPACE,
)
from cdk_recording._handler import application_name
from cdk_recording._metrics import application_metric
from cdk_recording._retention import RETENTION_ENVIRONMENT_VARIABLE
from cdk_recording._storage import RecordingStorage
from cdk_recording._validation import Problems, is_token

__all__ = ["EVENT_SOURCE", "INDEXES", "RecordingCatalog"]

#: The ``source`` of every event the catalog puts on the bus.
EVENT_SOURCE = "cdk-recording"
#: Index name -> (partition key, sort key); the same as ``recording_processor.schema.INDEXES``.
INDEXES: dict[str, tuple[str, str]] = {
    "byNumber": ("gsi1pk", "gsi1sk"),
    "byDay": ("gsi2pk", "gsi2sk"),
    "byPending": ("gsi3pk", "gsi3sk"),
}
_PENDING_INDEX = "byPending"

#: Receives before a message goes to the dead-letter queue.
_MAX_RECEIVES = 5
#: The shortest ``missing_after`` with retention classes: it covers a deferred recording's wait.
_DEFERRAL_GRACE_MINUTES = 15
#: The arrival processor hashes the whole object: up to about 500 MB for a 4-hour stereo call.
_ARRIVAL_TIMEOUT = cdk.Duration.minutes(2)
_ARRIVAL_MEMORY_MB = 512
_FACTS_TIMEOUT = cdk.Duration.seconds(30)
_SWEEP_TIMEOUT = cdk.Duration.minutes(2)
_SMALL_MEMORY_MB = 256
_SWEEP_EVERY = cdk.Duration.minutes(5)


class RecordingCatalog(Construct):
    """A DynamoDB catalog of recordings and calls, kept current from S3 and the recording handler.

    On by default in :class:`CallRecording` (``catalog=False`` turns it off); usable on its own with
    any :class:`RecordingStorage` whose bucket this stack defines (EventBridge notifications are
    turned on for it) or that has them on already.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: RecordingStorage,
        event_bus: events.IEventBus | None = None,
        missing_after: cdk.Duration | None = None,
        max_call_duration: cdk.Duration | None = None,
        metrics_namespace: str = METRICS_NAMESPACE,
        application: str | None = None,
        log_retention: logs.RetentionDays = LOG_RETENTION,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param storage: the recording storage whose deliveries are cataloged.
        :param event_bus: where ``Recording Available`` and ``Recording Missing`` go. Default: the
            account's default bus.
        :param missing_after: how long after a call ends its recording may take to arrive before
            it is reported missing. Default: 15 minutes (1 minute to 24 hours; at least 15
            minutes when the storage has retention classes).
        :param max_call_duration: the longest call expected; a recording whose end was never
            reported is awaited this long after it started, plus ``missing_after``. Default: 24
            hours (1 to 48 hours).
        :param metrics_namespace: CloudWatch namespace of the metrics. Default: ``CdkRecording``.
        :param application: the metrics' ``Application`` dimension. Default: the construct path.
        :param log_retention: retention of the processors' log groups. Default: one year.
        :param removal_policy: what happens to the table when the stack is deleted. Default:
            ``RETAIN`` (the catalog holds phone numbers and the consent audit trail).
        """
        super().__init__(scope, construct_id)
        missing_after = missing_after or cdk.Duration.minutes(15)
        max_call_duration = max_call_duration or cdk.Duration.hours(24)
        problems = Problems()
        grace_minutes = _whole(problems, "missing_after", missing_after, "minutes", 1, 24 * 60)
        max_call_hours = _whole(problems, "max_call_duration", max_call_duration, "hours", 1, 48)
        if storage.retention_classes and grace_minutes < _DEFERRAL_GRACE_MINUTES:
            problems.add(
                "missing_after",
                missing_after.to_human_string(),
                f"must be at least {_DEFERRAL_GRACE_MINUTES} minutes with retention_classes: a "
                "recording whose call has not ended in the catalog is deferred once before it is "
                "cataloged (about a minute, or the arrival queue's 12-minute visibility timeout), "
                "and a shorter wait would report it missing meanwhile",
            )
        problems.raise_if_any(self.node.path)

        stack = cdk.Stack.of(self)
        self._log_retention = log_retention
        self.storage = storage
        self.metrics_namespace = metrics_namespace
        self.application_name: str = application or application_name(self)
        """The value of the metrics' ``Application`` dimension."""
        self.event_bus: events.IEventBus = event_bus or events.EventBus.from_event_bus_name(
            self, "DefaultBus", "default"
        )
        """The bus the catalog's events go to."""
        key = storage.encryption_key

        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=(
                dynamodb.TableEncryption.CUSTOMER_MANAGED
                if key is not None
                else dynamodb.TableEncryption.AWS_MANAGED
            ),
            encryption_key=key,
            deletion_protection=removal_policy == cdk.RemovalPolicy.RETAIN,
            removal_policy=removal_policy,
        )
        """The catalog table (``docs/catalog.md``)."""
        acknowledge(
            self.table,
            [
                "HIPAA.Security::HIPAA.Security-DynamoDBInBackupPlan",
                "NIST.800.53.R5::NIST.800.53.R5-DynamoDBInBackupPlan",
            ],
            "Point-in-time recovery is on (35 days of restores to any second) and the table is "
            "retained with deletion protection. An AWS Backup plan and vault are account-wide "
            "choices of the operator (schedule, vault lock, cross-account copy); add the table "
            "to the organization's plan by its ARN or by tag.",
        )
        for index, (partition, sort) in INDEXES.items():
            self.table.add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(
                    name=partition, type=dynamodb.AttributeType.STRING
                ),
                sort_key=dynamodb.Attribute(name=sort, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )

        code = lambda_.Code.from_asset(
            lambda_asset_path("recording_processor"), exclude=[*ASSET_EXCLUDES, "tests"]
        )
        environment = {
            "CATALOG_TABLE": self.table.table_name,
            "RECORDING_BUCKET": storage.bucket.bucket_name,
            "RECORDING_PREFIX": storage.recording_prefix,
            "EVENT_BUS": self.event_bus.event_bus_name,
            "METRICS_NAMESPACE": metrics_namespace,
            "APPLICATION": self.application_name,
            "GRACE_MINUTES": str(grace_minutes),
            "MAX_CALL_HOURS": str(max_call_hours),
        }
        table_items = iam.PolicyStatement(
            sid="CatalogItems",
            actions=["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"],
            resources=[self.table.table_arn],
        )
        # A table encrypted with the recording key: every reader and writer uses the key, through
        # DynamoDB only.
        table_key = [catalog_key_statement(key, stack)] if key is not None else []
        put_events = iam.PolicyStatement(
            sid="PutCatalogEvents",
            actions=["events:PutEvents"],
            resources=[self.event_bus.event_bus_arn],
            conditions={"StringEquals": {"events:source": EVENT_SOURCE}},
        )

        # -- arrival -----------------------------------------------------------------------------
        storage.enable_event_bridge_notifications()
        self.arrival_dead_letter_queue = queue(self, "ArrivalDeadLetters", None, dead_letter=True)
        """Arrival events that failed 5 times: inspect, fix, then redrive them."""
        # With retention classes the first receive may be a deferral (the call has not ended):
        # one more receive keeps 5 attempts for real failures.
        arrival_receives = _MAX_RECEIVES + (1 if storage.retention_classes else 0)
        self.arrival_queue = queue(
            self,
            "ArrivalQueue",
            None,
            visibility=cdk.Duration.seconds(_ARRIVAL_TIMEOUT.to_seconds() * 6),
            dead_letter=sqs.DeadLetterQueue(
                queue=self.arrival_dead_letter_queue, max_receive_count=arrival_receives
            ),
        )
        """S3 ``Object Created`` events of recordings, waiting for the arrival processor."""
        read_statements = [
            iam.PolicyStatement(
                sid="ReadRecordings",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[storage.recordings_arn()],
            )
        ]
        if key is not None:
            read_statements.append(
                iam.PolicyStatement(
                    sid="DecryptRecordings",
                    actions=["kms:Decrypt"],
                    resources=[key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}
                    },
                )
            )
        # Object Lock is applied per recording here, not by a bucket default (see _retention).
        retention = storage.retain_at_arrival()
        self.retains_at_arrival: bool = retention is not None
        """Whether the arrival processor locks recordings (the storage has ``object_lock_mode``)."""
        arrival_environment = dict(environment)
        retention_statements: list[iam.PolicyStatement] = []
        if retention is not None:
            arrival_environment[RETENTION_ENVIRONMENT_VARIABLE], retention_statements = retention
            # The call's NUM# items (its own partition, never an index) name its numbers.
            retention_statements.append(
                iam.PolicyStatement(
                    sid="CallNumbers", actions=["dynamodb:Query"], resources=[self.table.table_arn]
                )
            )
        self.arrival_function = processor_function(
            self,
            "Arrival",
            code,
            "recording_processor.handler.handler",
            arrival_environment,
            description="cdk-recording: catalogs delivered recordings (hash, metadata, event)",
            # TransactWriteItems is authorized per item by UpdateItem and ConditionCheckItem.
            statements=[
                *read_statements,
                *retention_statements,
                table_items,
                *table_key,
                put_events,
                *consume(self.arrival_queue, None, "ArrivalQueue"),
            ],
            timeout=_ARRIVAL_TIMEOUT,
            memory_size=_ARRIVAL_MEMORY_MB,
            log_retention=self._log_retention,
        )
        # One recording per invocation: the timeout then bounds the hash of one object (a 4-hour
        # stereo call is about 460 MB), never of a batch of them.
        subscribe(self.arrival_function, self.arrival_queue, batch_size=1)
        bucket = storage.bucket.node.default_child
        if isinstance(bucket, cdk.CfnResource):
            acknowledge(
                self.node.find_child("ArrivalRole"),
                [
                    "AwsSolutions::AwsSolutions-IAM5[Resource::"
                    f"<{stack.get_logical_id(bucket)}.Arn>/{storage.recording_prefix}/*]"
                ],
                "Read access to every recording object: the processor hashes each new recording "
                "and reads its metadata; the wildcard is the recording prefix and nothing else.",
            )
        self.arrival_rule = events.Rule(
            self,
            "ArrivalRule",
            description="cdk-recording: recordings created in the recording bucket",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [storage.bucket.bucket_name]},
                    "object": {"key": [{"prefix": f"{storage.recording_prefix}/"}]},
                },
            ),
            targets=[
                targets.SqsQueue(
                    self.arrival_queue, dead_letter_queue=self.arrival_dead_letter_queue
                )
            ],
        )

        # -- call facts ----------------------------------------------------------------------------
        self.facts_dead_letter_queue = queue(self, "FactsDeadLetters", key, dead_letter=True)
        """Call facts that failed 5 times."""
        self.facts_queue = queue(
            self,
            "FactsQueue",
            key,
            visibility=cdk.Duration.seconds(_FACTS_TIMEOUT.to_seconds() * 6),
            dead_letter=sqs.DeadLetterQueue(
                queue=self.facts_dead_letter_queue, max_receive_count=_MAX_RECEIVES
            ),
        )
        """Call facts from the recording handler (full phone numbers: encrypted, TLS only)."""
        self.facts_function = processor_function(
            self,
            "Facts",
            code,
            "recording_processor.handler.facts_handler",
            environment,
            description="cdk-recording: records call facts (parties, consent, recording timeline)",
            statements=[
                iam.PolicyStatement(
                    sid="CatalogItems",
                    # Query reads the call's own items (partition TX#<id>), never an index.
                    actions=[
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:Query",
                    ],
                    resources=[self.table.table_arn],
                ),
                *table_key,
                *consume(self.facts_queue, key, "FactsQueue"),
            ],
            timeout=_FACTS_TIMEOUT,
            memory_size=_SMALL_MEMORY_MB,
            log_retention=self._log_retention,
        )
        subscribe(self.facts_function, self.facts_queue, batch_size=10)

        # -- delivery assurance ------------------------------------------------------------------
        self.sweep_function = processor_function(
            self,
            "Sweep",
            code,
            "recording_processor.handler.sweep_handler",
            environment,
            description="cdk-recording: reports recordings started but not delivered in time",
            statements=[
                iam.PolicyStatement(
                    sid="OverdueRecordings",
                    actions=["dynamodb:Query"],
                    resources=[f"{self.table.table_arn}/index/{_PENDING_INDEX}"],
                ),
                iam.PolicyStatement(
                    sid="MarkMissing",
                    actions=["dynamodb:UpdateItem"],
                    resources=[self.table.table_arn],
                ),
                *table_key,
                put_events,
            ],
            timeout=_SWEEP_TIMEOUT,
            memory_size=_SMALL_MEMORY_MB,
            log_retention=self._log_retention,
        )
        self.sweep_rule = events.Rule(
            self,
            "SweepSchedule",
            description="cdk-recording: look for overdue recordings",
            schedule=events.Schedule.rate(_SWEEP_EVERY),
            targets=[targets.LambdaFunction(self.sweep_function, retry_attempts=2)],
        )
        acknowledge(
            self.sweep_function,
            [
                "HIPAA.Security::HIPAA.Security-LambdaDLQ",
                "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
                "Serverless::Serverless-LambdaDLQ",
            ],
            "The sweep is idempotent and runs every 5 minutes over everything overdue: work a "
            "failed run leaves is done by the next one, so a dead-letter queue would hold only "
            "empty schedule events.",
        )
        acknowledge(
            self.sweep_rule,
            ["Serverless::Serverless-EventBusDLQ"],
            "A schedule event carries no data: a delivery EventBridge gives up on (after 2 "
            "retries) is made good by the next run 5 minutes later.",
        )

        self.key = key
        cdk.CfnOutput(
            self,
            "CatalogTableName",
            value=self.table.table_name,
            description="Recording catalog: pass it to `cdk-recording recordings ... --table`",
        )
        cdk.CfnOutput(
            self,
            "CatalogEventBusName",
            value=self.event_bus.event_bus_name,
            description="The catalog's event bus: `cdk-recording recordings erase` puts "
            "Recording Erased on it",
        )

    # -- wiring ------------------------------------------------------------------------------------

    def send_facts_from(self, function: lambda_.IFunction, policy: iam.ManagedPolicy) -> None:
        """Let ``function`` (the recording handler) send call facts, through ``policy``."""
        policy.add_statements(
            iam.PolicyStatement(
                sid="SendCallFacts",
                actions=["sqs:SendMessage"],
                resources=[self.facts_queue.queue_arn],
            )
        )
        if self.key is not None:
            policy.add_statements(
                iam.PolicyStatement(
                    sid="EncryptCallFacts",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[self.key.key_arn],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": f"sqs.{cdk.Stack.of(self).region}.amazonaws.com"
                        }
                    },
                )
            )
        if isinstance(function, lambda_.Function):
            function.add_environment(FACTS_QUEUE_ENVIRONMENT_VARIABLE, self.facts_queue.queue_url)

    # -- metrics -----------------------------------------------------------------------------------

    def metric(self, metric_name: str, **options: Any) -> cloudwatch.Metric:
        """A metric the catalog's functions emit (sum over 5 minutes unless ``options`` say otherwise)."""
        return application_metric(
            self.metrics_namespace, self.application_name, metric_name, **options
        )

    def metric_recording_delivered(self, **options: Any) -> cloudwatch.Metric:
        """Recordings cataloged on arrival."""
        return self.metric("RecordingDelivered", **options)

    def metric_recording_missing(self, **options: Any) -> cloudwatch.Metric:
        """Recordings started but not delivered by their deadline."""
        return self.metric("RecordingMissing", **options)

    def metric_recorded_minutes(self, **options: Any) -> cloudwatch.Metric:
        """Billed recording minutes of delivered recordings (per started minute, per leg)."""
        return self.metric("RecordedMinutes", **options)

    def metric_delivery_latency(self, **options: Any) -> cloudwatch.Metric:
        """Seconds from a recording's end to its arrival (p99 over 5 minutes by default)."""
        options.setdefault("statistic", "p99")
        return self.metric("DeliveryLatency", **options)

    def metric_processor_failed(self, **options: Any) -> cloudwatch.Metric:
        """Records the catalog's functions failed on and will retry."""
        return self.metric("ProcessorFailed", **options)

    def metric_retention_failed(self, **options: Any) -> cloudwatch.Metric:
        """Recordings cataloged without their lock, tag or hold: S3 refused for good (retried
        failures count as ProcessorFailed)."""
        return self.metric("RetentionFailed", **options)

    def metric_retention_class_defaulted(self, **options: Any) -> cloudwatch.Metric:
        """Recordings locked for the longest class, untagged: the call's numbers were incomplete."""
        return self.metric("RetentionClassDefaulted", **options)

    def metric_retention_deferred(self, **options: Any) -> cloudwatch.Metric:
        """Recordings handed back once because their call had not ended in the catalog (retention
        classes only): each comes back a minute later, to be classified by the call's numbers."""
        return self.metric("RetentionDeferred", **options)

    def metric_recording_after_erasure(self, **options: Any) -> cloudwatch.Metric:
        """Recordings that arrived after their call was erased: run the erasure again."""
        return self.metric("RecordingAfterErasure", **options)

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` query the catalog (for ``cdk-recording recordings``)."""
        return self.table.grant_read_data(grantee)

    def grant_hold_records(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` record legal holds (``recordings hold|release``): ``dynamodb:Query``,
        ``GetItem``, ``UpdateItem`` and ``PutItem``. Nobody has it by default."""
        from cdk_recording._records_grants import grant_hold_records

        return grant_hold_records(self, grantee)

    def grant_erase_records(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` record erasures (``recordings erase``): as :meth:`grant_hold_records`,
        ``dynamodb:DeleteItem`` (the call's ``NUM#`` items) and ``events:PutEvents`` on the bus.
        Nobody has it by default."""
        from cdk_recording._records_grants import grant_erase_records

        return grant_erase_records(self, grantee)

    def grant_audit_records(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read the catalog and write audit entries (``recordings verify``,
        ``get``, ``show --html``, ``transcript``): ``dynamodb:Query``, ``GetItem`` and ``PutItem``.
        Nobody has it by default."""
        from cdk_recording._records_grants import grant_audit_records

        return grant_audit_records(self, grantee)


#: The environment variable that tells the recording handler where to send call facts.
FACTS_QUEUE_ENVIRONMENT_VARIABLE = "SMA_RECORDING_FACTS_QUEUE_URL"


def _whole(
    problems: Problems, option: str, value: cdk.Duration, unit: str, low: int, high: int
) -> int:
    if is_token(value.to_string()):
        problems.add(option, value.to_string(), "must be a literal duration, not a token")
        return low
    seconds = value.to_seconds(integral=False)
    amount = seconds / (60 if unit == "minutes" else 3600)
    if not float(amount).is_integer() or not low <= amount <= high:
        problems.add(
            option, value.to_human_string(), f"must be a whole number of {unit}, {low} to {high}"
        )
        return low
    return int(amount)
