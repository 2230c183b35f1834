"""An in-process emulator of the SIP media application's call-control loop.

:class:`SmaSimulator` drives any Lambda handler ``handler(event, context)`` through a
:class:`~cdk_recording.testing.Scenario` the way the service would (the reference sections are
cited where each rule is applied):

* events (§1): ``Sequence`` up by one per invocation; ``TransactionAttributes`` echoed as the handler
  last returned them (``{}`` clears, absent or null keeps; §2); participants with ``CallId``,
  ``ParticipantTag``, ``To``, ``From``, ``Direction``, ``Status`` and ``StartTimeInMilliseconds`` as a
  string; LEG-B appears once a CallAndBridge connects;
* responses (§2): validated (:func:`validate_response`); a rejected one is answered with
  ``INVALID_LAMBDA_RESPONSE``; actions run in order; one ``ACTION_SUCCESSFUL`` per list, naming its
  last action; ``ACTION_FAILED`` drops the rest of the list; a new list replaces what remained of the
  old one once the running action ends; a null list keeps it; an update request stops PlayAudio,
  RecordAudio and Pause at once (``ACTION_INTERRUPTED``, whose response's actions are ignored);
* hangups (§1, hangup page): a leg that hangs up raises ``HANGUP``; the response is ignored when no
  leg is left, otherwise it runs on the remaining leg; a leg is never hung up for the handler;
* recording (§3): once per leg, pause/resume tones with silence in between, stop on StopCallRecording
  or when the leg ends, delivery as a WAV under the documented key with the documented metadata;
* limits: at most 1,000 invocations per call (§2); a handler that raises is retried once, then the
  call ends with SIP 480 (§2, timeouts page);
* time is simulated: nothing sleeps, a ten-minute call runs in milliseconds.

Where the reference leaves the service's behaviour unconfirmed, the choice made here is stated where
it is applied and listed in ``docs/simulator.md``.

The loop lives in ``_call.py`` (events, invocations, legs ending) and ``_actions.py`` (action lists,
recording actions); ``_audio.py`` renders the recordings and ``_summary.py`` builds the report. The
options, clock and key layout are in ``_options.py`` and re-exported here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cdk_recording.testing._call import Call
from cdk_recording.testing._handlers import Handler, recording_handler
from cdk_recording.testing._options import (
    DEFAULT_RECORDING_FOLDER,
    RECORDING_MEDIA_TYPE,
    Delivery,
    ParameterChecks,
    SimulatedClock,
    SimulatedContext,
    SimulatorOptions,
    recording_key,
)
from cdk_recording.testing._report import CallReport
from cdk_recording.testing._scenario import Scenario
from cdk_recording.testing._sinks import MemorySink, RecordingObject, RecordingSink
from cdk_recording.testing._transcription_report import TranscriptionPlan

if TYPE_CHECKING:
    from cdk_recording.testing._arrival_moto import ArrivalDouble

__all__ = [
    "DEFAULT_RECORDING_FOLDER",
    "RECORDING_MEDIA_TYPE",
    "Delivery",
    "ParameterChecks",
    "SimulatedClock",
    "SimulatedContext",
    "SimulatorOptions",
    "SmaSimulator",
    "recording_key",
]


class SmaSimulator:
    """Runs scenarios against one handler, as the SIP media application would.

    :param handler: the Lambda handler, ``handler(event, context) -> response``.
    :param options: the simulated service's behaviour. Default: :class:`SimulatorOptions` defaults.
    :param sink: where recordings are delivered; without one the audio is not rendered (faster) and
        the report still lists every recording. Default: none.
    :param clock: the simulated clock (share it with a handler that reads time).
        Default: a new one.
    :param name: the handler's name in the report. Default: its module and qualified name.
    :param arrival: play the arrival after each call: the recordings go through the real arrival
        processor over moto (:class:`~cdk_recording.testing.ArrivalDouble`), and the report's
        ``arrival`` says what it cataloged and announced. The recording handler's facts messages
        go to the double's facts queue during the call and on to the real facts consumer; the
        missing sweep runs after. The audio is then always rendered.
        Default: none (no arrival).
    :param transcription: then transcribe each recording the arrival announced: the real
        transcription function's tasks over the double, with a stubbed Transcribe answering as
        the plan says (``_arrival_transcribe.py``); the report's ``arrival.transcription`` holds
        the ``TRANSCRIPT#`` items and events. Needs ``arrival``. Default: none.
    :raises ValueError: ``transcription`` without ``arrival``.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        options: SimulatorOptions | None = None,
        sink: RecordingSink | None = None,
        clock: SimulatedClock | None = None,
        name: str | None = None,
        arrival: ArrivalDouble | None = None,
        transcription: TranscriptionPlan | None = None,
    ) -> None:
        if transcription is not None and arrival is None:
            raise ValueError(
                "transcription needs arrival (an ArrivalDouble): it transcribes what the arrival "
                "announces"
            )
        self.handler = handler
        self.options = options or SimulatorOptions()
        self.sink = sink
        self.clock = clock or SimulatedClock()
        self.name = name or _describe(handler)
        self.arrival = arrival
        self.transcription = transcription

    @classmethod
    def for_recording_handler(
        cls,
        config: Mapping[str, Any] | str | None = None,
        *,
        options: SimulatorOptions | None = None,
        sink: RecordingSink | None = None,
        log_level: str = "INFO",
        arrival: ArrivalDouble | None = None,
        transcription: TranscriptionPlan | None = None,
    ) -> SmaSimulator:
        """A simulator driving the library's recording handler (``sma_recording.entry:handler``).

        :param config: its ``SMA_RECORDING_CONFIG``. Default: the example app's plus a bridge
            (:data:`~cdk_recording.testing.DEFAULT_RECORDING_CONFIG`).
        :raises HandlerError: the configuration is invalid.
        """
        clock = SimulatedClock()
        handler = recording_handler(config, clock=clock, log_level=log_level)
        return cls(
            handler,
            options=options,
            sink=sink,
            clock=clock,
            name="sma_recording.entry:handler",
            arrival=arrival,
            transcription=transcription,
        )

    def run(self, scenario: Scenario) -> CallReport:
        """Simulate one call; the handler sees a fresh transaction."""
        if self.arrival is None:
            return Call(self, scenario).run()
        # The arrival needs the bodies: keep a copy of each delivery besides the caller's sink.
        memory = MemorySink()
        sink = memory if self.sink is None else _Both(self.sink, memory)
        # The recording handler sends its facts messages to the arrival's queue meanwhile.
        with self.arrival.capturing_facts(self.handler) as facts:
            report = Call(self, scenario, sink).run()
        arrival = self.arrival.arrive(report, memory.objects, facts=facts)
        if self.transcription is not None:
            from cdk_recording.testing._arrival_transcribe import transcribe_arrival

            arrival = transcribe_arrival(
                self.arrival,
                report,
                arrival,
                self.transcription,
                turn_ms=self.options.audio.turn_ms,
            )
        return dataclasses.replace(report, arrival=arrival)


class _Both:
    """Delivers to the caller's sink (whose destination the report shows) and to memory."""

    def __init__(self, first: RecordingSink, second: RecordingSink) -> None:
        self.first = first
        self.second = second

    def deliver(self, recording: RecordingObject) -> str:
        self.second.deliver(recording)
        return self.first.deliver(recording)


def _describe(handler: Handler) -> str:
    module = getattr(handler, "__module__", None) or type(handler).__module__
    name = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    return f"{module}:{name}"
