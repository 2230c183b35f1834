"""The recording handler: the Lambda function the SMA invokes, its layer, logs and metrics."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_recording._assets import ASSET_EXCLUDES, lambda_asset_path
from cdk_recording._compliance import acknowledge
from cdk_recording._defaults import (
    HANDLER_ARCHITECTURE,
    HANDLER_MEMORY_MB,
    HANDLER_RUNTIME,
    HANDLER_TIMEOUT,
    LOG_RETENTION,
    METRICS_NAMESPACE,
)
from cdk_recording._logs import encrypted_log_group, function_role
from cdk_recording._metrics import application_metric
from cdk_recording._storage import RecordingStorage, validate_prefix
from cdk_recording._validation import Problems, check_e164, is_token

__all__ = [
    "CONFIG_ENVIRONMENT_VARIABLE",
    "BridgeDestination",
    "ConsentAnnouncement",
    "DtmfControl",
    "RecordingFlow",
    "RecordingHandler",
    "RecordingLayer",
    "RecordingLeg",
    "RecordingTrack",
]

#: The environment variable that carries the handler's JSON configuration.
CONFIG_ENVIRONMENT_VARIABLE = "SMA_RECORDING_CONFIG"


class RecordingTrack(Enum):
    """Which audio of the recorded leg goes into the file (StartCallRecording ``Track``)."""

    #: Both directions, as stereo: what the party said on the left, what they heard on the right.
    BOTH = "BOTH"
    #: What the party said (mono).
    INCOMING = "INCOMING"
    #: What the party heard (mono).
    OUTGOING = "OUTGOING"


class RecordingLeg(Enum):
    """Which call leg is recorded."""

    #: The caller's leg (inbound) or the called party's (outbound).
    LEG_A = "LEG-A"
    #: The leg CallAndBridge creates; falls back to LEG-A when there is no LEG-B.
    LEG_B = "LEG-B"


@dataclass(frozen=True)
class ConsentAnnouncement:
    """What callers hear before recording starts. Use :meth:`speak` or :meth:`audio`.

    Telling every party that the call is recorded, and obtaining consent where the law requires it, is
    the operator's responsibility; this announcement is the means, not the legal review.
    """

    text: str | None = None
    audio_key: str | None = None
    voice_id: str | None = None
    engine: str | None = None
    language_code: str | None = None

    @staticmethod
    def speak(
        text: str,
        *,
        voice_id: str | None = None,
        engine: str | None = None,
        language_code: str | None = None,
    ) -> ConsentAnnouncement:
        """Say ``text`` with Amazon Polly (Speak; billed separately). Default voice: Joanna, standard."""
        return ConsentAnnouncement(
            text=text, voice_id=voice_id, engine=engine, language_code=language_code
        )

    @staticmethod
    def audio(key: str) -> ConsentAnnouncement:
        """Play a WAV (8 kHz mono PCM, at most 50 MB) stored at ``key`` under the prompts prefix."""
        return ConsentAnnouncement(audio_key=key)


@dataclass(frozen=True)
class BridgeDestination:
    """Where inbound calls are connected (CallAndBridge). Use :meth:`pstn` or :meth:`voice_connector`."""

    endpoint_type: str
    uri: str
    arn: str | None = None
    caller_id: str | None = None
    timeout_seconds: int = 30

    @staticmethod
    def pstn(
        number: str, *, caller_id: str | None = None, timeout_seconds: int = 30
    ) -> BridgeDestination:
        """A phone number (E.164). Default caller id: the caller's own number."""
        return BridgeDestination("PSTN", number, None, caller_id, timeout_seconds)

    @staticmethod
    def voice_connector(
        uri: str,
        voice_connector_arn: str,
        *,
        caller_id: str | None = None,
        timeout_seconds: int = 30,
    ) -> BridgeDestination:
        """A SIP URI reached through an Amazon Chime SDK Voice Connector."""
        return BridgeDestination("AWS", uri, voice_connector_arn, caller_id, timeout_seconds)


