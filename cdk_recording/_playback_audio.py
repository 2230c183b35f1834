"""The waveform of a recording: per channel, the lowest and highest sample of each time bucket.

The WAV is read as a stream, one chunk at a time (:data:`CHUNK_BYTES`), so memory stays flat
whatever the recording's length (a 4-hour stereo recording at 8 kHz 16-bit is about 460 MB). The
header is read by the arrival processor's own parser (:func:`recording_processor._wav.parse_wav_header`),
so both sides agree on what a recording holds. Only PCM with 8-bit (unsigned) or 16-bit (signed,
little-endian) samples is drawn; anything else raises :class:`WaveformError` naming what was found.

The recording is cut into at most ``buckets`` equal runs of frames; each channel keeps the minimum and
maximum of each run, scaled to -1..1 of full scale. That pair is what a waveform picture draws: one
vertical stroke per bucket, from the minimum to the maximum.
"""

from __future__ import annotations

import sys
from array import array
from dataclasses import dataclass
from typing import IO, Final

from recording_processor._wav import HEADER_BYTES, WavHeaderError, parse_wav_header

__all__ = ["CHUNK_BYTES", "DEFAULT_BUCKETS", "Waveform", "WaveformError", "read_waveform"]

#: Buckets per channel unless asked otherwise: about one per pixel of the page's drawing.
DEFAULT_BUCKETS: Final = 1000
#: Bytes read from the stream at a time (rounded down to whole frames).
CHUNK_BYTES: Final = 1024 * 1024

_PCM = 1
_TYPECODES: Final = {8: "B", 16: "h"}
_MAX_BUCKETS = 100_000


class WaveformError(ValueError):
    """The object cannot be drawn as a waveform; the message says why."""


@dataclass(frozen=True)
class Waveform:
    """A recording's shape.

    :param channels: the channel count (2 for a ``BOTH`` recording: incoming left, outgoing right).
    :param sample_rate: frames per second.
    :param bits_per_sample: 8 or 16.
    :param frames: frames read (samples per channel).
    :param frames_per_bucket: frames each bucket covers (the last one may cover fewer).
    :param peaks: per channel, per bucket, ``(minimum, maximum)`` in -1..1 of full scale.
    """

    channels: int
    sample_rate: int
    bits_per_sample: int
    frames: int
    frames_per_bucket: int
    peaks: tuple[tuple[tuple[float, float], ...], ...]

    @property
    def duration_seconds(self) -> float:
        """The audio's length in seconds."""
        return self.frames / self.sample_rate


def read_waveform(
    stream: IO[bytes],
    content_length: int | None,
    *,
    buckets: int = DEFAULT_BUCKETS,
    chunk_bytes: int = CHUNK_BYTES,
) -> Waveform:
    """The waveform of the WAV read from ``stream`` (a file, or a GetObject ``Body``).

    :param content_length: the object's length in bytes, when known (GetObject's ``ContentLength``);
        it bounds a ``data`` chunk whose declared size is unknown or larger than the object.
    :param buckets: buckets per channel, 1 to 100000. Default: :data:`DEFAULT_BUCKETS`.
    :param chunk_bytes: read size. Default: :data:`CHUNK_BYTES`.
    :raises WaveformError: not a WAV, not 8/16-bit PCM, or a length that cannot be told.
    """
    if not 1 <= buckets <= _MAX_BUCKETS:
        raise WaveformError(f"buckets {buckets!r} is out of range: expected 1 to {_MAX_BUCKETS}")
    head = _read_up_to(stream, HEADER_BYTES)
    try:
        info = parse_wav_header(head)
    except WavHeaderError as error:
        raise WaveformError(f"not a readable WAV file: {error}") from None
    if info.audio_format != _PCM or info.bits_per_sample not in _TYPECODES:
        raise WaveformError(
            f"format {info.audio_format} with {info.bits_per_sample}-bit samples cannot be drawn: "
            "expected PCM (format 1) with 8 or 16-bit samples"
        )
    width = info.bits_per_sample // 8
    frame_bytes = info.channels * width
    if info.block_align not in (0, frame_bytes):
        raise WaveformError(
            f"block align {info.block_align} does not match {info.channels} channels of "
            f"{info.bits_per_sample} bits: expected {frame_bytes}"
        )
    data_bytes = info.data_bytes(content_length)
    if info.data_offset is None or data_bytes is None:
        raise WaveformError(
            "the length of the audio cannot be told: no data chunk in the header, or a data chunk "
            "of unknown size and no object length"
        )
    total_frames = data_bytes // frame_bytes
    per_bucket = max(1, -(-total_frames // buckets))
    peaks = _Peaks(info.channels, per_bucket, info.bits_per_sample)
    pending = head[info.data_offset :]
    left = total_frames * frame_bytes
    read_size = max(frame_bytes, chunk_bytes - chunk_bytes % frame_bytes)
    while left > 0:
        if len(pending) < frame_bytes:
            more = stream.read(min(read_size, left - len(pending)) or frame_bytes)
            if not more:
                break  # shorter than declared: draw what is there
            pending += more
        usable = min(len(pending) - len(pending) % frame_bytes, left)
        peaks.add(pending[:usable])
        left -= usable
        pending = pending[usable:]
    return Waveform(
        channels=info.channels,
        sample_rate=info.sample_rate,
        bits_per_sample=info.bits_per_sample,
        frames=peaks.frames,
        frames_per_bucket=per_bucket,
        peaks=peaks.result(),
    )


def _read_up_to(stream: IO[bytes], size: int) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < size:
        part = stream.read(size - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


class _Peaks:
    """The running minimum and maximum of each channel's buckets, fed whole frames in order."""

    def __init__(self, channels: int, per_bucket: int, bits: int) -> None:
        self._channels = channels
        self._per_bucket = per_bucket
        self._typecode = _TYPECODES[bits]
        # 8-bit WAV samples are unsigned around 128; 16-bit ones signed around 0.
        self._zero = 128 if bits == 8 else 0
        self._scale = 128.0 if bits == 8 else 32768.0
        self._lows: list[list[int]] = [[] for _ in range(channels)]
        self._highs: list[list[int]] = [[] for _ in range(channels)]
        self.frames = 0

    def add(self, data: bytes) -> None:
        samples = array(self._typecode, data)
        if sys.byteorder == "big" and self._typecode == "h":  # pragma: no cover - WAV is LE
            samples.byteswap()
        count = len(samples) // self._channels
        for channel in range(self._channels):
            values = samples[channel :: self._channels]
            lows, highs = self._lows[channel], self._highs[channel]
            position = 0
            frame = self.frames
            while position < count:
                bucket, offset = divmod(frame, self._per_bucket)
                take = min(self._per_bucket - offset, count - position)
                run = values[position : position + take]
                low, high = min(run), max(run)
                if bucket < len(lows):
                    lows[bucket] = min(lows[bucket], low)
                    highs[bucket] = max(highs[bucket], high)
                else:
                    lows.append(low)
                    highs.append(high)
                position += take
                frame += take
        self.frames += count

    def result(self) -> tuple[tuple[tuple[float, float], ...], ...]:
        zero, scale = self._zero, self._scale
        return tuple(
            tuple(
                ((low - zero) / scale, (high - zero) / scale)
                for low, high in zip(lows, highs, strict=True)
            )
            for lows, highs in zip(self._lows, self._highs, strict=True)
        )
