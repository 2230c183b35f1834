"""Benchmarks: handler speed, synth cost, scale, footprint, arrival, playback waveform. Figures are
printed, never asserted.

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
    os.environ.pop("SMA_RECORDING_FACTS_QUEUE_URL", None)  # facts off: see bench_facts
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


# -- call facts ----------------------------------------------------------------------------------


def _serve_send_message(port: Any, answered: Any) -> None:
    """A tiny SQS stand-in on 127.0.0.1 answering every SendMessage (JSON protocol), run in its own
    process so its work does not share the handler's interpreter lock. HTTP/1.1 keep-alive, like the
    real endpoint; ``port`` receives the port, ``answered`` counts the requests answered."""
    import hashlib
    import uuid
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class SendMessage(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes: without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK would add about 40 ms that no real endpoint has.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps(
                {
                    "MD5OfMessageBody": hashlib.md5(
                        request["MessageBody"].encode(), usedforsecurity=False
                    ).hexdigest(),
                    "MessageId": str(uuid.uuid4()),
                }
            ).encode()
            with answered.get_lock():  # before the answer, so the caller sees it counted
                answered.value += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), SendMessage)
    port.value = server.server_address[1]
    server.serve_forever()


def bench_facts(rounds: int) -> None:
    print("call facts (the same handler over the tests/events mix, facts off vs on)")
    sys.path.insert(0, str(ROOT / "lambda" / "layers" / "recording" / "python"))
    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ.setdefault(name, value)
    import multiprocessing

    import boto3
    from sma_recording._facts_queue import FactsQueue, client_config
    from sma_recording.config import parse_config
    from sma_recording.entry import RecordingHandler

    port, answered = multiprocessing.Value("i", 0), multiprocessing.Value("i", 0)
    server = multiprocessing.Process(target=_serve_send_message, args=(port, answered), daemon=True)
    server.start()
    while not port.value:
        time.sleep(0.01)
    endpoint = f"http://127.0.0.1:{port.value}"
    # A real botocore client (serialization, SigV4 signing, an HTTP round trip on loopback) with
    # the handler's own timeouts and single attempt.
    client = boto3.client(
        "sqs", region_name="us-east-1", endpoint_url=endpoint, config=client_config()
    )
    config = parse_config(json.dumps(EXAMPLE_CONFIG))
    off = RecordingHandler(config)
    on = RecordingHandler(
        config, facts_queue=FactsQueue(f"{endpoint}/123456789012/facts", client=client)
    )
    raw = [p.read_text() for p in sorted(EVENTS.glob("*.json"))]

    class Context:
        function_name = "bench"
        aws_request_id = "bench-request"

    class NullClient:
        """Accepts every message at once: what building the facts costs without the request."""

        def send_message(self, **_: Any) -> dict[str, Any]:
            return {"MessageId": "null"}

    built = RecordingHandler(
        config, facts_queue=FactsQueue(f"{endpoint}/123456789012/facts", client=NullClient())
    )
    context = Context()
    runs = (("off", off), ("built", built), ("on", on))
    samples: dict[str, list[float]] = {name: [] for name, _ in runs}
    sending: list[bool] = []
    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed below
    real_stdout = sys.stdout
    sys.stdout = devnull
    try:
        on(json.loads(raw[0]), context)  # the first send opens the connection: not measured
        for _ in range(rounds):
            for text in raw:
                for name, handler in runs:  # interleaved: the same noise for each
                    event = json.loads(text)
                    before = answered.value
                    start = time.perf_counter_ns()
                    handler(event, context)
                    samples[name].append((time.perf_counter_ns() - start) / 1000)
                    if handler is on:
                        sending.append(answered.value > before)
    finally:
        sys.stdout = real_stdout
        devnull.close()
        server.terminate()
        server.join()
    total, sent = len(sending), sum(sending)
    print(
        f"  {len(raw)} event kinds x {rounds} rounds = {total} invocations each;"
        f" {sent} sent a message ({100 * sent / total:.0f}%)"
    )

    def row(label: str, pick: Callable[[list[float]], list[float]]) -> None:
        for stat, fraction in (("p50", 0.5), ("p99", 0.99)):
            off_us, built_us, on_us = (_percentile(pick(samples[n]), fraction) for n, _ in runs)
            print(
                f"  {stat + ' ' + label:<36} {off_us:9.1f} {built_us:9.1f} {on_us:9.1f}"
                f" {on_us - off_us:+10.1f} us"
            )

    print(f"  {'':<36} {'off':>9} {'built':>9} {'on':>9} {'on - off':>10}")
    row("per invocation", lambda values: values)
    row(
        "invocations that sent",
        lambda values: [v for v, s in zip(values, sending, strict=True) if s],
    )
    print(
        "  on: a real botocore SQS client (serialization, SigV4, HTTP/1.1) to a server on 127.0.0.1"
    )
    print("  built: the facts built and handed to a client that returns at once (no request)")


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


# -- playback ------------------------------------------------------------------------------------


def bench_playback(hours: float) -> None:
    """The playback page's waveform (1000 min/max buckets per channel) of a long stereo recording,
    8 kHz 16-bit: CPU seconds and peak resident memory, against only reading the same stream (each
    measured in a fresh interpreter by ``bench/playback_worker.py``)."""
    print(f"playback (waveform of a {hours:g}-hour stereo 8000 Hz 16-bit WAV, 1000 buckets)")

    env, processor = _env(), ROOT / "lambda" / "recording_processor"

    def measure(mode: str) -> dict[str, float]:
        result = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "playback_worker.py"), mode, str(hours)],
            env={**env, "PYTHONPATH": f"{env['PYTHONPATH']}{os.pathsep}{processor}"},
            capture_output=True,
            text=True,
            check=True,
        )
        figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
        return figures

    floor, waveform = measure("read"), measure("waveform")
    print(f"  {waveform['mib']:.0f} MiB of samples, streamed in 1 MiB reads")
    _line("waveform: CPU", waveform["cpu"], "s", floor["cpu"], "(floor: reading the stream)")
    _line(
        "waveform: peak resident memory",
        waveform["peak_kib"] / 1024,
        "MiB",
        floor["peak_kib"] / 1024,
        "(flat: chunked reads)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--only",
        choices=["handler", "facts", "synth", "scale", "footprint", "arrival", "playback"],
        help="run one section",
    )
    args = parser.parse_args()
    sections: dict[str, Callable[[], None]] = {
        "handler": lambda: bench_handler(20 if args.quick else 200),
        "facts": lambda: bench_facts(20 if args.quick else 200),
        "synth": lambda: bench_synth(2 if args.quick else 5),
        "scale": bench_scale,
        "footprint": bench_footprint,
        "arrival": lambda: bench_arrival(200 if args.quick else 1000),
        "playback": lambda: bench_playback(4),
    }
    print(f"cdk-recording benchmarks on {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for name, run in sections.items():
        if args.only in (None, name):
            run()


if __name__ == "__main__":
    main()
