"""CloudWatch alarms and a dashboard for call recording, each alarm with its meaning and first action.

The alarm descriptions are what an on-call operator reads first, so each one says what the alarm
means and what to look at; the README's "Alarms" table repeats them.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_recording._catalog import RecordingCatalog
from cdk_recording._compliance import acknowledge
from cdk_recording._defaults import METRICS_NAMESPACE
from cdk_recording._metrics import application_metric
from cdk_recording._transcription import RecordingTranscription

__all__ = ["ALARMS", "AlarmSpec", "RecordingAlarms"]

_FIVE_MINUTES = cdk.Duration.minutes(5)


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: its id, what it means, and the first thing to do."""

    id: str
    meaning: str
    first_action: str

    @property
    def description(self) -> str:
        return f"{self.meaning} First action: {self.first_action}"


#: Every alarm the library defines, in dashboard order (the README table is built from the same text).
ALARMS: dict[str, AlarmSpec] = {
    spec.id: spec
    for spec in (
        AlarmSpec(
            "RecordingFailed",
            "A recording action (start, pause, resume, stop) failed: calls are going unrecorded.",
            "Read the handler's log lines with level ERROR for the ErrorType; "
            "NoAccessToDestination means the bucket policy or key policy refuses the service.",
        ),
        AlarmSpec(
            "HandlerErrors",
            "The SMA handler function ended with an error; the service retries and may drop calls.",
            "Open the function's log group for the stack trace; check the last deployment.",
        ),
        AlarmSpec(
            "HandlerThrottles",
            "Invocations of the SMA handler were throttled: callers hear silence or are hung up.",
            "Check the account's Lambda concurrency (and reserved_concurrent_executions).",
        ),
        AlarmSpec(
            "InvalidLambdaResponse",
            "The SMA rejected an answer of the handler (INVALID_LAMBDA_RESPONSE).",
            "Read the handler's log lines around the event for the rejected action; a wrapped "
            "handler of your own is the usual cause.",
        ),
        AlarmSpec(
            "CallFactsFailed",
            "The handler could not send call facts to the catalog: parties, consent and missing-"
            "recording detection are incomplete for those calls (the calls themselves are fine).",
            "Read the handler's FactsFailed log lines for the error type (AccessDenied, timeout).",
        ),
        AlarmSpec(
            "RecordingMissing",
            "A recording started but did not arrive in the bucket in time after its call ended.",
            "Run `cdk-recording recordings list --day YYYY-MM-DD --status missing` and check "
            "the bucket policy, the key policy and the SMA's message logs for those transaction "
            "ids.",
        ),
        AlarmSpec(
            "ProcessorFailing",
            "The catalog's functions (arrival, facts, missing sweep) kept failing for 15 minutes; "
            "retries are under way, but a failing sweep reports no missing recording.",
            "Read the catalog functions' log lines with level ERROR for the reason (a key policy "
            "or permission error after a change of encryption is the usual cause).",
        ),
        AlarmSpec(
            "RetentionFailed",
            "S3 refused for good to lock, tag or legal-hold an arriving recording: it is cataloged "
            "(retentionFailed on its item) but not retained as its class requires.",
            "Read the arrival function's log lines 'retention refused by S3' for the operation and "
            "code, fix the cause (e.g. tags on the object), then lock the version by hand "
            "(aws s3api put-object-retention) as the item's retentionClass requires.",
        ),
        AlarmSpec(
            "ArrivalDeadLetters",
            "Recording arrivals were given up after 5 attempts: those recordings are not cataloged.",
            "Fix the cause in the arrival function's logs, then redrive the dead-letter queue to "
            "its source queue (SQS console, 'Start DLQ redrive').",
        ),
        AlarmSpec(
            "FactsDeadLetters",
            "Call facts were given up after 5 attempts: those calls lack parties or consent records.",
            "Fix the cause in the facts function's logs, then redrive the dead-letter queue.",
        ),
        AlarmSpec(
            "TranscriptionFailed",
            "Recordings could not be transcribed (a job failed, was rejected or did not finish in "
            "5 hours, or the catalog could not be written): those calls have no transcript.",
            "Open the transcription state machine's failed executions (Step Functions console) "
            "for the error and cause; the catalog's TRANSCRIPT# item and the Transcription Failed "
            "event carry the reason. Fix it, then run the backfill for that day.",
        ),
        AlarmSpec(
            "TranscriptionDeadLetters",
            "Recording Available events could not start the transcription state machine after "
            "EventBridge's retries: those recordings are not transcribed.",
            "Check the trigger role and the Step Functions quotas, then run the backfill for the "
            "days of the messages in the dead-letter queue.",
        ),
    )
}


