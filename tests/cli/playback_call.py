"""A bridged call for the playback page: its catalog items, its ``show`` document and its audio.

Inbound ``CALLER`` -> ``AGENT`` on 2026-12-03 from 10:00:00Z: LEG-A starts at 0 s, consent is played
at 4 s, LEG-B joins at 6 s, the recording of LEG-A (``BOTH``) starts at 7 s, pauses at 20 s,
resumes at 30 s, and stops when LEG-A hangs up at 60 s; the call ends at 60 s. The recording's audio
(:func:`sine_left_silent_right`) is a tone on the left channel (incoming) in its middle third and
silence on the right (outgoing), so a waveform shows exactly where the sound is.
"""

from __future__ import annotations

import io
import wave
from decimal import Decimal
from typing import Any

from cdk_recording._recordings_output import clean, presented
from cdk_recording.testing._wav import Span, render_channel, wav_bytes
from tests.cli.catalog_seed import AGENT, BUCKET, CALLER, SMA_ID, fact_item, number_item

TX = "8a7b6c5d-4e3f-4a2b-9c1d-0e1f2a3b4c5d"
CALL_A = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
CALL_B = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"
KEY = f"calls/2026/12/03/{TX}_{CALL_A}.wav"
STARTED = "2026-12-03T10:00:00.000Z"


def at(seconds: int) -> str:
    return f"2026-12-03T10:{seconds // 60:02d}:{seconds % 60:02d}.000Z"


#: (seconds, sequence, n, kind, leg, call id, detail)
FACTS: list[tuple[int, int, int, str, str | None, str, dict[str, Any]]] = [
    (0, 1, 0, "call-started", "LEG-A", CALL_A, {}),
    (4, 2, 0, "consent-played", "LEG-A", CALL_A, {"action": "Speak"}),
    (6, 3, 0, "leg-joined", "LEG-B", CALL_B, {}),
    (7, 4, 0, "recording-started", "LEG-A", CALL_A, {"track": "BOTH"}),
    (20, 5, 0, "recording-paused", "LEG-A", CALL_A, {}),
    (30, 6, 0, "recording-resumed", "LEG-A", CALL_A, {}),
    (60, 7, 0, "recording-stopped", "LEG-A", CALL_A, {"by": "hangup", "status": "recording"}),
    (60, 7, 1, "call-ended", None, CALL_A, {"event": "HANGUP", "sipResponseCode": "0"}),
]


def catalog_items(version_id: str, size: int, seconds: str = "3") -> list[dict[str, Any]]:
    """The call's items as the catalog holds them, its recording delivered as ``version_id``."""
    call = {
        "pk": f"TX#{TX}",
        "sk": "CALL",
        "transactionId": TX,
        "smaId": SMA_ID,
        "direction": "inbound",
        "fromNumber": CALLER,
        "toNumber": AGENT,
        "startedAt": STARTED,
        "endedAt": at(60),
        "day": STARTED[:10],
        "consent": {"playedAt": at(4), "legs": ["LEG-A"]},
        "recordings": {CALL_A},
        "billedMinutes": 1,
        "schemaVersion": 1,
    }
    recording = {
        "pk": f"TX#{TX}",
        "sk": f"REC#{CALL_A}",
        "transactionId": TX,
        "callId": CALL_A,
        "leg": "LEG-A",
        "track": "BOTH",
        "direction": "inbound",
        "fromNumber": CALLER,
        "toNumber": AGENT,
        "smaId": SMA_ID,
        "status": "delivered",
        "startedAt": at(7),
        "stoppedAt": at(60),
        "pausedSeconds": Decimal(10),
        "bucket": BUCKET,
        "key": KEY,
        "versionId": version_id,
        "s3Uri": f"s3://{BUCKET}/{KEY}",
        "sha256": "0" * 64,
        "sizeBytes": size,
        "durationSeconds": Decimal(seconds),
        "billedMinutes": 1,
        "channels": 2,
        "sampleRate": 8000,
        "legStartTime": at(7),
    }
    items = [
        call,
        recording,
        number_item(TX, CALLER, "from", "LEG-A", STARTED),
        number_item(TX, AGENT, "to", "LEG-A", STARTED),
    ]
    for seconds_at, sequence, n, kind, leg, call_id, detail in FACTS:
        fact = fact_item(TX, at(seconds_at), sequence, n, kind, call_id, detail)
        fact["leg"] = leg
        items.append(fact)
    return items


def document(*, unmask: bool = False, version_id: str = "v1", size: int = 0) -> dict[str, Any]:
    """The ``recordings show`` document of the call (what ``--output json`` prints)."""
    items = catalog_items(version_id, size)
    by_kind = lambda prefix: [clean(i) for i in items if str(i["sk"]).startswith(prefix)]  # noqa: E731
    value: dict[str, Any] = presented(
        {
            "transactionId": TX,
            "call": clean(items[0]),
            "numbers": by_kind("NUM#"),
            "recordings": by_kind("REC#"),
            "facts": by_kind("FACT#"),
        },
        unmask=unmask,
    )
    return value


def sine_left_silent_right(seconds: int = 3, sample_rate: int = 8000, level: float = 0.5) -> bytes:
    """A 16-bit stereo WAV: a 400 Hz tone on the left during the middle third, silence elsewhere."""
    length = seconds * 1000
    left = render_channel(
        [Span(length // 3, 2 * length // 3, (400,))], 0, length, sample_rate, level=level
    )
    right = render_channel([], 0, length, sample_rate)
    return wav_bytes([left, right], sample_rate)


def wav_8bit_mono(samples: bytes, sample_rate: int = 8000) -> bytes:
    """An 8-bit (unsigned) mono WAV of ``samples``."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(sample_rate)
        out.writeframes(samples)
    return buffer.getvalue()
