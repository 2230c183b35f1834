"""Test a SIP media application handler without AWS: an in-process emulator of the service.

:class:`SmaSimulator` drives any ``handler(event, context)`` through a :class:`Scenario` (timed
steps: an inbound or outbound call, answers, update requests, DTMF, hangups, injected failures) the
way the Amazon Chime SDK SIP media application would, on a simulated clock, and returns a
:class:`CallReport`: the timeline, every invocation and action, the recordings (real WAV files through
a :class:`FolderSink`, :class:`S3Sink` or :class:`MemorySink`) and the billable recording minutes.

    from cdk_recording.testing import FolderSink, SmaSimulator, builtin_scenario

    simulator = SmaSimulator.for_recording_handler(sink=FolderSink("out"))
    report = simulator.run(builtin_scenario("default"))
    print(report.to_text())

With ``SmaSimulator(..., arrival=ArrivalDouble)`` the recordings then go through the real arrival
processor over moto (a development dependency, imported only then), the recording handler's call
facts go through the real facts consumer and the missing sweep runs after; the report's
``arrival`` holds the catalog items, the facts and the events they produced
(:class:`ArrivalPlan` plays the facts after the delivery, or loses recordings on the way). With
``SmaSimulator(..., transcription=TranscriptionPlan())`` each recording the arrival announced then
goes through the real transcription function's tasks with a stubbed Transcribe, and
``report.arrival.transcription`` holds the ``TRANSCRIPT#`` items and events.

See ``docs/simulator.md`` for the scenario format, what is modelled and the arrival.
"""

from __future__ import annotations

from cdk_recording.testing._arrival import (
    ArrivalDelivery,
    ArrivalPlan,
    ArrivalReport,
    FactsOrder,
    SweepRun,
)
from cdk_recording.testing._arrival_moto import (
    ArrivalDouble,
    ArrivalUnavailable,
    BatchOutcome,
    StoredRecording,
)
from cdk_recording.testing._command import read_config, simulate
from cdk_recording.testing._handlers import (
    DEFAULT_BRIDGE_NUMBER,
    DEFAULT_HANDLER,
    DEFAULT_RECORDING_CONFIG,
    Handler,
    HandlerError,
    load_handler,
    recording_handler,
)
from cdk_recording.testing._report import (
    ActionOutcome,
    ActionRecord,
    CallReport,
    HangupCause,
    HangupRecord,
    InvocationRecord,
    LegBilling,
    LegRecord,
    Problem,
    ProblemKind,
    RecordingRecord,
    TimelineEntry,
)
from cdk_recording.testing._scenario import (
    BUILTIN_SCENARIOS,
    DEFAULT_START_TIME_MS,
    SCENARIO_VERSION,
    Answer,
    BridgeBehaviour,
    BridgeOutcome,
    Digits,
    ErrorForm,
    Hangup,
    InboundCall,
    InjectFailure,
    OutboundCall,
    Scenario,
    ScenarioError,
    Step,
    StepAction,
    UpdateRequest,
    builtin_scenario,
    load_scenario,
    parse_scenario,
)
from cdk_recording.testing._simulator import (
    DEFAULT_RECORDING_FOLDER,
    RECORDING_MEDIA_TYPE,
    Delivery,
    ParameterChecks,
    SimulatedClock,
    SimulatedContext,
    SimulatorOptions,
    SmaSimulator,
    recording_key,
)
from cdk_recording.testing._sinks import (
    METADATA_SUFFIX,
    FolderSink,
    MemorySink,
    RecordingObject,
    RecordingSink,
    S3Sink,
)
from cdk_recording.testing._transcription_report import (
    JobOutcome,
    TranscriptionPlan,
    TranscriptionReport,
    TranscriptionRun,
    TranscriptionTask,
)
from cdk_recording.testing._validate import (
    INTERRUPTIBLE_ACTIONS,
    KNOWN_ACTIONS,
    MAX_ACTIONS,
    MAX_INVOCATIONS,
    MAX_TRANSACTION_ATTRIBUTES,
    IssueLevel,
    ValidationIssue,
    validate_action,
    validate_response,
)
from cdk_recording.testing._wav import AudioProfile

__all__ = [
    "BUILTIN_SCENARIOS",
    "DEFAULT_BRIDGE_NUMBER",
    "DEFAULT_HANDLER",
    "DEFAULT_RECORDING_CONFIG",
    "DEFAULT_RECORDING_FOLDER",
    "DEFAULT_START_TIME_MS",
    "INTERRUPTIBLE_ACTIONS",
    "KNOWN_ACTIONS",
    "MAX_ACTIONS",
    "MAX_INVOCATIONS",
    "MAX_TRANSACTION_ATTRIBUTES",
    "METADATA_SUFFIX",
    "RECORDING_MEDIA_TYPE",
    "SCENARIO_VERSION",
    "ActionOutcome",
    "ActionRecord",
    "Answer",
    "ArrivalDelivery",
    "ArrivalDouble",
    "ArrivalPlan",
    "ArrivalReport",
    "ArrivalUnavailable",
    "AudioProfile",
    "BatchOutcome",
    "BridgeBehaviour",
    "BridgeOutcome",
    "CallReport",
    "Delivery",
    "Digits",
    "ErrorForm",
    "FactsOrder",
    "FolderSink",
    "Handler",
    "HandlerError",
    "Hangup",
    "HangupCause",
    "HangupRecord",
    "InboundCall",
    "InjectFailure",
    "InvocationRecord",
    "IssueLevel",
    "JobOutcome",
    "LegBilling",
    "LegRecord",
    "MemorySink",
    "OutboundCall",
    "ParameterChecks",
    "Problem",
    "ProblemKind",
    "RecordingObject",
    "RecordingRecord",
    "RecordingSink",
    "S3Sink",
    "Scenario",
    "ScenarioError",
    "SimulatedClock",
    "SimulatedContext",
    "SimulatorOptions",
    "SmaSimulator",
    "Step",
    "StepAction",
    "StoredRecording",
    "SweepRun",
    "TimelineEntry",
    "TranscriptionPlan",
    "TranscriptionReport",
    "TranscriptionRun",
    "TranscriptionTask",
    "UpdateRequest",
    "ValidationIssue",
    "builtin_scenario",
    "load_handler",
    "load_scenario",
    "parse_scenario",
    "read_config",
    "recording_handler",
    "recording_key",
    "simulate",
    "validate_action",
    "validate_response",
]
