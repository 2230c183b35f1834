"""The ``cdk-recording`` console script.

Subcommands:

* ``call start|pause|resume|stop``: on-demand control of a live call's recording
  (:class:`cdk_recording.control.RecordingControl`).
* ``recordings ...``: the catalog and the records (:mod:`cdk_recording._recordings_cli`): find
  recorded calls (``list|show|minutes``, ``show --html`` draws a call), manage records
  (``hold|release|erase|verify``), retrieve with an audit entry (``get``), read and backfill
  transcripts (``transcript|transcribe``).
* ``report``: a cdk-nag validation report as Markdown or HTML for a compliance reviewer.
* ``simulate``: run a call through an emulated SIP media application, no AWS account needed
  (:mod:`cdk_recording.testing`).

Adding a subcommand takes one function and one registration: write ``_add_<name>(subcommands)``,
which adds the subcommand's parser and binds the function that runs it with
``parser.set_defaults(run=...)`` (``run(args) -> exit code``), then list it in :data:`SUBCOMMANDS`.
Raise :class:`CommandError` (or let a library error through) for a clean one-line failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sma_recording.protocol import Command

from cdk_recording._command import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
)
from cdk_recording._command import non_empty as _non_empty
from cdk_recording._recordings_cli import add_recordings
from cdk_recording._report import (
    DEFAULT_REPORT_PATH,
    ReportError,
    load_report,
    render_html,
    render_markdown,
)
from cdk_recording.control import (
    ControlConfigurationError,
    InvalidControlRequestError,
    RecordingControl,
    RecordingControlError,
)

if TYPE_CHECKING:
    from cdk_recording._command import Subcommands

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "SUBCOMMANDS",
    "CommandError",
    "build_parser",
    "main",
]

PROG = "cdk-recording"


# -- call --------------------------------------------------------------------------------------------

_CALL_ACTIONS = {
    Command.START: "Start recording the call.",
    Command.PAUSE: "Pause the recording: audio is not captured until resume.",
    Command.RESUME: "Resume a paused recording.",
    Command.STOP: "Stop the recording.",
}

_CALL_EPILOG = """\
The request is asynchronous: "accepted" means the service queued it for the SIP media application's
handler (CALL_UPDATE_REQUESTED), not that the recording has already changed state.

The Region, credentials and endpoint come from the standard AWS configuration (AWS_DEFAULT_REGION,
AWS_PROFILE, AWS_ENDPOINT_URL_CHIME_SDK_VOICE, AWS_ENDPOINT_URL, shared config files) unless given
as options. The caller needs the IAM action chime:UpdateSipMediaApplicationCall. Throttling is
retried with backoff (the default quota is 5 requests per second per Region).

exit status: 0 accepted, 1 refused or failed (call ended, access denied, throttled, unreachable),
2 invalid arguments or AWS configuration (no Region, no credentials, unknown profile)."""


def _add_call(subcommands: Subcommands) -> None:
    common = argparse.ArgumentParser(add_help=False)
    ids = common.add_argument_group("call")
    ids.add_argument(
        "--sma-id", required=True, type=_non_empty, help="the SIP media application id"
    )
    ids.add_argument(
        "--transaction-id",
        required=True,
        type=_non_empty,
        help="the call's transaction id (from the handler's first event, or from "
        "CreateSipMediaApplicationCall)",
    )
    ids.add_argument(
        "--call-id",
        type=_non_empty,
        help="the leg to act on (default: the leg the handler is configured to record)",
    )
    aws = common.add_argument_group("AWS")
    aws.add_argument("--region", help="the SIP media application's Region")
    aws.add_argument("--profile", help="the shared-config profile to use")
    aws.add_argument("--endpoint-url", help="a different chime-sdk-voice endpoint")

    parser = subcommands.add_parser(
        "call",
        help="start, pause, resume or stop the recording of a live call",
        description="Control the recording of a live call (UpdateSipMediaApplicationCall).",
        epilog=_CALL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for command, summary in _CALL_ACTIONS.items():
        action = actions.add_parser(
            command.value,
            parents=[common],
            help=summary[0].lower() + summary[1:].rstrip("."),
            description=summary,
            epilog=_CALL_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        action.set_defaults(run=_run_call, command=command)


def _run_call(args: argparse.Namespace) -> int:
    command: Command = args.command
    try:
        control = RecordingControl(
            region_name=args.region, endpoint_url=args.endpoint_url, profile_name=args.profile
        )
        accepted = control.send(command, args.sma_id, args.transaction_id, args.call_id)
    except (ControlConfigurationError, InvalidControlRequestError) as error:
        raise CommandError(str(error), EXIT_USAGE) from error
    leg = f" of call {args.call_id}" if args.call_id else ""
    print(
        f"accepted: {command.value} recording{leg} for transaction {accepted} "
        "(asynchronous: the handler runs shortly)"
    )
    return EXIT_OK


# -- report ------------------------------------------------------------------------------------------

_REPORT_EPILOG = f"""\
PATH is the report written by `cdk synth` when cdk-nag packs are applied, or the cloud assembly
directory holding it (default: {DEFAULT_REPORT_PATH}).

