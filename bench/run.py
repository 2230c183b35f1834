"""Benchmarks: handler speed, synth cost, scale, footprint. Figures are printed, never asserted.

Each figure is a ratio against a floor measured in the same run, so a noisy machine moves both.
Run with ``make bench`` (the venv's Node 24 first on PATH). ``--quick`` runs fewer repetitions.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "events"
BIN = Path(sys.executable).parent

EXAMPLE_CONFIG = {
    "version": 1,
    "application": "bench",
    "metricsNamespace": "CdkRecording",
    "destination": {"bucket": "bench-recordings", "prefix": "recordings"},
    "track": "BOTH",
    "leg": "LEG-A",
    "autoStart": True,
    "consent": {"speak": {"text": "This call is recorded."}},
    "announceToCallee": False,
    "bridge": {"endpointType": "PSTN", "uri": "+12065550199", "timeoutSeconds": 30},
    "dtmf": {"pause": "*1", "resume": "*2"},
}


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "JSII_NODE": str(BIN / "node"),
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT), str(ROOT / "lambda" / "layers" / "recording" / "python")]
        ),
    }


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _line(name: str, value: float, unit: str, floor: float | None = None, target: str = "") -> None:
    ratio = f"  ratio {value / floor:6.2f}x" if floor else ""
    floor_text = f"  floor {floor:10.3f} {unit}" if floor else ""
    print(f"  {name:<44} {value:10.3f} {unit}{floor_text}{ratio}  {target}".rstrip())


# -- handler -------------------------------------------------------------------------------------


def bench_handler(rounds: int) -> None:
    print("handler (sma_recording.entry.handler over the tests/events mix)")
    os.environ["SMA_RECORDING_CONFIG"] = json.dumps(EXAMPLE_CONFIG)
    sys.path.insert(0, str(ROOT / "lambda" / "layers" / "recording" / "python"))
    from sma_recording.entry import handler

    raw = [p.read_text() for p in sorted(EVENTS.glob("*.json"))]
    events = [json.loads(r) for r in raw]

    class Context:
        function_name = "bench"
        aws_request_id = "bench-request"

    context = Context()

    def timed(fn: Callable[[int], object]) -> list[float]:
        samples = []
        for _ in range(rounds):
            for index in range(len(events)):
                start = time.perf_counter_ns()
                fn(index)
                samples.append((time.perf_counter_ns() - start) / 1000)
        return samples

    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed below
    real_stdout = sys.stdout
    sys.stdout = devnull
    try:
        handler_us = timed(lambda i: json.dumps(handler(json.loads(raw[i]), context)))
    finally:
        sys.stdout = real_stdout
        devnull.close()
    floor_us = timed(lambda i: json.dumps(json.loads(raw[i])))
    print(f"  {len(events)} event kinds x {rounds} rounds = {len(handler_us)} invocations")
    _line(
        "median per event",
        statistics.median(handler_us),
        "us",
        statistics.median(floor_us),
        "(target <= 20x)",
    )
    _line("p99 per event", _percentile(handler_us, 0.99), "us", _percentile(floor_us, 0.99))

    def cold(code: str, env: dict[str, str]) -> float:
        runs = []
        for _ in range(21):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, check=True)
            runs.append((time.perf_counter() - start) * 1000)
        return statistics.median(runs)

    # Source only: what Lambda does on a cold start (the asset ships no bytecode, /var/task is
    # read-only, so every module is compiled at import).
    source_env = {**_env(), "PYTHONDONTWRITEBYTECODE": "1"}
    bare = cold("pass", source_env)
    imported = cold("import sma_recording.entry", source_env)
    _line("cold start: python -c 'import entry' (source)", imported, "ms", bare)
    _line("  import cost over a bare interpreter", imported - bare, "ms", None, "(target <= 50 ms)")
    with tempfile.TemporaryDirectory() as tmp:
        compiled = Path(tmp) / "python"
        shutil.copytree(ROOT / "lambda" / "layers" / "recording" / "python", compiled)
        compileall.compile_dir(str(compiled), quiet=1)
        bytecode_env = {**_env(), "PYTHONPATH": str(compiled)}
        bytecode_env.pop("PYTHONDONTWRITEBYTECODE", None)
        with_pyc = cold("import sma_recording.entry", bytecode_env)
    _line("  same with precompiled bytecode", with_pyc - bare, "ms", None, "(import cost)")


# -- synth ---------------------------------------------------------------------------------------

FLOOR_APP = """
import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_, aws_s3 as s3
app = cdk.App()
stack = cdk.Stack(app, "Floor", env=cdk.Environment(account="111111111111", region="us-east-1"))
s3.Bucket(stack, "Bucket")
lambda_.Function(stack, "Function", runtime=lambda_.Runtime.PYTHON_3_14, handler="index.handler",
                 code=lambda_.Code.from_inline("def handler(event, context): return {}"))
