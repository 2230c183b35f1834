"""The waveform of a recording (``_playback_audio.read_waveform``) over known synthetic WAVs."""

from __future__ import annotations

import io
import struct
import wave
from array import array
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdk_recording._playback_audio import Waveform, WaveformError, read_waveform
from cdk_recording.testing._wav import wav_bytes
from tests.cli.playback_call import sine_left_silent_right, wav_8bit_mono


def waveform(data: bytes, **options: Any) -> Waveform:
    return read_waveform(io.BytesIO(data), len(data), **options)


def test_sine_left_silence_right_peaks_where_the_tone_is() -> None:
    shape = waveform(sine_left_silent_right(seconds=3, level=0.5), buckets=300)

    assert (shape.channels, shape.sample_rate, shape.bits_per_sample) == (2, 8000, 16)
    assert shape.frames == 24_000
    assert shape.duration_seconds == 3.0
    assert shape.frames_per_bucket == 80
    left, right = shape.peaks
    assert len(left) == len(right) == 300
    # The tone fills the middle third (buckets 100-199) at half of full scale, on the left only.
    for index, (low, high) in enumerate(left):
        if 100 <= index < 200:
            assert high == pytest.approx(0.5, abs=0.01), index
            assert low == pytest.approx(-0.5, abs=0.01), index
        else:
            assert (low, high) == (0.0, 0.0), index
    assert set(right) == {(0.0, 0.0)}


def test_eight_bit_samples_are_unsigned_around_128() -> None:
    samples = bytes([128] * 100 + [255, 0] * 50 + [128] * 100)
    shape = waveform(wav_8bit_mono(samples), buckets=3)

    assert (shape.channels, shape.bits_per_sample, shape.frames) == (1, 8, 300)
    assert shape.peaks == (((0.0, 0.0), (-1.0, 127 / 128), (0.0, 0.0)),)


def test_fewer_frames_than_buckets_gives_one_bucket_per_frame() -> None:
    shape = waveform(wav_bytes([array("h", [0, 16384, -32768])], 8000), buckets=1000)
    assert shape.frames_per_bucket == 1
    assert shape.peaks == (((0.0, 0.0), (0.5, 0.5), (-1.0, -1.0)),)


def naive_peaks(data: bytes, buckets: int) -> list[list[tuple[float, float]]]:
    with wave.open(io.BytesIO(data)) as wav:
        channels = wav.getnchannels()
        samples = array("h", wav.readframes(wav.getnframes()))
    frames = len(samples) // channels
    per = max(1, -(-frames // buckets))
    out = []
    for channel in range(channels):
        values = samples[channel::channels]
        out.append(
            [
                (min(values[i : i + per]) / 32768, max(values[i : i + per]) / 32768)
                for i in range(0, frames, per)
            ]
        )
    return out


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.integers(-32768, 32767), min_size=2, max_size=400),
    buckets=st.integers(1, 50),
    chunk=st.integers(1, 64),
)
def test_any_chunk_size_gives_the_peaks_of_the_whole(
    values: list[int], buckets: int, chunk: int
) -> None:
    frames = len(values) // 2
    left, right = array("h", values[:frames]), array("h", values[frames : 2 * frames])
    data = wav_bytes([left, right], 8000)

    shape = waveform(data, buckets=buckets, chunk_bytes=chunk)

    assert [list(channel) for channel in shape.peaks] == naive_peaks(data, buckets)


class CountingReader(io.RawIOBase):
    """A stream that remembers how much was asked of it at a time."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.asked: list[int] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.asked.append(size)
        return self._data.read(size)


def test_the_stream_is_read_a_chunk_at_a_time() -> None:
    data = sine_left_silent_right(seconds=10)  # 320 kB of samples
    reader = CountingReader(data)

    read_waveform(reader, len(data), chunk_bytes=4096)

    assert all(0 < size <= 4096 for size in reader.asked), max(reader.asked)
    assert len(reader.asked) > len(data) // 4096


def with_data_size(data: bytes, size: int) -> bytes:
    offset = data.index(b"data") + 4
    return data[:offset] + struct.pack("<I", size) + data[offset + 4 :]


def test_unknown_data_size_uses_the_object_length() -> None:
    data = with_data_size(sine_left_silent_right(seconds=1), 0xFFFFFFFF)
    assert waveform(data).frames == 8000


def test_unknown_data_size_without_object_length_is_refused() -> None:
    data = with_data_size(sine_left_silent_right(seconds=1), 0)
    with pytest.raises(WaveformError, match="length of the audio cannot be told"):
        read_waveform(io.BytesIO(data), None)


def test_a_truncated_object_draws_what_it_holds() -> None:
    data = sine_left_silent_right(seconds=2)
    cut = data[: len(data) // 2]
    shape = read_waveform(io.BytesIO(cut), None)  # the header still declares 2 s
    assert 7900 < shape.frames < 8100


def fmt_wav(audio_format: int, bits: int) -> bytes:
    block = 2 * bits // 8
    fmt = struct.pack("<HHIIHH", audio_format, 2, 8000, 8000 * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", block)
    return b"RIFF" + struct.pack("<I", len(body) + block) + body + bytes(block)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (fmt_wav(1, 24), "format 1 with 24-bit samples cannot be drawn"),
        (fmt_wav(3, 32), "format 3 with 32-bit samples cannot be drawn"),
        (b"ID3\x04" + bytes(100), "not a readable WAV file"),
        (b"", "not a readable WAV file"),
    ],
    ids=["24-bit", "float", "mp3", "empty"],
)
def test_what_cannot_be_drawn_is_a_waveform_error_saying_why(data: bytes, says: str) -> None:
    with pytest.raises(WaveformError, match=says):
        waveform(data)


@pytest.mark.parametrize("buckets", [0, 100_001])
def test_bucket_count_is_bounded(buckets: int) -> None:
    with pytest.raises(WaveformError, match=f"buckets {buckets} is out of range"):
        waveform(sine_left_silent_right(seconds=1), buckets=buckets)