exit status: 0 no open findings, 1 open findings (or a pack that did not conclude success),
2 missing or malformed report, or invalid arguments."""


def _add_report(subcommands: Subcommands) -> None:
    parser = subcommands.add_parser(
        "report",
        help="render a cdk-nag validation report for a compliance reviewer",
        description="Render a cdk-nag validation report: per rule pack, its conclusion, its open\n"
        "findings (rule, severity, construct paths) and its acknowledgements with their reasons.",
        epilog=_REPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "path",
        metavar="PATH",
        nargs="?",
        type=Path,
        default=DEFAULT_REPORT_PATH,
        help=f"the validation report or cloud assembly directory (default: {DEFAULT_REPORT_PATH})",
    )
    parser.add_argument(
        "--format",
        choices=("markdown", "html"),
        default="markdown",
        help="output format (default: markdown)",
    )
    parser.add_argument(
        "--output",
        metavar="FILE",
        type=Path,
        help="write to FILE instead of standard output",
    )
    parser.set_defaults(run=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    path: Path = args.path
    try:
        report = load_report(path)
    except ReportError as error:
        raise CommandError(str(error), EXIT_USAGE) from error
    render = render_html if args.format == "html" else render_markdown
    page = render(report, source=str(path))
    output: Path | None = args.output
    if output is None:
        sys.stdout.write(page)
    else:
        try:
            output.write_text(page, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"{output}: cannot write: {error.strerror}", EXIT_USAGE) from error
        print(
            f"wrote {output}: {report.open_findings} open finding(s) "
            f"in {len(report.packs)} rule pack(s)"
        )
    return EXIT_OK if report.passed else EXIT_FAILURE


# -- simulate ----------------------------------------------------------------------------------------

_SIMULATE_EPILOG = """\
SCENARIO is a scenario file (JSON, see docs/simulator.md) or the name of a built-in scenario:
default, busy-callee, no-access-to-destination, dtmf-pause. Without one, the default call runs: an
inbound call, the consent announcement, a bridge to a PSTN number, recording BOTH on LEG-A, a pause,
a resume and a hangup.

Without --handler, the recording handler (sma_recording.entry:handler) runs with --config, or with
the example app's configuration plus a bridge. With --handler, --config is put in the
SMA_RECORDING_CONFIG environment variable for the run, and the current directory is importable.

Nothing reaches AWS: the SIP media application is emulated in-process on a simulated clock.
With --arrival, the recordings and the recording handler's call facts then go through the real
arrival processor, facts consumer and missing sweep over moto (a dev dependency). With
--transcribe (which implies --arrival), each announced recording then goes through the real
transcription function's tasks with a stubbed Amazon Transcribe, and the transcript record it
wrote is printed (the transcript itself is a stand-in, not a transcription of the audio).