@dataclass(frozen=True)
class DtmfControl:
    """Keys callers or agents press to pause and resume recording (e.g. while a card number is read).

    The key tones themselves are audible in the recording. On a bridged call a code acts at once; on a
    single-leg call within about 5 s (the keep-alive Pause is not interrupted by digits), which caps
    such a call at about 80 minutes (1,000 invocations per call).
    """

    pause: str = "*1"
    resume: str = "*2"


_DTMF = re.compile(r"^[0-9*#]{1,8}$")


class RecordingLayer(Construct):
    """A Lambda layer with the ``sma_recording`` package: the recording logic as a library.

    Add it to an existing SMA function and wrap the function's handler with
    ``sma_recording.with_recording`` to add recording to it.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.layer_version = lambda_.LayerVersion(
            self,
            "Resource",
            code=lambda_.Code.from_asset(
                lambda_asset_path("layers/recording"), exclude=ASSET_EXCLUDES
            ),
            compatible_runtimes=[
                lambda_.Runtime.PYTHON_3_11,
                lambda_.Runtime.PYTHON_3_12,
                lambda_.Runtime.PYTHON_3_13,
                lambda_.Runtime.PYTHON_3_14,
            ],
            compatible_architectures=[lambda_.Architecture.ARM_64, lambda_.Architecture.X86_64],
            description="cdk-recording: call recording logic for SIP media application handlers",
        )


def _without_nulls(value: Any) -> Any:
    # Stack.to_json_string drops null values; the handler then applies its defaults.
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


@dataclass(frozen=True)
class RecordingFlow:
    """The call-flow options of the recording handler, validated and turned into its configuration."""

    track: RecordingTrack = RecordingTrack.BOTH
    leg: RecordingLeg = RecordingLeg.LEG_A
    auto_start: bool = True
    consent: ConsentAnnouncement | None = None
    announce_to_callee: bool = False
    bridge: BridgeDestination | None = None
    dtmf: DtmfControl | None = None
    metrics_namespace: str = METRICS_NAMESPACE

    def config(self, storage: RecordingStorage, application: str) -> dict[str, Any]:
        """The JSON configuration the handler reads from ``SMA_RECORDING_CONFIG``."""
        return self._config(
            storage.bucket.bucket_name,
            storage.recording_prefix,
            storage.prompts_prefix,
            application,
        )

    def _config(
        self, bucket: str, recording_prefix: str, prompts_prefix: str, application: str
    ) -> dict[str, Any]:
        consent_json: dict[str, Any] | None = None
        if self.consent is not None and self.consent.text is not None:
            consent_json = {
                "speak": {
                    "text": self.consent.text,
                    "voiceId": self.consent.voice_id,
                    "engine": self.consent.engine,
                    "languageCode": self.consent.language_code,
                }
            }
        elif self.consent is not None and self.consent.audio_key is not None:
            consent_json = {
                "audio": {
                    "bucket": bucket,
                    "key": f"{prompts_prefix}/{self.consent.audio_key}",
                }
            }
        return {
            "version": 1,
            "application": application,
            "metricsNamespace": self.metrics_namespace,
            "destination": {"bucket": bucket, "prefix": recording_prefix},
            "track": self.track.value,
            "leg": self.leg.value,
            "autoStart": self.auto_start,
            "consent": consent_json,
            "announceToCallee": self.announce_to_callee,
            "bridge": None
            if self.bridge is None
            else {
                "endpointType": self.bridge.endpoint_type,
                "uri": self.bridge.uri,
                "arn": self.bridge.arn,
                "callerId": self.bridge.caller_id,
                "timeoutSeconds": self.bridge.timeout_seconds,
            },
            "dtmf": None
            if self.dtmf is None
            else {"pause": self.dtmf.pause, "resume": self.dtmf.resume},
        }

    def options(self) -> dict[str, Any]:
        """The options as keyword arguments of :class:`RecordingHandler`."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def validate(self, problems: Problems) -> None:
        """Check the call-flow options; every problem names the option, the value and what is allowed."""
        if self.consent is not None:
            if (self.consent.text is None) == (self.consent.audio_key is None):
                problems.add(
                    "consent",
                    self.consent,
                    "use ConsentAnnouncement.speak(text) or ConsentAnnouncement.audio(key)",
                )
            if (
                self.consent.text is not None
                and not is_token(self.consent.text)
                and (not self.consent.text.strip() or len(self.consent.text) > 1000)
            ):
                problems.add(
                    "consent.text", self.consent.text, "must be 1-1,000 characters (Speak)"
                )
            for option, value in (
                ("consent.voice_id", self.consent.voice_id),
                ("consent.language_code", self.consent.language_code),
            ):
                if value is not None and not is_token(value) and not 1 <= len(value) <= 255:
                    problems.add(option, value, "must be 1-255 characters, or None for the default")
            if self.consent.engine is not None and self.consent.engine not in (
                "standard",
                "neural",
            ):
                problems.add(
                    "consent.engine", self.consent.engine, "must be 'standard' or 'neural'"
                )
            if self.consent.audio_key is not None:
                validate_prefix(problems, "consent.audio_key", self.consent.audio_key)
                if not is_token(
                    self.consent.audio_key
                ) and not self.consent.audio_key.lower().endswith(".wav"):
                    problems.add(
                        "consent.audio_key", self.consent.audio_key, "must name a .wav file"
                    )
        if self.announce_to_callee and (self.consent is None or self.bridge is None):
            problems.add(
                "announce_to_callee",
                True,
                "needs both consent (what to announce) and bridge (a callee to announce it to)",
            )
        if self.bridge is not None:
            if self.bridge.endpoint_type == "PSTN":
                check_e164(problems, "bridge.uri", self.bridge.uri)
            elif self.bridge.endpoint_type == "AWS":
                if not self.bridge.arn or not (
                    is_token(self.bridge.arn) or self.bridge.arn.startswith("arn:")
                ):
                    problems.add("bridge.arn", self.bridge.arn, "a Voice Connector ARN is required")
                if not is_token(self.bridge.uri) and not 1 <= len(self.bridge.uri) <= 255:
                    problems.add("bridge.uri", self.bridge.uri, "must be 1-255 characters")
            else:
                problems.add(
                    "bridge.endpoint_type", self.bridge.endpoint_type, "must be 'PSTN' or 'AWS'"
                )
            if self.bridge.caller_id is not None:
                check_e164(problems, "bridge.caller_id", self.bridge.caller_id)
            if not 1 <= self.bridge.timeout_seconds <= 120:
                problems.add(
                    "bridge.timeout_seconds",
                    self.bridge.timeout_seconds,
                    "must be 1-120 (CallAndBridge)",
                )
        if self.dtmf is not None:
            for option, digits in (
                ("dtmf.pause", self.dtmf.pause),
                ("dtmf.resume", self.dtmf.resume),
            ):
                if not _DTMF.match(digits):
                    problems.add(option, digits, "must be 1-8 of the keys 0-9 * #")
            if self.dtmf.pause == self.dtmf.resume:
                problems.add("dtmf.resume", self.dtmf.resume, "must differ from dtmf.pause")
            elif self.dtmf.pause.startswith(self.dtmf.resume) or self.dtmf.resume.startswith(
                self.dtmf.pause
            ):
                problems.add(
                    "dtmf.resume",
                    self.dtmf.resume,
                    f"must not be a prefix of (or start with) {self.dtmf.pause!r}",
                )
        if not re.match(r"^[A-Za-z0-9_./#:-]{1,255}$", self.metrics_namespace) or (
            self.metrics_namespace.startswith("AWS/")
        ):
            problems.add(
                "metrics_namespace",
                self.metrics_namespace,
                "must be 1-255 characters of letters, digits and _ . / # : -, not starting with AWS/",
            )
        if not problems:
            self._check_with_handler_parser(problems)

    def _check_with_handler_parser(self, problems: Problems) -> None:
        """Run the handler's own configuration parser on what this flow would deploy.

        A configuration the handler rejects does not fail the deployment: it makes the handler answer
        calls without recording them. So every rule of the parser is a synth-time rule too. Token
        values (resolved at deploy time) are replaced by valid placeholders.
        """
        from sma_recording.config import ConfigError, parse_config

        document = self._config("placeholder-bucket", "recordings", "prompts", "placeholder")
        if is_token(json.dumps(document, default=str)):
            return
        try:
            parse_config(json.dumps(_without_nulls(document)))
        except ConfigError as error:
            for problem in error.problems:
                problems.add("configuration", problem, "the recording handler rejects this value")