class RecordingAlarms(Construct):
    """Alarms on the recording path and the catalog, and one dashboard.

    :class:`CallRecording` defines it (``alarms=False`` turns it off).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        application: str,
        metrics_namespace: str = METRICS_NAMESPACE,
        catalog: RecordingCatalog | None = None,
        topic: sns.ITopic | None = None,
        create_topic: bool = False,
        dashboard: bool = True,
        transcription: RecordingTranscription | None = None,
    ) -> None:
        """
        :param handler: the function the SMA invokes.
        :param application: the metrics' ``Application`` dimension.
        :param metrics_namespace: the metrics' namespace. Default: ``CdkRecording``.
        :param catalog: the catalog, for its alarms. Default: none.
        :param topic: where alarms notify. Default: none (alarms only change state).
        :param create_topic: define an encrypted topic for the alarms (ignored with ``topic``).
            Default: false.
        :param dashboard: define the dashboard. Default: true.
        :param transcription: post-call transcription, for its alarms. Default: none.
        """
        super().__init__(scope, construct_id)
        self.namespace = metrics_namespace
        self.application = application
        self.topic: sns.ITopic | None = topic
        """Where the alarms notify, if anywhere."""
        if topic is None and create_topic:
            self.topic = _encrypted_topic(self)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        """The alarms, by id (see :data:`ALARMS`)."""

        self._alarm("RecordingFailed", self._metric("RecordingFailed"))
        self._alarm("HandlerErrors", handler.metric_errors(period=_FIVE_MINUTES))
        self._alarm("HandlerThrottles", handler.metric_throttles(period=_FIVE_MINUTES))
        self._alarm("InvalidLambdaResponse", self._metric("InvalidLambdaResponse"))
        if catalog is not None:
            self._alarm("CallFactsFailed", self._metric("FactsFailed"))
            self._alarm("RecordingMissing", self._metric("RecordingMissing"))
            self._alarm("ProcessorFailing", self._metric("ProcessorFailed"), periods=3)
            if catalog.retains_at_arrival:
                self._alarm("RetentionFailed", self._metric("RetentionFailed"))
            for name, queue in (
                ("ArrivalDeadLetters", catalog.arrival_dead_letter_queue),
                ("FactsDeadLetters", catalog.facts_dead_letter_queue),
            ):
                self._alarm(
                    name,
                    queue.metric_approximate_number_of_messages_visible(
                        period=_FIVE_MINUTES, statistic="Maximum"
                    ),
                )

        if transcription is not None:
            machine = transcription.state_machine
            self._alarm(
                "TranscriptionFailed",
                cloudwatch.MathExpression(
                    expression="failed + timedOut",
                    using_metrics={
                        "failed": machine.metric_failed(period=_FIVE_MINUTES),
                        "timedOut": machine.metric_timed_out(period=_FIVE_MINUTES),
                    },
                    label="Transcriptions failed or timed out",
                    period=_FIVE_MINUTES,
                ),
            )
            self._alarm(
                "TranscriptionDeadLetters",
                transcription.trigger_dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=_FIVE_MINUTES, statistic="Maximum"
                ),
            )

        self.dashboard: cloudwatch.Dashboard | None = None
        """The dashboard, unless ``dashboard=False``."""
        if dashboard:
            self.dashboard = self._dashboard(handler, catalog, transcription)

    def _metric(self, name: str, statistic: str = "Sum") -> cloudwatch.Metric:
        return application_metric(
            self.namespace, self.application, name, statistic=statistic, period=_FIVE_MINUTES
        )

    def _alarm(self, spec_id: str, metric: cloudwatch.IMetric, periods: int = 1) -> None:
        spec = ALARMS[spec_id]
        alarm = cloudwatch.Alarm(
            self,
            spec_id,
            metric=metric,
            alarm_description=spec.description,
            threshold=1,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if self.topic is not None:
            alarm.add_alarm_action(actions.SnsAction(self.topic))
            alarm.add_ok_action(actions.SnsAction(self.topic))
        else:
            acknowledge(
                alarm,
                [
                    "HIPAA.Security::HIPAA.Security-CloudWatchAlarmAction",
                    "NIST.800.53.R5::NIST.800.53.R5-CloudWatchAlarmAction",
                ],
                "No notification target was configured (alarm_topic or create_alarm_topic): the "
                "alarm changes state on the dashboard only. Where alarms must page someone, pass "
                "a topic; this acknowledgement then disappears.",
            )
        self.alarms[spec_id] = alarm

    def _dashboard(
        self,
        handler: lambda_.IFunction,
        catalog: RecordingCatalog | None,
        transcription: RecordingTranscription | None,
    ) -> cloudwatch.Dashboard:
        board = cloudwatch.Dashboard(self, "Dashboard")
        board.add_widgets(
            cloudwatch.GraphWidget(
                title="Calls (handler invocations) and recordings started",
                left=[
                    handler.metric_invocations(period=_FIVE_MINUTES),
                    self._metric("RecordingStarted"),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Recording failures",
                left=[self._metric("RecordingFailed"), self._metric("InvalidLambdaResponse")],
                width=12,
            ),
        )
        if catalog is not None:
            board.add_widgets(
                cloudwatch.GraphWidget(
                    title="Recordings delivered and missing",
                    left=[self._metric("RecordingDelivered"), self._metric("RecordingMissing")],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title="Billed recording minutes",
                    left=[self._metric("RecordedMinutes")],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title="Delivery latency (seconds)",
                    left=[
                        self._metric("DeliveryLatency", "p50"),
                        self._metric("DeliveryLatency", "p99"),
                    ],
                    width=8,
                ),
            )
        if transcription is not None:
            machine = transcription.state_machine
            board.add_widgets(
                cloudwatch.GraphWidget(
                    title="Transcriptions started, succeeded and failed",
                    left=[
                        machine.metric_started(period=_FIVE_MINUTES),
                        machine.metric_succeeded(period=_FIVE_MINUTES),
                        machine.metric_failed(period=_FIVE_MINUTES),
                    ],
                    width=24,
                )
            )
        board.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(self.alarms.values()), width=24
            )
        )
        return board


def _encrypted_topic(scope: Construct) -> sns.Topic:
    # CloudWatch can publish to an encrypted topic only when the key lets it (an AWS managed key
    # cannot), so the topic gets a customer managed key with that grant.
    key = kms.Key(
        scope,
        "TopicKey",
        description="cdk-recording: encrypts the alarm topic",
        enable_key_rotation=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudWatchAlarmsPublish",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:GenerateDataKey*", "kms:Decrypt"],
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(scope).account}},
        )
    )
    return sns.Topic(
        scope,
        "Topic",
        display_name="cdk-recording alarms",
        master_key=key,
        enforce_ssl=True,
    )