exit status: 0 the call ran without problems, 1 the handler caused problems (they are listed)
or, with --arrival, the catalog disagrees with the call (with --transcribe, or the transcript
record disagrees with the stubbed job),
2 invalid scenario, configuration, handler or arguments, or an output folder that cannot be written."""


def _add_simulate(subcommands: Subcommands) -> None:
    parser = subcommands.add_parser(
        "simulate",
        help="run a call through an emulated SIP media application (no AWS account)",
        description="Run a scenario against a SIP media application handler in an in-process\n"
        "emulator of the service. Prints the timeline, the recordings and the billable\n"
        "recording minutes; with --out, writes each recording as a WAV file.",
        epilog=_SIMULATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "scenario",
        metavar="SCENARIO",
        nargs="?",
        help="a scenario file or a built-in scenario's name (default: the built-in default call)",
    )
    parser.add_argument(
        "--handler",
        metavar="MODULE:FUNCTION",
        help="the handler to run (default: sma_recording.entry:handler)",
    )
    parser.add_argument(
        "--config",
        metavar="JSON|@FILE",
        help="the recording configuration (SMA_RECORDING_CONFIG), as JSON or @file",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="write each recording under DIR/<bucket>/<key> with a .metadata.json sidecar",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the whole report (every event and response) as JSON instead of text",
    )
    parser.add_argument(
        "--arrival",
        action="store_true",
        help="then run the recordings through the arrival processor over moto and print the "
        "catalog items and Recording Available events (needs moto, a dev dependency)",
    )
    parser.add_argument(
        "--facts-after-delivery",
        action="store_true",
        help="with --arrival: feed the call facts to the facts consumer after the recordings are "
        "delivered (default: before, as usually in production)",
    )
    parser.add_argument(
        "--drop-recording",
        action="store_true",
        help="with --arrival: lose every recording on the way (never delivered); the missing "
        "sweep then runs past the deadline and reports it",
    )
    parser.add_argument(
        "--transcribe",
        action="store_true",
        help="then transcribe each recording the arrival announced (implies --arrival): the "
        "transcription function's tasks over moto with a stubbed Transcribe; prints the "
        "TRANSCRIPT# record and the Transcript Available event",
    )
    parser.add_argument(
        "--transcription-options",
        metavar="JSON|@FILE",
        help="with --transcribe: the TRANSCRIPTION options of the transcription function, as "
        "JSON or @file (default: the construct's defaults, PCI redaction on)",
    )
    parser.add_argument(
        "--transcription-fails",
        action="store_true",
        help="with --transcribe: the stubbed job ends FAILED (Transcription Failed is sent)",
    )
    parser.add_argument(
        "--no-job-events",
        action="store_true",
        help="with --transcribe: Transcribe's job state change event never comes (it is best "
        "effort); each round waits its 10-minute timeout, then reads the job's status",
    )
    parser.set_defaults(run=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> int:
    # Imported here: the other subcommands never load the simulator.
    from cdk_recording.testing import (
        ArrivalPlan,
        HandlerError,
        ScenarioError,
        TranscriptionPlan,
        read_config,
        simulate,
    )
    from cdk_recording.testing._transcription_report import (
        DEFAULT_OPTIONS as DEFAULT_TRANSCRIPTION_OPTIONS,
    )

    for flag, given in (
        ("--facts-after-delivery", args.facts_after_delivery),
        ("--drop-recording", args.drop_recording),
    ):
        if given and not (args.arrival or args.transcribe):
            raise CommandError(
                f"{flag} needs --arrival (it says how the arrival is played)", EXIT_USAGE
            )
    for flag, given in (
        ("--transcription-options", args.transcription_options is not None),
        ("--transcription-fails", args.transcription_fails),
        ("--no-job-events", args.no_job_events),
    ):
        if given and not args.transcribe:
            raise CommandError(
                f"{flag} needs --transcribe (it says how the transcription is played)", EXIT_USAGE
            )
    plan = ArrivalPlan(
        facts="after" if args.facts_after_delivery else "before",
        drop=("LEG-A", "LEG-B") if args.drop_recording else (),
    )
    try:
        transcription = None
        if args.transcribe:
            options = (
                dict(DEFAULT_TRANSCRIPTION_OPTIONS)
                if args.transcription_options is None
                else read_config(args.transcription_options, option="--transcription-options")
            )
            if not isinstance(options, dict):
                raise HandlerError(
                    f"--transcription-options is {options!r}; allowed: a JSON object"
                )
            transcription = TranscriptionPlan(
                options=options,
                job="failed" if args.transcription_fails else "completed",
                events=not args.no_job_events,
            )
        report = simulate(
            args.scenario,
            handler=args.handler,
            config=args.config,
            out=args.out,
            arrival=args.arrival,
            plan=plan,
            transcription=transcription or False,
        )
    except (ScenarioError, HandlerError) as error:
        raise CommandError(str(error), EXIT_USAGE) from error
    except OSError as error:
        raise CommandError(
            f"{args.out}: cannot write the recordings: {error.strerror or error}", EXIT_USAGE
        ) from error
    sys.stdout.write(report.to_json() + "\n" if args.json else report.to_text())
    return EXIT_OK if report.ok else EXIT_FAILURE


# -- entry point -------------------------------------------------------------------------------------

#: Every subcommand's registration, in ``--help`` order.
SUBCOMMANDS: tuple[Callable[[Subcommands], None], ...] = (
    _add_call,
    add_recordings,
    _add_report,
    _add_simulate,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``cdk-recording`` argument parser, with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Tools for cdk-recording: call recording with Amazon Chime SDK SIP media "
        "applications.",
    )
    subcommands = parser.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)
    for register in SUBCOMMANDS:
        register(subcommands)
    return parser


def _one_line(message: str) -> str:
    return " ".join(message.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the console script; return its exit status instead of exiting.

    :param argv: the arguments after the program name. Default: ``sys.argv[1:]``.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error argparse has already printed
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except CommandError as error:
        message, code = str(error), error.exit_code
    except RecordingControlError as error:
        message, code = str(error), EXIT_FAILURE
    except KeyboardInterrupt:
        message, code = "interrupted", 130
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)
    return code
