"""One simulated call from command-line style inputs (what ``cdk-recording simulate`` runs)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sma_recording.config import ENV_VAR

from cdk_recording.testing._arrival import ArrivalPlan, ArrivalReport
from cdk_recording.testing._handlers import (
    DEFAULT_HANDLER,
    DEFAULT_RECORDING_CONFIG,
    HandlerError,
    load_handler,
    recording_handler,
)
from cdk_recording.testing._report import CallReport
from cdk_recording.testing._scenario import Scenario, builtin_scenario, load_scenario
from cdk_recording.testing._simulator import SimulatedClock, SimulatorOptions, SmaSimulator
from cdk_recording.testing._sinks import FolderSink
from cdk_recording.testing._transcription_report import TranscriptionPlan, TranscriptionReport

__all__ = ["read_config", "simulate"]


def read_config(text: str, *, option: str = "--config") -> Any:
    """A configuration given as JSON text or as ``@path`` to a JSON file.

    :param option: the option it was given with, named in the errors about inline JSON.
    :raises HandlerError: the file cannot be read or the text is not JSON.
    """
    source = option
    if text.startswith("@"):
        source = text[1:]
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as error:
            raise HandlerError(
                f"cannot read the configuration file {source}: {error.strerror or error}"
            ) from error
    try:
        return json.loads(text)
    except ValueError as error:
        raise HandlerError(f"the configuration in {source} is not valid JSON: {error}") from error


@contextlib.contextmanager
def _environment(name: str, value: str | None) -> Iterator[None]:
    previous = os.environ.get(name)
    if value is not None:
        os.environ[name] = value
    try:
        yield
    finally:
        if value is not None:
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous


def _import_from_cwd(spec: str) -> Any:
    """Load ``spec`` with the current directory importable, as ``python -m`` would have it."""
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        return load_handler(spec)
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def simulate(
    scenario: str | Path | None = None,
    *,
    handler: str | None = None,
    config: str | None = None,
    out: str | Path | None = None,
    options: SimulatorOptions | None = None,
    arrival: bool = False,
    plan: ArrivalPlan | None = None,
    transcription: bool | TranscriptionPlan = False,
) -> CallReport:
    """Run one call, the way ``cdk-recording simulate`` does.

    :param scenario: a scenario file, or a built-in scenario's name. Default: the built-in
        ``default`` call.
    :param handler: ``module:function`` of the handler. Default: the recording handler
        (``sma_recording.entry:handler``), built with ``config``.
    :param config: the recording configuration as JSON text or ``@file``. For the recording handler
        it is parsed (and rejected when invalid); for another handler it is put in the
        ``SMA_RECORDING_CONFIG`` environment variable during the run. Default: the example app's
        configuration plus a bridge (:data:`DEFAULT_RECORDING_CONFIG`).
    :param out: write each recording as a WAV (and a metadata sidecar) under ``out/<bucket>/<key>``.
        Default: recordings are listed but not written.
    :param arrival: then play the arrival: the recordings go through the real arrival processor
        over moto, and the report's ``arrival`` holds the catalog items and events. Without moto
        installed the call still runs and ``arrival.skipped`` says why there is no arrival.
        Default: false.
    :param plan: how the arrival is played (the facts before or after the delivery, recordings
        lost so that the missing sweep reports them); only with ``arrival``. Default:
        :class:`ArrivalPlan` defaults.
    :param transcription: then transcribe each recording the arrival announced (implies
        ``arrival``): the real transcription function's tasks over moto with a stubbed Transcribe,
        as a :class:`TranscriptionPlan` says (``True``: its defaults, a completed Call Analytics
        job). The report's ``arrival.transcription`` holds the ``TRANSCRIPT#`` items and events.
        Default: false.
    :raises ScenarioError: the scenario is invalid.
    :raises HandlerError: the handler, the configuration or the transcription options are invalid.
    :raises OSError: ``out`` cannot be written.
    """
    chosen = builtin_scenario("default") if scenario is None else load_scenario(scenario)
    transcribe = TranscriptionPlan() if transcription is True else transcription or None
    arrival = arrival or transcribe is not None
    if transcribe is not None:
        from cdk_recording.testing._arrival_transcribe import parse_transcription_options

        try:
            parse_transcription_options(transcribe)
        except ValueError as error:
            raise HandlerError(f"invalid transcription options: {error}") from error
    document = None if config is None else read_config(config)
    sink = None if out is None else FolderSink(out)
    if handler is None or handler == DEFAULT_HANDLER:
        clock = SimulatedClock()
        built = recording_handler(
            DEFAULT_RECORDING_CONFIG if document is None else document, clock=clock
        )
        simulator = SmaSimulator(
            built, options=options, sink=sink, clock=clock, name=DEFAULT_HANDLER
        )
        return _run(simulator, chosen, arrival, plan, transcribe)
    environment = None if document is None else json.dumps(document)
    with _environment(ENV_VAR, environment):
        target = _import_from_cwd(handler)
        simulator = SmaSimulator(target, options=options, sink=sink, name=handler)
        return _run(simulator, chosen, arrival, plan, transcribe)


def _run(
    simulator: SmaSimulator,
    scenario: Scenario,
    arrival: bool,
    plan: ArrivalPlan | None,
    transcription: TranscriptionPlan | None,
) -> CallReport:
    if not arrival:
        return simulator.run(scenario)
    # Imported here: the simulator alone never loads boto3's resources or the processor.
    from cdk_recording.testing._arrival_moto import ArrivalDouble, ArrivalUnavailable

    try:
        with ArrivalDouble.in_moto(
            seed=scenario.seed,
            account_id=simulator.options.account_id,
            region=simulator.options.region,
            plan=plan,
        ) as double:
            simulator.arrival = double
            simulator.transcription = transcription
            return simulator.run(scenario)
    except ArrivalUnavailable as unavailable:
        simulator.arrival = simulator.transcription = None
        report = simulator.run(scenario)
        skipped = None if transcription is None else TranscriptionReport(skipped=str(unavailable))
        return dataclasses.replace(
            report, arrival=ArrivalReport(skipped=str(unavailable), transcription=skipped)
        )
    finally:
        simulator.arrival = None
        simulator.transcription = None
