"""The RIFF/WAVE header parser, against real WAVs and generated headers."""

from __future__ import annotations

import struct
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from recording_processor._wav import HEADER_BYTES, WavHeaderError, WavInfo, parse_wav_header

from tests.processor.conftest import mono_wav, stereo_wav


def chunk(chunk_id: bytes, payload: bytes) -> bytes:
    """A RIFF chunk, padded to an even size."""
    return chunk_id + struct.pack("<I", len(payload)) + payload + (b"\x00" * (len(payload) & 1))


def fmt_payload(
    audio_format: int = 1, channels: int = 2, rate: int = 8000, bits: int = 16
) -> bytes:
    block = channels * -(-bits // 8)
    return struct.pack("<HHIIHH", audio_format, channels, rate, rate * block, block, bits)


def riff(*chunks: bytes, magic: bytes = b"RIFF") -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return magic + struct.pack("<I", len(body)) + body


def test_reads_the_simulators_stereo_recording() -> None:
    data = stereo_wav(2.5)

    info = parse_wav_header(data[:HEADER_BYTES])

    assert (info.channels, info.sample_rate, info.bits_per_sample) == (2, 8000, 16)
    assert info.audio_format == 1
    assert info.data_offset == 44
    assert info.data_size == len(data) - 44
    assert info.duration_seconds(len(data)) == Decimal("2.500")


def test_reads_the_simulators_mono_recording() -> None:
    data = mono_wav(1.0, sample_rate=16000)

    info = parse_wav_header(data[:HEADER_BYTES])

    assert (info.channels, info.sample_rate) == (1, 16000)
    assert info.duration_seconds(len(data)) == Decimal("1.000")


def test_skips_a_list_chunk_before_data_including_its_pad_byte() -> None:
    samples = b"\x01\x00" * 8000
    data = riff(
        chunk(b"fmt ", fmt_payload(channels=1)),
        chunk(b"LIST", b"INFOISFT\x05\x00\x00\x00sma!\x00"),  # odd size: one pad byte follows
        chunk(b"data", samples),
    )

    info = parse_wav_header(data)

    assert info.data_offset == len(data) - len(samples)
    assert info.duration_seconds(len(data)) == Decimal("1.000")


@pytest.mark.parametrize("size", [0, 0xFFFFFFFF])
def test_unknown_data_size_falls_back_to_the_object_length(size: int) -> None:
    header = riff(chunk(b"fmt ", fmt_payload()))
    header += b"data" + struct.pack("<I", size)
    object_length = len(header) + 32000 * 3

    info = parse_wav_header(header)

    assert info.data_size is None
    assert info.duration_seconds(object_length) == Decimal("3.000")
    assert info.duration_seconds(None) is None


def test_rf64_with_unknown_sizes_is_read() -> None:
    header = riff(chunk(b"ds64", b"\x00" * 28), chunk(b"fmt ", fmt_payload()), magic=b"RF64")
    header += b"data" + struct.pack("<I", 0xFFFFFFFF)

    assert parse_wav_header(header).duration_seconds(len(header) + 64000) == Decimal("2.000")


def test_truncated_object_uses_what_it_holds() -> None:
    header = riff(chunk(b"fmt ", fmt_payload())) + b"data" + struct.pack("<I", 32000 * 10)

    assert parse_wav_header(header).duration_seconds(len(header) + 32000) == Decimal("1.000")


def test_extensible_format_resolves_to_its_sub_format() -> None:
    extension = struct.pack("<HHI", 22, 16, 3) + struct.pack("<H", 1) + b"\x00" * 14
    payload = fmt_payload(audio_format=0xFFFE) + extension

    info = parse_wav_header(riff(chunk(b"fmt ", payload), chunk(b"data", b"")))

    assert info.audio_format == 1


def test_data_chunk_beyond_the_header_bytes_gives_no_duration() -> None:
    header = riff(chunk(b"fmt ", fmt_payload()), chunk(b"JUNK", b"\x00" * HEADER_BYTES))

    info = parse_wav_header(header[:HEADER_BYTES])

    assert info.channels == 2
    assert info.data_offset is None
    assert info.duration_seconds(10**6) is None


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        pytest.param(b"", "not a RIFF/WAVE", id="empty"),
        pytest.param(b"<html>" * 10, "not a RIFF/WAVE", id="html"),
        pytest.param(b"RIFF\x00\x00\x00\x00AVI LIST", "not a RIFF/WAVE", id="avi"),
        pytest.param(riff(chunk(b"data", b"")), "before any fmt", id="data-first"),
        pytest.param(riff(chunk(b"LIST", b"ab")), "no fmt chunk", id="no-fmt"),
        pytest.param(riff(chunk(b"fmt ", b"\x01\x00")), "too short", id="short-fmt"),
        pytest.param(riff(chunk(b"fmt ", fmt_payload(channels=0))), "no channels", id="0-ch"),
        pytest.param(riff(chunk(b"fmt ", fmt_payload(rate=0))), "sample rate", id="0-hz"),
        pytest.param(riff(chunk(b"fmt ", fmt_payload(bits=0))), "bits", id="0-bits"),
    ],
)
def test_rejects(data: bytes, problem: str) -> None:
    with pytest.raises(WavHeaderError, match=problem):
        parse_wav_header(data)