def application_name(construct: Construct) -> str:
    """The metrics' ``Application`` dimension: the construct path, at most 255 characters."""
    path = construct.node.path
    if len(path) <= 255:
        return path
    digest = hashlib.sha256(path.encode()).hexdigest()[:12]
    return f"{path[:240]}~{digest}"


class RecordingHandler(Construct):
    """The SMA's Lambda function, configured to record calls into ``storage``.

    arm64, the newest Python runtime, a 4-second timeout (the SMA retries after 5 s), JSON logs into a
    log group with one-year retention, metrics as CloudWatch Embedded Metric Format (no API calls). Its
    role has no S3 permission: the Chime service writes recordings, not the function.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: RecordingStorage,
        layer: RecordingLayer | None = None,
        track: RecordingTrack = RecordingTrack.BOTH,
        leg: RecordingLeg = RecordingLeg.LEG_A,
        auto_start: bool = True,
        consent: ConsentAnnouncement | None = None,
        announce_to_callee: bool = False,
        bridge: BridgeDestination | None = None,
        dtmf: DtmfControl | None = None,
        metrics_namespace: str = METRICS_NAMESPACE,
        log_retention: logs.RetentionDays = LOG_RETENTION,
        memory_size: int = HANDLER_MEMORY_MB,
        reserved_concurrent_executions: int | None = None,
    ) -> None:
        """
        :param storage: where recordings go (bucket and prefix of StartCallRecording's destination).
        :param layer: the layer with the recording logic. Default: a new one.
        :param track: which audio to record. Default: ``BOTH`` (stereo).
        :param leg: which leg to record. Default: ``LEG_A``.
        :param auto_start: start recording when the call connects; false records only on demand
            (``UpdateSipMediaApplicationCall``) or by DTMF. Default: true.
        :param consent: an announcement played to the caller before the call proceeds. Default: none.
        :param announce_to_callee: also play ``consent`` to the bridged party. Default: false.
        :param bridge: where to connect inbound calls. Default: none, the caller alone is recorded.
        :param dtmf: keys that pause and resume recording. Default: none.
        :param metrics_namespace: CloudWatch namespace of the metrics. Default: ``CdkRecording``.
        :param log_retention: retention of the function's log group. Default: one year.
        :param memory_size: MB of memory. Default: 256.
        :param reserved_concurrent_executions: cap on concurrent invocations. Default: none; a cap
            below the number of concurrent calls drops calls.
        """
        super().__init__(scope, construct_id)
        problems = Problems()
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
        if reserved_concurrent_executions is not None and reserved_concurrent_executions < 1:
            problems.add(
                "reserved_concurrent_executions",
                reserved_concurrent_executions,
                "must be at least 1 (0 throttles every invocation, so every call is dropped); "
                "None for no reservation",
            )
        if not 128 <= memory_size <= 10240:
            problems.add("memory_size", memory_size, "must be 128-10,240 MB")
        problems.raise_if_any(self.node.path)

        self.layer = layer if layer is not None else RecordingLayer(self, "Layer")
        self.storage = storage
        self.metrics_namespace = metrics_namespace
        self.application_name: str = application_name(self)
        """The value of the metrics' ``Application`` dimension."""
        self.config: dict[str, Any] = flow.config(storage, self.application_name)
        """The handler's JSON configuration (``SMA_RECORDING_CONFIG``)."""
        self.log_group = encrypted_log_group(self, "Logs", log_retention)
        self.role = function_role(
            self,
            "Role",
            description="cdk-recording recording handler (no S3 access: Chime writes recordings)",
            log_group=self.log_group,
        )
        policy = self.role.node.find_child("Policy")
        assert isinstance(policy, iam.ManagedPolicy)
        self.policy: iam.ManagedPolicy = policy
        """The role's only policy; the catalog adds its SendMessage statement here."""
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=HANDLER_RUNTIME,
            architecture=HANDLER_ARCHITECTURE,
            code=lambda_.Code.from_asset(lambda_asset_path("recording"), exclude=ASSET_EXCLUDES),
            handler="index.handler",
            layers=[self.layer.layer_version],
            memory_size=memory_size,
            timeout=HANDLER_TIMEOUT,
            log_group=self.log_group,
            role=self.role.without_policy_updates(),
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved_concurrent_executions,
            description="cdk-recording: answers SIP media application invocations and records calls",
            environment={
                CONFIG_ENVIRONMENT_VARIABLE: cdk.Stack.of(self).to_json_string(self.config),
            },
        )

        self._acknowledge(reserved_concurrent_executions is None)

    def _acknowledge(self, unreserved: bool) -> None:
        acknowledge(
            self.role,
            ["AwsSolutions::AwsSolutions-IAM5[Resource::*]"],
            "Only X-Ray's PutTraceSegments/PutTelemetryRecords, which support only Resource '*'. "
            "The role has no other permission beyond writing its own log group.",
        )
        acknowledge(
            self.function,
            [
                "HIPAA.Security::HIPAA.Security-LambdaDLQ",
                "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
                "Serverless::Serverless-LambdaDLQ",
            ],
            "The SIP media application invokes this function synchronously and retries it itself; "
            "a dead-letter queue receives only asynchronous invocations, so it would stay empty.",
        )
        acknowledge(
            self.function,
            [
                "HIPAA.Security::HIPAA.Security-LambdaInsideVPC",
                "NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC",
                "PCI.DSS.321::PCI.DSS.321-LambdaInsideVPC",
            ],
            "The handler answers each invocation with actions and writes logs; its only network "
            "call is an optional SendMessage of call facts to the catalog's encrypted SQS queue "
            "over TLS, with a bound of a few hundred milliseconds. A VPC would add cold-start "
            "latency to live calls and protect no data path that IAM, TLS and encryption do not.",
        )
        if unreserved:
            acknowledge(
                self.function,
                [
                    "HIPAA.Security::HIPAA.Security-LambdaConcurrency",
                    "NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",
                ],
                "A reservation below the peak of concurrent SIP media application invocations "
                "makes the service retry and then hang up live calls; the right figure depends on "
                "the account's call volume, so it is the reserved_concurrent_executions option, "
                "unset by default.",
            )

    # -- metrics ------------------------------------------------------------------------------------

    def metric(self, metric_name: str, **options: Any) -> cloudwatch.Metric:
        """A metric the handler emits (sum over 5 minutes unless ``options`` say otherwise)."""
        return application_metric(
            self.metrics_namespace, self.application_name, metric_name, **options
        )

    def metric_recording_started(self, **options: Any) -> cloudwatch.Metric:
        """Recordings started (StartCallRecording succeeded)."""
        return self.metric("RecordingStarted", **options)

    def metric_recording_failed(self, **options: Any) -> cloudwatch.Metric:
        """Recording actions that failed (any type); alarm on this one."""
        return self.metric("RecordingFailed", **options)

    def metric_recording_paused(self, **options: Any) -> cloudwatch.Metric:
        """Recordings paused."""
        return self.metric("RecordingPaused", **options)

    def metric_recording_resumed(self, **options: Any) -> cloudwatch.Metric:
        """Recordings resumed."""
        return self.metric("RecordingResumed", **options)

    def metric_recording_stopped(self, **options: Any) -> cloudwatch.Metric:
        """Recordings stopped on request."""
        return self.metric("RecordingStopped", **options)