app.synth()
"""


# The repository root is on PYTHONPATH (see _env), so the example app's stack imports as `app`.
EXAMPLE_WITHOUT_PACKS = """
import aws_cdk as cdk
from app import example_stack
app = cdk.App()
example_stack(app, "us-east-1")
app.synth()
"""


def _cli_synth(app_command: str, outdir: str) -> tuple[float, float]:
    """Seconds and peak MiB (largest process of the run, from GNU time) of one `cdk synth`."""
    cdk = ROOT / "node_modules" / ".bin" / "cdk"
    start = time.perf_counter()
    result = subprocess.run(
        [
            "/usr/bin/time",
            "-f",
            "%M",
            str(cdk),
            "synth",
            "--quiet",
            "--app",
            app_command,
            "--output",
            outdir,
        ],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"cdk synth failed for {app_command}: {result.stderr[-2000:]}")
    peak_kib = int(result.stderr.strip().splitlines()[-1])
    return seconds, peak_kib / 1024


def bench_synth(rounds: int) -> None:
    print("synth (npx cdk synth through the pinned CLI, Node 24)")
    with tempfile.TemporaryDirectory() as tmp:
        floor_app = Path(tmp) / "floor_app.py"
        floor_app.write_text(FLOOR_APP)
        no_nag_app = Path(tmp) / "example_without_packs.py"
        no_nag_app.write_text(EXAMPLE_WITHOUT_PACKS)
        example, bare, floor = [], [], []
        for index in range(rounds):
            example.append(_cli_synth("python3 app.py", f"{tmp}/example{index}"))
            bare.append(_cli_synth(f"python3 {no_nag_app}", f"{tmp}/bare{index}"))
            floor.append(_cli_synth(f"python3 {floor_app}", f"{tmp}/floor{index}"))
    fl_s = statistics.median(s for s, _ in floor)
    fl_m = max(m for _, m in floor)
    print(f"  {rounds} runs each, interleaved; the floor is one bucket and one Lambda function")
    _line(
        "example app, five cdk-nag packs (median)",
        statistics.median(s for s, _ in example),
        "s",
        fl_s,
        "(target <= 1.3x)",
    )
    _line(
        "example app without the packs (median)", statistics.median(s for s, _ in bare), "s", fl_s
    )
    _line("peak memory, example app with packs", max(m for _, m in example), "MiB", fl_m)
    _line("peak memory, example app without packs", max(m for _, m in bare), "MiB", fl_m)


# -- scale ---------------------------------------------------------------------------------------

SCALE_APP = """
import json, os, sys, time
start = time.perf_counter()
import aws_cdk as cdk
from cdk_recording import CallRecording
n = int(sys.argv[1])
app = cdk.App(outdir=sys.argv[2])
stack = cdk.Stack(app, "Scale", env=cdk.Environment(account="111111111111", region="us-east-1"))
CallRecording(stack, "Recording", phone_numbers=[f"+1206555{i:04d}" for i in range(n)])
app.synth()
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def bench_scale() -> None:
    print("scale (in-process synth in a fresh interpreter, routed numbers in one stack)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "scale.py"
        script.write_text(SCALE_APP)
        for count in (1, 10, 100):
            out = Path(tmp) / f"out{count}"
            result = subprocess.run(
                [sys.executable, str(script), str(count), str(out)],
                env=_env(),
                capture_output=True,
                text=True,
                check=True,
            )
            seconds = json.loads(result.stdout.strip().splitlines()[-1])["seconds"]
            template_path = out / "Scale.template.json"
            resources = len(json.loads(template_path.read_text())["Resources"])
            rows.append((count, seconds, resources, template_path.stat().st_size))
    print(f"  {'numbers':>8} {'synth s':>8} {'resources':>10} {'template KiB':>13}")
    for count, seconds, resources, size in rows:
        print(f"  {count:>8} {seconds:>8.2f} {resources:>10} {size / 1024:>13.1f}")
    (n1, _, r1, b1), (_, _, _, _), (n3, _, r3, b3) = rows
    per_resources = (r3 - r1) / (n3 - n1)
    per_kib = (b3 - b1) / (n3 - n1) / 1024
    print(f"  growth: {per_resources:.2f} resources and {per_kib:.2f} KiB per number (linear)")
    base = r1 - per_resources * n1
    print(
        f"  limits: 500 resources at {int((500 - base) // per_resources)} numbers; "
        f"1 MB template at about {int((1024 - b1 / 1024) // per_kib)} numbers"
    )


# -- footprint -----------------------------------------------------------------------------------


def bench_footprint() -> None:
    print("footprint (example stack, us-east-1)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, str(ROOT / "app.py")],
            cwd=ROOT,
            env={**_env(), "CDK_OUTDIR": tmp},
            capture_output=True,
            check=True,
        )
        template: dict[str, Any] = json.loads(
            (Path(tmp) / "CallRecordingExample.template.json").read_text()
        )
    resources = template["Resources"]
    print(f"  {len(resources)} resources")
    for kind, count in sorted(Counter(r["Type"] for r in resources.values()).items()):
        print(f"    {count:>3}  {kind}")
    print("  Lambda functions:")
    for logical_id, resource in sorted(resources.items()):
        if resource["Type"] == "AWS::Lambda::Function":
            props = resource["Properties"]
            print(
                f"    {logical_id:<70} {props.get('Runtime', '?'):<11} "
                f"{props.get('MemorySize', 128):>5} MB"
            )


# -- arrival -------------------------------------------------------------------------------------


def _arrival_scenarios(count: int) -> list[Any]:
    """``count`` calls of 5 s to 3 min, some paused and resumed (deterministic)."""
    from cdk_recording.testing import Hangup, InboundCall, Scenario, Step, UpdateRequest

    rng = random.Random(7)
    scenarios = []
    for index in range(count):
        steps = [Step.at(0, InboundCall("+14255550199", "+12065550100"))]
        at = 5.0
        for command in ("pause", "resume")[: rng.choice((0, 0, 2))]:
            at += rng.randint(1, 30)
            steps.append(Step.at(at, UpdateRequest({"recording": command})))
        steps.append(Step.at(at + rng.randint(0, 120), Hangup("LEG-A")))
        scenarios.append(Scenario(tuple(steps), name="bench", seed=index))
    return scenarios


def bench_arrival(calls: int) -> None:
    """Simulated calls' recordings through the arrival processor over moto, duplicated (1 in 5
    delivered twice) and reordered; then the processor's streamed digest of a large object."""
    print(f"arrival ({calls} simulated calls through recording_processor.handler over moto)")
    sys.path.insert(0, str(ROOT / "lambda" / "recording_processor"))
    from cdk_recording.testing import (
        DEFAULT_RECORDING_CONFIG,
        ArrivalDouble,
        MemorySink,
        SmaSimulator,
    )

    memory = MemorySink()
    config = {**DEFAULT_RECORDING_CONFIG, "consent": None}
    simulator = SmaSimulator.for_recording_handler(config, sink=memory, log_level="WARNING")
    rng = random.Random(11)
    timings: dict[str, list[float]] = {}
    reports = []
    sizes: list[int] = []
    simulated = 0.0
    with ArrivalDouble.in_moto() as double:
        stored = {}
        for scenario in _arrival_scenarios(calls):
            start = time.perf_counter()
            report = simulator.run(scenario)
            simulated += time.perf_counter() - start
            reports.append(report)
            for recording in report.recordings:
                body = memory.objects.pop((recording.bucket, recording.key))
                sizes.append(len(body.body))
                stored[recording.call_id] = double.store(
                    body,
                    report.start_time_ms + recording.delivered_ms,
                    recording.location.partition("/")[2],
                )
        deliveries = [s for s in stored.values() for _ in range(2 if rng.random() < 0.2 else 1)]
        rng.shuffle(deliveries)
        retried = 0
        for delivery in deliveries:
            begin = time.perf_counter_ns()
            outcome = double.process([delivery])
            elapsed_ms = (time.perf_counter_ns() - begin) / 1e6
            retried += len(outcome.retried)
            for status in outcome.outcomes:
                timings.setdefault(status, []).append(elapsed_ms)
        events = Counter(
            (e["detail"]["transactionId"], e["detail"]["callId"]) for e in double.captured_events()
        )
        wrong = 0
        for report in reports:
            items = {i["sk"]: i for i in double.catalog(report.transaction_id)}
            for bill in report.billing:
                item = items.get(f"REC#{bill.call_id}", {})
                once = events[(report.transaction_id, bill.call_id)] == 1
                wrong += item.get("billedMinutes") != bill.billable_minutes or not once
            if report.billing:
                wrong += items["CALL"].get("billedMinutes") != report.billable_minutes
    print(
        f"  {len(stored)} recordings ({statistics.median(sizes) / 2**20:.1f} MiB median WAV), "
        f"{len(deliveries)} deliveries, {retried} retried; simulated in {simulated:.1f} s"
    )
    for status, samples in sorted(timings.items()):
        _line(f"processor per record, {status} (p50)", statistics.median(samples), "ms")
        _line(f"processor per record, {status} (p99)", _percentile(samples, 0.99), "ms")
    print(
        f"  catalog: {len(timings.get('delivered', []))} cataloged, "
        f"{sum(events.values())} events; disagreements with the simulator: {wrong}"
    )
    _bench_digest(512)


def _bench_digest(mebibytes: int) -> None:
    """Peak Python memory of the processor's streamed SHA-256 over a large object (tracemalloc):
    the object is generated as it is read, so the figure is the processor's own."""
    import io
    import tracemalloc

    from botocore.response import StreamingBody
    from recording_processor._s3 import RecordingObjects

    size = mebibytes * 2**20

    class Generated(io.RawIOBase):
        def __init__(self) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            count = min(len(buffer), self.left)
            buffer[:count] = b"\x5a" * count
            self.left -= count
            return count

    class Client:
        def get_object(self, **_: Any) -> dict[str, Any]:
            return {"Body": StreamingBody(io.BufferedReader(Generated(), 2**16), size)}

    tracemalloc.start()
    content = RecordingObjects(Client()).read("bucket", "key.wav", None)  # type: ignore[arg-type]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert content.size == size
    _line(f"digest of a {mebibytes} MiB object: peak memory", peak / 2**20, "MiB", None, "(flat)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--only",
        choices=["handler", "synth", "scale", "footprint", "arrival"],
        help="run one section",
    )
    args = parser.parse_args()
    sections: dict[str, Callable[[], None]] = {
        "handler": lambda: bench_handler(20 if args.quick else 200),
        "synth": lambda: bench_synth(2 if args.quick else 5),
        "scale": bench_scale,
        "footprint": bench_footprint,
        "arrival": lambda: bench_arrival(200 if args.quick else 1000),
    }
    print(f"cdk-recording benchmarks on {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for name, run in sections.items():
        if args.only in (None, name):
            run()


if __name__ == "__main__":
    main()
