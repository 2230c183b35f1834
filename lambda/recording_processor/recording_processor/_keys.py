"""The object key the SIP media application writes a recording under, and what it tells us.

Reference §3.4: ``<prefix>/YYYY/MM/DD/YYYY-MM-DD-hh-mm-ss-mmm_<transactionId>_<callId>.wav``, with
``Amazon-Chime-SMA-Call-Recordings`` as the folder when ``StartCallRecording`` named only a bucket.
The timestamp is the start of the call leg. Its separators and time zone are unconfirmed (the
developer guide renders the separators as typographic dashes), so the parser accepts any dash,
underscore, dot, colon, space or ``T`` between the fields, 1-6 fraction digits or none, and reads the
time as UTC. What it does insist on is what makes a key trustworthy as a catalog key: two UUIDs, a
real calendar moment, and a date folder that agrees with the timestamp.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_plus

__all__ = [
    "DEFAULT_FOLDER",
    "KeyFormatError",
    "RecordingKey",
    "decode_event_key",
    "iso_utc",
    "parse_recording_key",
    "recording_folder",
]

#: The folder the service uses when the destination names a bucket without a prefix.
DEFAULT_FOLDER = "Amazon-Chime-SMA-Call-Recordings"

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# ASCII hyphen, underscore, dot, colon, space, "T", and the Unicode dashes U+2010-U+2015 and minus.
_SEP = "[-_.: T\u2010-\u2015\u2212]"
_FILE_NAME = re.compile(
    rf"(?P<y>\d{{4}}){_SEP}(?P<mo>\d{{2}}){_SEP}(?P<d>\d{{2}}){_SEP}"
    rf"(?P<h>\d{{2}}){_SEP}(?P<mi>\d{{2}}){_SEP}(?P<s>\d{{2}})(?:{_SEP}(?P<frac>\d{{1,6}}))?"
    rf"_(?P<tx>{_UUID})_(?P<call>{_UUID})\.wav",
    re.IGNORECASE,
)
_DATE_FOLDER = re.compile(r"(?P<y>\d{4})/(?P<mo>\d{2})/(?P<d>\d{2})")


class KeyFormatError(ValueError):
    """The key is not a recording key of the expected shape; the message says what is wrong."""


@dataclass(frozen=True)
class RecordingKey:
    """What a recording's key says about it.

    ``transaction_id`` and ``call_id`` are lower-cased (UUIDs compare case-insensitively, and the
    SMA's events carry them in lower case). ``leg_start`` is timezone-aware UTC.
    """

    key: str
    folder: str
    transaction_id: str
    call_id: str
    leg_start: datetime

    @property
    def day(self) -> str:
        """``YYYY-MM-DD`` of the leg start: the catalog's day partition."""
        return self.leg_start.strftime("%Y-%m-%d")

    @property
    def leg_start_iso(self) -> str:
        """The leg start as :func:`iso_utc` writes it."""
        return iso_utc(self.leg_start)


def iso_utc(moment: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ss.mmmZ``: one fixed-width form for every timestamp in the catalog, so
    that comparing the strings compares the moments (the day index sorts on it).
    """
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def recording_folder(prefix: str) -> str:
    """The folder recordings land in for a configured prefix (``""`` -> the service default)."""
    return prefix.strip("/") or DEFAULT_FOLDER


def decode_event_key(key: str) -> str:
    """The object key as S3's APIs want it.

    EventBridge's ``detail.object.key`` is documented without the URL encoding that classic bucket
    notifications apply (``red+flower.jpg``); no source we could find states either way for
    EventBridge, so this is defensive: a key that carries ``%`` or ``+`` is decoded as a classic
    notification key would be. No recording key can contain either character (they are made of
    digits, UUIDs, dashes, underscores and the configured folder), so for recordings the two
    readings cannot disagree; callers still try the key as given first.
    """
    if "%" in key or "+" in key:
        return unquote_plus(key)
    return key


def parse_recording_key(key: str, prefix: str) -> RecordingKey:
    """Parse ``key`` as a recording written under ``prefix`` (``""`` = the default folder).

    :raises KeyFormatError: the key is outside the folder, or not of the §3.4 shape, or names an
        impossible moment, or its date folder disagrees with its timestamp.
    """
    folder = recording_folder(prefix)
    if not key.startswith(folder + "/"):
        raise KeyFormatError(f"the key is not under {folder + '/'!r}")
    rest = key[len(folder) + 1 :]
    parts = rest.split("/")
    if len(parts) != 4:
        raise KeyFormatError("key is not <folder>/YYYY/MM/DD/<file>.wav")
    folder_date = _DATE_FOLDER.fullmatch("/".join(parts[:3]))
    if folder_date is None:
        raise KeyFormatError("date folder is not YYYY/MM/DD")
    name = _FILE_NAME.fullmatch(parts[3])
    if name is None:
        raise KeyFormatError(
            "file name is not <YYYY-MM-DD-hh-mm-ss-mmm>_<transactionId>_<callId>.wav"
        )
    fraction = name.group("frac") or "0"
    try:
        leg_start = datetime(
            int(name.group("y")),
            int(name.group("mo")),
            int(name.group("d")),
            int(name.group("h")),
            int(name.group("mi")),
            int(name.group("s")),
            int(fraction.ljust(6, "0")),
            tzinfo=UTC,
        )
    except ValueError as error:
        raise KeyFormatError(f"timestamp in the file name is not a real moment: {error}") from None
    if tuple(folder_date.group("y", "mo", "d")) != tuple(name.group("y", "mo", "d")):
        raise KeyFormatError("date folder disagrees with the timestamp in the file name")
    return RecordingKey(
        key=key,
        folder=folder,
        transaction_id=name.group("tx").lower(),
        call_id=name.group("call").lower(),
        leg_start=leg_start,
    )