extra_chunks = st.lists(
    st.tuples(
        st.binary(min_size=4, max_size=4).filter(lambda i: i not in {b"data", b"fmt "}),
        st.binary(max_size=64),
    ),
    max_size=4,
)


@given(
    audio_format=st.sampled_from([1, 3, 6, 7]),
    channels=st.integers(min_value=1, max_value=8),
    rate=st.integers(min_value=1, max_value=384000),
    bits=st.sampled_from([8, 16, 24, 32]),
    before_fmt=extra_chunks,
    after_fmt=extra_chunks,
    data_size=st.integers(min_value=1, max_value=0xFFFFFFFE),
)
def test_generated_headers_round_trip(
    audio_format: int,
    channels: int,
    rate: int,
    bits: int,
    before_fmt: list[tuple[bytes, bytes]],
    after_fmt: list[tuple[bytes, bytes]],
    data_size: int,
) -> None:
    head = riff(
        *(chunk(i, p) for i, p in before_fmt),
        chunk(b"fmt ", fmt_payload(audio_format, channels, rate, bits)),
        *(chunk(i, p) for i, p in after_fmt),
    )
    header = head + b"data" + struct.pack("<I", data_size)
    assume(len(header) <= HEADER_BYTES)
    block = channels * (bits // 8)

    info = parse_wav_header(header)

    assert info == WavInfo(
        audio_format=audio_format,
        channels=channels,
        sample_rate=rate,
        byte_rate=rate * block,
        block_align=block,
        bits_per_sample=bits,
        data_offset=len(header),
        data_size=data_size,
    )
    expected = (Decimal(data_size // block) / Decimal(rate)).quantize(Decimal("0.001"))
    assert info.duration_seconds(len(header) + data_size) == expected


@given(data=st.binary(max_size=512), length=st.none() | st.integers(min_value=0, max_value=2**40))
def test_random_bytes_raise_only_wav_header_error(data: bytes, length: int | None) -> None:
    try:
        info = parse_wav_header(data)
    except WavHeaderError:
        return
    info.duration_seconds(length)


@given(
    body=st.binary(max_size=256),
    length=st.none() | st.integers(min_value=0, max_value=2**40),
)
def test_random_chunks_after_a_riff_wave_magic_raise_only_wav_header_error(
    body: bytes, length: int | None
) -> None:
    try:
        info = parse_wav_header(b"RIFF\xff\xff\xff\xffWAVE" + body)
    except WavHeaderError:
        return
    info.duration_seconds(length)


@given(
    fields=st.tuples(
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFF),
    ),
    data_size=st.integers(0, 0xFFFFFFFF),
    length=st.none() | st.integers(min_value=0, max_value=2**40),
)
def test_arbitrary_fmt_values_raise_only_wav_header_error(
    fields: tuple[int, int, int, int, int, int], data_size: int, length: int | None
) -> None:
    header = riff(chunk(b"fmt ", struct.pack("<HHIIHH", *fields)))
    header += b"data" + struct.pack("<I", data_size)
    try:
        info = parse_wav_header(header)
    except WavHeaderError:
        return
    info.duration_seconds(length)
