"""One measurement of ``bench/run.py --only playback``, in a fresh interpreter so that its peak
resident memory is its own: ``python bench/playback_worker.py waveform|read HOURS``.

The WAV is generated while it is read (no file, no S3): a header, then whole seconds of a 400 Hz
tone on the left and silence on the right, repeated. ``waveform`` draws it with
:func:`cdk_recording._playback_audio.read_waveform`; ``read`` only reads the stream (the floor).
Prints one JSON line: CPU seconds, peak resident KiB, MiB of samples.
"""

from __future__ import annotations

import io
import json
import resource
import struct
import sys
import time
from typing import Any

from cdk_recording._playback_audio import CHUNK_BYTES, read_waveform
from cdk_recording.testing._wav import Span, render_channel, wav_bytes

RATE = 8000


def main() -> None:
    mode, hours = sys.argv[1], float(sys.argv[2])
    second = wav_bytes(
        [render_channel([Span(0, 1000, (400,))], 0, 1000, RATE), render_channel([], 0, 1000, RATE)],
        RATE,
    )
    header, block = bytearray(second[:44]), second[44:]  # wav_bytes writes a 44-byte header
    size = int(hours * 3600 * RATE) * 4
    header[4:8], header[40:44] = struct.pack("<I", 36 + size), struct.pack("<I", size)
    # Whole seconds of audio, enough for any read: a read is one slice of it.
    repeated = memoryview(block * (CHUNK_BYTES // len(block) + 2))

    class Generated(io.RawIOBase):
        def __init__(self) -> None:
            self.position = -len(header)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            if self.position < 0:
                count = min(len(buffer), -self.position)
                buffer[:count] = header[len(header) + self.position :][:count]
            else:
                count = min(len(buffer), size - self.position, CHUNK_BYTES)
                offset = self.position % len(block)
                buffer[:count] = repeated[offset : offset + count]
            self.position += count
            return count

    stream = io.BufferedReader(Generated(), CHUNK_BYTES)
    start = time.process_time()
    if mode == "waveform":
        shape = read_waveform(stream, size + len(header))
        assert shape.frames == size // 4, shape.frames
        assert [len(peaks) for peaks in shape.peaks] == [1000, 1000]
    else:
        while stream.read(CHUNK_BYTES):
            pass
    cpu = time.process_time() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"cpu": cpu, "peak_kib": peak_kib, "mib": size / 2**20}))


if __name__ == "__main__":
    main()
