"""The composed construct: SMA, handler, storage, phone numbers and SIP rules, wired together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from cdk_recording._access_trail import RecordingAccessTrail
from cdk_recording._alarms import RecordingAlarms
from cdk_recording._catalog import RecordingCatalog
from cdk_recording._defaults import METRICS_NAMESPACE
from cdk_recording._handler import (
    CONFIG_ENVIRONMENT_VARIABLE,
    BridgeDestination,
    ConsentAnnouncement,
    DtmfControl,
    RecordingFlow,
    RecordingHandler,
    RecordingLayer,
    RecordingLeg,
    RecordingTrack,
    application_name,
)
from cdk_recording._regions import SmaImplementation
from cdk_recording._retention import RetentionClass
from cdk_recording._sma import SipMediaApplication
from cdk_recording._storage import RecordingStorage
from cdk_recording._telephony import (
    PhoneNumber,
    PhoneNumberSearch,
    SipRule,
    SipRuleTarget,
    SipRuleTriggerType,
)
from cdk_recording._transcription import RecordingTranscription
from cdk_recording._transcription_options import TranscriptionOptions
from cdk_recording._validation import Problems, check_e164, is_token

__all__ = ["CallRecording"]

#: CloudFormation's limit of resources per stack; the construct warns at 90 % of it.
_STACK_RESOURCE_LIMIT = 500
_WARN_AT = 450
#: Resources each routed number adds: the number and its SIP rule (measured: bench/run.py).
_RESOURCES_PER_NUMBER = 2
#: Resources of the construct and its provider without numbers (measured: 33 with one number).
_BASE_RESOURCES = 31
#: Resources the catalog adds (measured: 59 with one number and the catalog, 33 without).
_CATALOG_RESOURCES = 26
#: Resources the alarms and dashboard add: 4 alarms + dashboard, 5 more with the catalog.
_ALARM_RESOURCES = 5
_CATALOG_ALARM_RESOURCES = 5
#: Resources transcription adds (measured with one number and the catalog: 88 with transcription,
#: 59 without, alarms off) and its 2 alarms (100 with alarms, 69 without transcription).
_TRANSCRIPTION_RESOURCES = 29
_TRANSCRIPTION_ALARM_RESOURCES = 2
#: Resources the access trail adds beside the storage's access log bucket: key, log bucket and
#: its policy, trail.
_ACCESS_TRAIL_RESOURCES = 4


@jsii.implements(cdk.IAspect)
class _StackSizeCheck:
    """At synth, warn when the stack's resources (the user's included) near CloudFormation's limit.

    Each routed number adds about 1.2 KB of template, so the 500-resource limit binds long before the
    1 MB template limit (about 800 numbers).
    """

    def __init__(self, stack: cdk.Stack) -> None:
        self._stack = stack
        self._done = False

    def visit(self, node: IConstruct) -> None:
        if self._done or node is not self._stack:
            return
        self._done = True
        count = sum(1 for c in self._stack.node.find_all() if isinstance(c, cdk.CfnResource))
        message = (
            f"stack {self._stack.stack_name} defines {count} resources; CloudFormation allows "
            f"{_STACK_RESOURCE_LIMIT} per stack. Each routed phone number adds "
            f"{_RESOURCES_PER_NUMBER}: move numbers to another stack with its own CallRecording"
        )
        # Over the limit, aws-cdk-lib itself fails the synth (TooManyResourcesInStack).
        if _WARN_AT <= count <= _STACK_RESOURCE_LIMIT:
            cdk.Annotations.of(self._stack).add_warning_v2(
                "cdk-recording:stack-size", f"{message} (warning at {_WARN_AT})"
            )


class CallRecording(Construct):
    """Call recording for Amazon Chime SDK SIP media applications, in one construct.

    Defines the recording storage (:class:`RecordingStorage`), the recording handler
    (:class:`RecordingHandler`) or wires your own function, the SIP media application
    (:class:`SipMediaApplication`), and for each entry of ``phone_numbers`` a phone number (existing, or
    ordered on deploy) and a SIP rule routing it to the SMA. The bucket policy lets the Chime service write
    only under the recording prefix, and only for this SMA; the same prefix is the handler's
    StartCallRecording destination and the lifecycle rules' filter.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        phone_numbers: Sequence[str | PhoneNumberSearch] = (),
        phone_number_removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        storage: RecordingStorage | None = None,
        recording_prefix: str = "recordings",
        object_lock_mode: s3.ObjectLockMode | None = None,
        object_lock_retention: cdk.Duration | None = None,
        retention_classes: Sequence[RetentionClass] = (),
        handler: lambda_.IFunction | None = None,
        track: RecordingTrack = RecordingTrack.BOTH,
        leg: RecordingLeg = RecordingLeg.LEG_A,
        auto_start: bool = True,
        consent: ConsentAnnouncement | None = None,
        announce_to_callee: bool = False,
        bridge: BridgeDestination | None = None,
        dtmf: DtmfControl | None = None,
        metrics_namespace: str = METRICS_NAMESPACE,
        sma_name: str | None = None,
        sma_implementation: SmaImplementation = SmaImplementation.AUTO,
        message_logs: bool = True,
        sma_tags: Mapping[str, str] | None = None,
        catalog: bool = True,
        event_bus: events.IEventBus | None = None,
        missing_after: cdk.Duration | None = None,
        alarms: bool = True,
        alarm_topic: sns.ITopic | None = None,
        create_alarm_topic: bool = False,
        transcription: TranscriptionOptions | None = None,
        access_trail: bool = False,
    ) -> None:
        """
        :param phone_numbers: numbers to route to the SMA: an E.164 string for a number the account owns,
            or :class:`PhoneNumberSearch` criteria to order one on deploy. One SIP rule per number.
            Default: none (route calls yourself, e.g. with :class:`SipRule`).
        :param phone_number_removal_policy: what happens to ordered numbers when the stack is deleted.
            Default: ``RETAIN``.
        :param storage: where recordings go. Default: a new :class:`RecordingStorage` with
            ``recording_prefix``.
        :param recording_prefix: the key prefix of recordings in the storage this construct defines.
            Default: ``recordings``.
        :param object_lock_mode: ``GOVERNANCE`` or ``COMPLIANCE``: lock every recording at arrival
            (the storage this construct defines; see :class:`RecordingStorage`). Default: no
            Object Lock.
        :param object_lock_retention: the lock period of calls in no retention class. Default:
            with ``retention_classes``, such calls are not locked; otherwise required with
            ``object_lock_mode``.
        :param retention_classes: lock periods and expiry by phone number
            (:class:`RetentionClass`), applied at arrival; need ``object_lock_mode`` and
            ``catalog=True``. Default: none.
        :param handler: your own SMA function instead of the recording handler. A ``lambda_.Function`` gets
            the recording layer and configuration added; for an imported function, add
            :attr:`recording_layer` and the environment in :attr:`handler_environment` yourself. Wrap its
            handler with ``sma_recording.with_recording``. Default: the library's recording handler.
        :param track: which audio to record. Default: ``BOTH``.
        :param leg: which leg to record. Default: ``LEG_A``.
        :param auto_start: start recording when the call connects. Default: true.
        :param consent: an announcement played before the call proceeds. Default: none.
        :param announce_to_callee: also announce to the bridged party. Default: false.
        :param bridge: where inbound calls are connected. Default: none (the caller alone is recorded).
        :param dtmf: keys that pause and resume recording. Default: none.
        :param metrics_namespace: CloudWatch namespace. Default: ``CdkRecording``.
        :param sma_name: the SMA's name. Default: derived from the construct path.
        :param sma_implementation: native or custom-resource SMA. Default: ``AUTO`` (by Region).
        :param message_logs: SMA message logs. Default: true.
        :param sma_tags: tags of the SMA. Default: none (``cdk.Tags.of(...)`` still applies).
        :param catalog: catalog every delivered recording and, with the library's handler, the call
            facts it knows
            (:class:`RecordingCatalog`), put ``Recording Available``/``Recording Missing`` events.
            Default: true.
        :param event_bus: the bus of the catalog's events. Default: the account's default bus.
        :param missing_after: how long after a call ends a recording may take to arrive before it is
            reported missing. Default: 15 minutes.
        :param alarms: CloudWatch alarms (each with its meaning and first action) and a dashboard
            (:class:`RecordingAlarms`). Default: true.
        :param alarm_topic: an SNS topic the alarms notify. Default: none.
        :param create_alarm_topic: define a KMS-encrypted, TLS-only topic for the alarms (subscribe
            to ``alarms.topic``). Default: false.
        :param transcription: transcribe every delivered recording with Amazon Transcribe
            (:class:`RecordingTranscription`; Call Analytics with PII redaction by default). It is
            billed per audio minute. Needs ``catalog=True``. Default: none (off).
        :param access_trail: a CloudTrail trail of every read of the recordings and transcripts
            (:class:`RecordingAccessTrail`: S3 data events, its own log bucket, log file
            validation). Off by default because CloudTrail bills data events per event. Default:
            false.
        """
        super().__init__(scope, construct_id)
        problems = Problems()
        storage_options = {
            "recording_prefix": recording_prefix if recording_prefix != "recordings" else None,
            "object_lock_mode": object_lock_mode.name if object_lock_mode is not None else None,
            "object_lock_retention": (
                object_lock_retention.to_human_string() if object_lock_retention else None
            ),
            "retention_classes": (
                f"<{len(retention_classes)} class(es)>" if retention_classes else None
            ),
        }
        for option, value in storage_options.items():
            if storage is not None and value is not None:
                problems.add(
                    option,
                    value,
                    "applies only to storage this construct defines; set it on the storage you "
                    "passed",
                )
        if not catalog and retention_classes:
            problems.add(
                "retention_classes",
                f"<{len(retention_classes)} class(es)>",
                "applies only with catalog=True: the arrival processor applies them",
            )
        seen: dict[str, int] = {}
        for index, entry in enumerate(phone_numbers):
            if isinstance(entry, PhoneNumberSearch):
                entry.validate(problems, f"phone_numbers[{index}]")
            elif isinstance(entry, str):
                check_e164(problems, f"phone_numbers[{index}]", entry)
                if not is_token(entry) and entry in seen:
                    problems.add(
                        f"phone_numbers[{index}]",
                        entry,
                        f"duplicates phone_numbers[{seen[entry]}]; route each number once",
                    )
                seen.setdefault(entry, index)
            else:
                problems.add(
                    f"phone_numbers[{index}]",
                    entry,
                    "must be an E.164 string or a PhoneNumberSearch",
                )
        base = (
            _BASE_RESOURCES
            + (_CATALOG_RESOURCES if catalog else 0)
            + (_ALARM_RESOURCES if alarms else 0)
            + (_CATALOG_ALARM_RESOURCES if alarms and catalog else 0)
            + (_TRANSCRIPTION_RESOURCES if transcription is not None and catalog else 0)
            + (_TRANSCRIPTION_ALARM_RESOURCES if transcription is not None and alarms else 0)
            + (_ACCESS_TRAIL_RESOURCES if access_trail else 0)
        )
        estimated = base + _RESOURCES_PER_NUMBER * len(phone_numbers)
        if estimated > _STACK_RESOURCE_LIMIT:
            problems.add(
                "phone_numbers",
                f"<{len(phone_numbers)} numbers>",
                f"would need about {estimated} resources, over CloudFormation's "
                f"{_STACK_RESOURCE_LIMIT} per stack; split the numbers across stacks (at most "
                f"{(_STACK_RESOURCE_LIMIT - base) // _RESOURCES_PER_NUMBER} per stack)",
            )
        flow = RecordingFlow(
            track=track,
            leg=leg,
            auto_start=auto_start,
            consent=consent,
            announce_to_callee=announce_to_callee,
            bridge=bridge,
            dtmf=dtmf,
            metrics_namespace=metrics_namespace,
        )
        flow.validate(problems)
        if not catalog:
            if event_bus is not None:
                problems.add("event_bus", event_bus.node.path, "applies only with catalog=True")
            if missing_after is not None:
                problems.add(
                    "missing_after",
                    missing_after.to_human_string(),
                    "applies only with catalog=True",
                )
        if transcription is not None:
            if not catalog:
                problems.add(
                    "transcription",
                    type(transcription).__name__,
                    "needs catalog=True (transcription starts from the catalog's Recording "
                    "Available events and records its results in the catalog)",
                )
            if isinstance(transcription, TranscriptionOptions):
                transcription.validate(problems, "transcription")
            else:
                problems.add(
                    "transcription", transcription, "must be a TranscriptionOptions or None"
                )
        if not alarms and (alarm_topic is not None or create_alarm_topic):
            problems.add(
                "alarm_topic" if alarm_topic is not None else "create_alarm_topic",
                alarm_topic.node.path if alarm_topic is not None else True,
                "applies only with alarms=True",
            )
        if alarm_topic is not None and create_alarm_topic:
            problems.add(
                "create_alarm_topic", True, "conflicts with alarm_topic; pass one or the other"
            )
        problems.raise_if_any(self.node.path)

        self.storage: RecordingStorage = (
            storage
            if storage is not None
            else RecordingStorage(
                self,
                "Storage",
                recording_prefix=recording_prefix,
                object_lock_mode=object_lock_mode,
                object_lock_retention=object_lock_retention,
                retention_classes=retention_classes,
            )
        )
        """Where recordings are delivered."""

        self.recording_handler: RecordingHandler | None = None
        """The library's handler, unless you brought your own function."""
        if handler is None:
            self.recording_handler = RecordingHandler(
                self, "Handler", storage=self.storage, **flow.options()
            )
            self.recording_layer: RecordingLayer = self.recording_handler.layer
            """The layer with the ``sma_recording`` package."""
            self.handler: lambda_.IFunction = self.recording_handler.function
            """The function the SMA invokes."""
            config = self.recording_handler.config
        else:
            self.recording_layer = RecordingLayer(self, "Layer")
            self.handler = handler
            config = flow.config(self.storage, application_name(self))
        self.handler_environment: dict[str, str] = {
            CONFIG_ENVIRONMENT_VARIABLE: cdk.Stack.of(self).to_json_string(config)
        }
        """The environment a handler wrapped with ``sma_recording.with_recording`` needs."""
        if handler is not None and isinstance(handler, lambda_.Function):
            handler.add_layers(self.recording_layer.layer_version)
            for key, value in self.handler_environment.items():
                handler.add_environment(key, value)

        self.catalog: RecordingCatalog | None = None
        """The recording catalog, unless ``catalog=False``."""
        if catalog:
            self.catalog = RecordingCatalog(
                self,
                "Catalog",
                storage=self.storage,
                event_bus=event_bus,
                missing_after=missing_after,
                metrics_namespace=metrics_namespace,
                application=(
                    self.recording_handler.application_name
                    if self.recording_handler is not None
                    else application_name(self)
                ),
            )
            if self.recording_handler is not None:
                self.catalog.send_facts_from(
                    self.recording_handler.function, self.recording_handler.policy
                )
            else:
                # sma_recording.with_recording does not send call facts: a handler of your own
                # gets deliveries cataloged, but no parties, consent trail or missing-recording
                # detection. So it gets neither the queue nor the permission.
                cdk.Annotations.of(self).add_info(
                    "cdk-recording: with your own handler the catalog records deliveries only; "
                    "call facts (parties, consent, missing-recording detection) come from the "
                    "library's recording handler"
                )

        self.transcription: RecordingTranscription | None = None
        """Post-call transcription, when ``transcription`` is given."""
        if transcription is not None and self.catalog is not None:
            self.transcription = RecordingTranscription(
                self,
                "Transcription",
                storage=self.storage,
                catalog=self.catalog,
                options=transcription,
            )

        self.alarms: RecordingAlarms | None = None
        """Alarms and the dashboard, unless ``alarms=False``."""
        if alarms:
            self.alarms = RecordingAlarms(
                self,
                "Alarms",
                handler=self.handler,
                application=(
                    self.recording_handler.application_name
                    if self.recording_handler is not None
                    else application_name(self)
                ),
                metrics_namespace=metrics_namespace,
                catalog=self.catalog,
                transcription=self.transcription,
                topic=alarm_topic,
                create_topic=create_alarm_topic,
            )

        self.access_trail: RecordingAccessTrail | None = None
        """The trail of reads of recordings and transcripts, with ``access_trail=True``."""
        if access_trail:
            self.access_trail = RecordingAccessTrail(
                self,
                "AccessTrail",
                bucket=self.storage.bucket,
                recording_prefix=self.storage.recording_prefix,
                access_logs_bucket=self.storage.access_logs_bucket,
            )

        self.sip_media_application = SipMediaApplication(
            self,
            "SipMediaApplication",
            handler=self.handler,
            name=sma_name,
            implementation=sma_implementation,
            message_logs=message_logs,
            tags=sma_tags,
        )
        self.storage.allow_sip_media_application(
            self.sip_media_application.sip_media_application_arn
        )

        self.phone_numbers: list[PhoneNumber] = []
        """The routed numbers, in the order given."""
        self.sip_rules: list[SipRule] = []
        """One SIP rule per routed number, in the same order."""
        for index, entry in enumerate(phone_numbers):
            number = (
                PhoneNumber(self, f"PhoneNumber{index}", e164_phone_number=entry)
                if isinstance(entry, str)
                else PhoneNumber(
                    self,
                    f"PhoneNumber{index}",
                    search=entry,
                    removal_policy=phone_number_removal_policy,
                )
            )
            rule = SipRule(
                self,
                f"SipRule{index}",
                trigger_type=SipRuleTriggerType.TO_PHONE_NUMBER,
                trigger_value=number.e164_phone_number,
                targets=[SipRuleTarget(self.sip_media_application, priority=1)],
            )
            rule.node.add_dependency(number)
            # Route calls only once the bucket lets this SMA write, or the first recordings fail.
            if self.storage.bucket.policy is not None:
                rule.node.add_dependency(self.storage.bucket.policy)
            self.phone_numbers.append(number)
            self.sip_rules.append(rule)

        stack = cdk.Stack.of(self)
        if not any(isinstance(a, _StackSizeCheck) for a in cdk.Aspects.of(stack).all):
            cdk.Aspects.of(stack).add(_StackSizeCheck(stack))

        cdk.CfnOutput(
            self,
            "SipMediaApplicationId",
            value=self.sip_media_application.sip_media_application_id,
            description="SMA id: pass it to `cdk-recording call ... --sma-id`",
        )
        cdk.CfnOutput(
            self,
            "RecordingDestination",
            value=self.storage.recording_destination,
            description="Where recordings are delivered (bucket/prefix)",
        )

    # -- convenience ---------------------------------------------------------------------------------

    @property
    def sip_media_application_id(self) -> str:
        """The SMA id."""
        return self.sip_media_application.sip_media_application_id

    @property
    def sip_media_application_arn(self) -> str:
        """The SMA ARN."""
        return self.sip_media_application.sip_media_application_arn

    @property
    def recording_bucket(self) -> cdk.aws_s3.IBucket:
        """The bucket recordings are delivered to."""
        return self.storage.bucket

    def grant_read_recordings(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read (and decrypt) recordings."""
        return self.storage.grant_read_recordings(grantee)

    def grant_legal_hold(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` run ``recordings hold|release``: :meth:`RecordingStorage.grant_legal_hold`
        and, with the catalog, :meth:`RecordingCatalog.grant_hold_records`."""
        grant = self.storage.grant_legal_hold(grantee)
        if self.catalog is None:
            return grant
        return grant.combine(self.catalog.grant_hold_records(grantee))

    def grant_erase(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` run ``recordings erase``: :meth:`RecordingStorage.grant_erase` and, with
        the catalog, :meth:`RecordingCatalog.grant_erase_records`."""
        grant = self.storage.grant_erase(grantee)
        if self.catalog is None:
            return grant
        return grant.combine(self.catalog.grant_erase_records(grantee))

    def grant_call_control(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start, pause, resume and stop recordings of live calls on demand."""
        return self.sip_media_application.grant_call_control(grantee)

    def metric_recording_failed(self, **options: object) -> cloudwatch.Metric:
        """Failed recording actions; the metric to alarm on (only with the library's handler)."""
        if self.recording_handler is None:
            raise ValueError(
                "metric_recording_failed: no metrics are known for a handler you brought; "
                "use the namespace and names documented in the README"
            )
        return self.recording_handler.metric_recording_failed(**options)
