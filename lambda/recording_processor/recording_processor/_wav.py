"""What the RIFF/WAVE header at the start of a recording says: channels, rate, sample size, length.

The SIP media application writes "open WAV" (reference §3.2): stereo for ``Track: BOTH``, mono for a
single track; the sample rate and bit depth are unconfirmed. So this reads whatever the header
declares instead of assuming 8 kHz 16-bit, and tolerates what real writers do:

* chunks other than ``fmt `` before ``data`` (``LIST``, ``fact``, ``JUNK``...), each padded to an
  even size as RIFF requires;
* a ``data`` size of 0 or 0xFFFFFFFF, which streaming writers (and RF64 files) leave when they
  cannot seek back: the size is then unknown and the object's length stands in for it;
* a declared size larger than what the object holds (a truncated upload): the smaller one wins.

Anything that is not a WAV header raises :class:`WavHeaderError` and nothing else, so a caller can
catalog the object as ``format: unknown`` without guarding against arbitrary exceptions.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["HEADER_BYTES", "WavHeaderError", "WavInfo", "parse_wav_header"]

#: How much of the object the header is looked for in. Real headers are 44 bytes, or a few hundred
#: with a LIST chunk; a data chunk that starts later is treated as "length unknown".
HEADER_BYTES = 4096

_UNKNOWN_SIZES = frozenset({0, 0xFFFFFFFF})
_FMT_MIN_SIZE = 16
_EXTENSIBLE = 0xFFFE
_EXTENSIBLE_MIN_SIZE = 40
# Formats whose samples are fixed-size frames of block_align bytes: PCM, IEEE float, A-law, mu-law.
_FRAMED_FORMATS = frozenset({1, 3, 6, 7})
_MILLISECOND = Decimal("0.001")


class WavHeaderError(ValueError):
    """The bytes are not a RIFF/WAVE header this parser can read; the message says why."""


@dataclass(frozen=True)
class WavInfo:
    """The facts of a WAV header.

    :param audio_format: the format tag (1 PCM, 3 IEEE float, 6 A-law, 7 mu-law), with
        WAVE_FORMAT_EXTENSIBLE resolved to its sub-format.
    :param byte_rate: average bytes per second as declared.
    :param block_align: bytes per frame (all channels of one sample instant).
    :param data_offset: where the samples start in the object; None when the ``data`` chunk was
        not found within the bytes given.
    :param data_size: the ``data`` chunk's declared size; None when it is 0 or 0xFFFFFFFF
        (unknown), or when the chunk was not found.
    """

    audio_format: int
    channels: int
    sample_rate: int
    byte_rate: int
    block_align: int
    bits_per_sample: int
    data_offset: int | None
    data_size: int | None

    def data_bytes(self, content_length: int | None) -> int | None:
        """How many bytes of samples the object holds, given its length (None: not known)."""
        if self.data_offset is None:
            return None
        available = None if content_length is None else max(0, content_length - self.data_offset)
        if self.data_size is None:
            return available
        if available is None:
            return self.data_size
        return min(self.data_size, available)

    def duration_seconds(self, content_length: int | None) -> Decimal | None:
        """The audio's length in seconds, to the millisecond; None when it cannot be told."""
        data_bytes = self.data_bytes(content_length)
        if data_bytes is None:
            return None
        if self.audio_format in _FRAMED_FORMATS:
            frame = self.block_align or self.channels * -(-self.bits_per_sample // 8)
            seconds = Decimal(data_bytes // frame) / Decimal(self.sample_rate)
        elif self.byte_rate > 0:
            seconds = Decimal(data_bytes) / Decimal(self.byte_rate)
        else:
            return None
        return seconds.quantize(_MILLISECOND)


def parse_wav_header(data: bytes) -> WavInfo:
    """Read the header at the start of ``data`` (the first :data:`HEADER_BYTES` of an object).

    :raises WavHeaderError: not RIFF/WAVE, no readable ``fmt `` chunk before ``data``, or
        impossible values (no channels, a zero sample rate or sample size).
    """
    if data[0:4] not in (b"RIFF", b"RF64") or data[8:12] != b"WAVE":
        raise WavHeaderError("not a RIFF/WAVE file")
    offset = 12
    fmt: tuple[int, int, int, int, int, int] | None = None
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        body = offset + 8
        if chunk_id == b"data":
            if fmt is None:
                raise WavHeaderError("the data chunk comes before any fmt chunk")
            return _info(fmt, body, None if size in _UNKNOWN_SIZES else size)
        if chunk_id == b"fmt ":
            fmt = _read_fmt(data, body, size)
        if size == 0xFFFFFFFF:
            break  # a chunk of unknown size cannot be skipped
        offset = body + size + (size & 1)
    if fmt is None:
        raise WavHeaderError(f"no fmt chunk in the first {len(data)} bytes")
    return _info(fmt, None, None)


def _read_fmt(data: bytes, body: int, size: int) -> tuple[int, int, int, int, int, int]:
    if size < _FMT_MIN_SIZE or body + _FMT_MIN_SIZE > len(data):
        raise WavHeaderError("the fmt chunk is too short")
    audio_format, channels, sample_rate, byte_rate, block_align, bits = struct.unpack_from(
        "<HHIIHH", data, body
    )
    if (
        audio_format == _EXTENSIBLE
        and size >= _EXTENSIBLE_MIN_SIZE
        and body + _EXTENSIBLE_MIN_SIZE <= len(data)
    ):
        # The sub-format GUID's first two bytes are the format tag it stands for.
        (audio_format,) = struct.unpack_from("<H", data, body + 24)
    if channels == 0:
        raise WavHeaderError("the fmt chunk declares no channels")
    if sample_rate == 0:
        raise WavHeaderError("the fmt chunk declares a sample rate of 0")
    if bits == 0:
        raise WavHeaderError("the fmt chunk declares 0 bits per sample")
    return audio_format, channels, sample_rate, byte_rate, block_align, bits


def _info(
    fmt: tuple[int, int, int, int, int, int], data_offset: int | None, data_size: int | None
) -> WavInfo:
    audio_format, channels, sample_rate, byte_rate, block_align, bits = fmt
    return WavInfo(
        audio_format=audio_format,
        channels=channels,
        sample_rate=sample_rate,
        byte_rate=byte_rate,
        block_align=block_align,
        bits_per_sample=bits,
        data_offset=data_offset,
        data_size=data_size,
    )
