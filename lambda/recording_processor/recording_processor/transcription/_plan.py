"""What to do with one delivered recording: skip it, or the exact Transcribe request to make.

Pure: the catalog items are read by the caller (:func:`read_plan`) and passed in.

**Channel roles.** The SMA writes a ``Track: BOTH`` recording in stereo, "incoming on the left
channel and outgoing on the right", both relative to the recorded leg (pstn-audio-recording.md
§3.2): channel 0 is what the far end of that leg says, channel 1 what it hears. post-call.md §2.1:
"Recording LEG-A of an inbound call: ch0 = caller = ``CUSTOMER``, ch1 = what the caller heard (agent
or IVR) = ``AGENT``"; "Recording LEG-B (the bridged agent's leg), or an outbound call where the
SMA's first leg is the agent, reverses it". Each of the two reverses the roles once:

=======  =========  ==========  ==========
leg      call       channel 0   channel 1
=======  =========  ==========  ==========
LEG-A    inbound    CUSTOMER    AGENT
LEG-B    inbound    AGENT       CUSTOMER
LEG-A    outbound   AGENT       CUSTOMER
LEG-B    outbound   CUSTOMER    AGENT
=======  =========  ==========  ==========

The call's direction is the ``CALL`` item's ``direction`` (LEG-A's); a ``REC#`` item's
``direction`` is its own leg's, and a bridged LEG-B is ``outbound`` even in an inbound call, so it
stands in only for LEG-A. Nothing is assumed: an unknown leg, direction or track gives a standard
job without channel identification (``fallbackReason: "unknown-roles"``). A mono recording
(``INCOMING``/``OUTGOING`` track, or one channel) cannot use Call Analytics, which needs two
channels: it gets a standard job (``"mono-track"``), as does a language Call Analytics lacks
(``"language"``).

**Limits** (Amazon Transcribe's fixed limits, from the catalog's ``durationSeconds`` and
``sizeBytes``; unknown values are not checked): more than 4 hours (14,400 s) of audio cannot be
transcribed at all: a skip with reason ``too-long: <seconds> s > 14400 s`` that is recorded as a
failure (``"failure": true``: the ``plan`` action writes the failed ``TRANSCRIPT#`` item and
sends ``Transcription Failed``, so operators see it); less than 0.5 s is a plain skip
(``too-short``); a file over 500 MB (taken as 500,000,000 bytes, the smaller reading) cannot use
Call Analytics and gets a standard job (``fallbackReason: "size"``; standard jobs take 2 GB).

``Media.MediaFileUri`` is ``s3://bucket/key`` without a version: Transcribe's media URI has no
version parameter, so the job reads the key's current version (the one the catalog describes
unless the key was overwritten since).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from recording_processor._keys import KeyFormatError, decode_event_key, parse_recording_key
from recording_processor._record import call_key, recording_key_attributes

if TYPE_CHECKING:
    from recording_processor._store import CatalogStore
    from recording_processor.transcription._options import TranscriptionConfig

__all__ = [
    "CALL_ANALYTICS",
    "COMPLETED",
    "MAX_CALL_ANALYTICS_BYTES",
    "MAX_SECONDS",
    "MIN_SECONDS",
    "STANDARD",
    "channel_roles",
    "decide_plan",
    "job_name",
    "read_plan",
    "recording_location",
    "transcript_key",
]

CALL_ANALYTICS: Final = "call-analytics"
STANDARD: Final = "standard"
#: The ``TRANSCRIPT#`` item's status once a transcript is recorded.
COMPLETED: Final = "completed"

#: Transcribe's longest audio per file: 4 hours.
MAX_SECONDS: Final = 14_400
#: Transcribe's shortest audio: 500 ms.
MIN_SECONDS: Final = 0.5
#: Call Analytics' largest file: 500 MB (decimal megabytes: the smaller of the two readings).
MAX_CALL_ANALYTICS_BYTES: Final = 500_000_000

_MAX_NAME = 200
_HASH_CHARS = 16
_UNSAFE = re.compile(r"[^0-9a-zA-Z._-]+")
_LEGS: Final = ("LEG-A", "LEG-B")
_DIRECTIONS: Final = ("inbound", "outbound")
_MONO_TRACKS: Final = ("INCOMING", "OUTGOING")
_ROLES: Final = ("CUSTOMER", "AGENT")
MONO: Final = "mono"


def transcript_key(transaction_id: str, call_id: str) -> dict[str, str]:
    """The table key of a recording's transcript item."""
    return {"pk": f"TX#{transaction_id}", "sk": f"TRANSCRIPT#{call_id}"}


def job_name(bucket: str, key: str) -> str:
    """The Transcribe job name of the recording at ``bucket``/``key``: 1-200 characters of
    ``[0-9a-zA-Z._-]``.

    The file name (without ``.wav``, other characters as ``-``) keeps it readable in the console;
    a ``_`` and the first 16 hex digits of the SHA-256 of ``<bucket>/<key>`` make it unique per
    object (the bucket, the folder and any character the cleaning changed count: job names are
    per account and region, and two buckets may hold the same key). Same object, same name: a
    retry conflicts instead of starting a second job.
    """
    digest = hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:_HASH_CHARS]
    stem = key.rsplit("/", 1)[-1].removesuffix(".wav")
    readable = _UNSAFE.sub("-", stem).strip("-")[: _MAX_NAME - _HASH_CHARS - 1]
    return f"{readable}_{digest}" if readable else digest


def channel_roles(leg: str, direction: str) -> dict[str, str]:
    """Channel (``"0"``/``"1"``) to participant role for a stereo recording of ``leg`` in a call of
    ``direction`` (see the module docstring's table).

    :raises ValueError: ``leg`` is not LEG-A/LEG-B or ``direction`` not inbound/outbound.
    """
    if leg not in _LEGS or direction not in _DIRECTIONS:
        raise ValueError(f"no channel roles for leg {leg!r} of an {direction!r} call")
    reversals = (leg == "LEG-B") + (direction == "outbound")
    first, second = _ROLES if reversals % 2 == 0 else reversed(_ROLES)
    return {"0": first, "1": second}


def recording_location(recording: object) -> tuple[str, str]:
    """``(bucket, key)`` of a ``Recording Available`` detail or a ``{"bucket", "key"}`` input.

    :raises ValueError: either is missing or not a string.
    """
    if not isinstance(recording, Mapping):
        raise ValueError('plan: "recording" must be an object with "bucket" and "key"')
    bucket, key = recording.get("bucket"), recording.get("key")
    if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
        raise ValueError('plan: "recording" must name a "bucket" and a "key" (strings)')
    return bucket, decode_event_key(key)


def read_plan(
    recording: object, config: TranscriptionConfig, store: CatalogStore
) -> dict[str, Any]:
    """Read what :func:`decide_plan` needs from the catalog, and decide.

    :raises ValueError: the input has no bucket and key.
    :raises Transient: a catalog read failed.
    """
    bucket, key = recording_location(recording)
    if bucket != config.recording_bucket:
        return _skip(f"not the recording bucket ({bucket!r})")
    try:
        parsed = parse_recording_key(key, config.recording_prefix)
    except KeyFormatError as error:
        return _skip(f"not a recording key: {error}")
    tx, call = parsed.transaction_id, parsed.call_id
    rec = store.get(recording_key_attributes(tx, call))
    if rec is None or rec.get("status") != "delivered":
        return _skip("the catalog has no delivered recording for this key")
    transcript = store.get(transcript_key(tx, call))
    # A completed transcript whose event was never confirmed sent goes through again: the start
    # conflicts (already started), and recording it sends the event.
    if (
        transcript is not None
        and transcript.get("status") == COMPLETED
        and transcript.get("eventSent") is True
    ):
        return _skip("already transcribed")
    call_item = store.get(call_key(tx))
    if rec.get("afterErasure") is True or (call_item or {}).get("erasedAt"):
        # The call was erased (recordings erase): nothing of it is transcribed again.
        return _skip("the call was erased")
    plan = decide_plan(bucket, key, tx, call, rec, call_item, config)
    if (
        plan.get("failure")
        and transcript is not None
        and transcript.get("status") == "failed"
        and transcript.get("failureReason") == plan["reason"]
    ):
        # Recorded and announced already (a redelivered event, a backfill): not again.
        return _skip(plan["reason"])
    return plan


def decide_plan(
    bucket: str,
    key: str,
    transaction_id: str,
    call_id: str,
    rec: Mapping[str, Any],
    call: Mapping[str, Any] | None,
    config: TranscriptionConfig,
) -> dict[str, Any]:
    """The plan for a delivered recording (``rec``: its ``REC#`` item; ``call``: the ``CALL``)."""
    if rec.get("key") != key:
        return _skip("the catalog's delivered recording has another key")
    seconds = _number(rec.get("durationSeconds"))
    if seconds is not None and seconds > MAX_SECONDS:
        return {
            **_skip(f"too-long: {_plain(seconds)} s > {MAX_SECONDS} s"),
            "failure": True,
            "transactionId": transaction_id,
            "callId": call_id,
            "key": key,
        }
    if seconds is not None and seconds < MIN_SECONDS:
        return _skip("too-short")
    size = _number(rec.get("sizeBytes"))
    too_big = size is not None and size > MAX_CALL_ANALYTICS_BYTES
    options = config.options
    roles = _roles(rec, call)
    channels = roles if isinstance(roles, dict) else None
    job_type, reason = STANDARD, None
    if roles == MONO:
        reason = "mono-track" if options.call_analytics else None
    elif channels is None:
        reason = "unknown-roles"
    elif options.call_analytics and not options.call_analytics_language:
        reason = "language"
    elif options.call_analytics and too_big:
        reason = "size"
    elif options.call_analytics:
        job_type = CALL_ANALYTICS
    name = job_name(bucket, key)
    output = f"{options.output_prefix}/{transaction_id}/"
    if job_type == CALL_ANALYTICS and channels is not None:
        request = _call_analytics_request(name, bucket, key, output, channels, config)
    else:
        request = _standard_request(name, bucket, key, output, channels is not None, config)
    return {
        "skip": False,
        "transactionId": transaction_id,
        "callId": call_id,
        "bucket": bucket,
        "key": key,
        "jobName": name,
        "jobType": job_type,
        "fallbackReason": reason,
        "channelRoles": channels,
        "request": request,
    }


def _skip(reason: str) -> dict[str, Any]:
    return {"skip": True, "reason": reason}


def _roles(rec: Mapping[str, Any], call: Mapping[str, Any] | None) -> dict[str, str] | str | None:
    """The channel roles, :data:`MONO`, or None when the catalog does not say enough."""
    track = _upper(rec.get("track"))
    channels = rec.get("channels")
    if track in _MONO_TRACKS or channels == 1:
        return MONO
    if track != "BOTH":
        return None
    leg = _upper(rec.get("leg"))
    direction = _lower((call or {}).get("direction"))
    if direction not in _DIRECTIONS and leg == "LEG-A":
        direction = _lower(rec.get("direction"))
    if leg not in _LEGS or direction not in _DIRECTIONS:
        return None
    return channel_roles(leg, direction)


def _call_analytics_request(
    name: str,
    bucket: str,
    key: str,
    output: str,
    roles: Mapping[str, str],
    config: TranscriptionConfig,
) -> dict[str, Any]:
    options = config.options
    settings: dict[str, Any] = {}
    # StartCallAnalyticsJob has no LanguageCode: a known language is the one entry of
    # LanguageOptions, as the AWS post-call analytics sample sends it
    # (pca-server/src/pca/pca-aws-sf-start-transcribe-job.py); with identification, the options.
    languages = _languages(config)
    if languages:
        settings["LanguageOptions"] = languages
    if options.vocabulary_name:
        settings["VocabularyName"] = options.vocabulary_name
    if options.redaction is not None:
        settings["ContentRedaction"] = options.redaction.request()
    if options.summarization:
        settings["Summarization"] = {"GenerateAbstractiveSummary": True}
    request: dict[str, Any] = {
        "CallAnalyticsJobName": name,
        "Media": {"MediaFileUri": f"s3://{bucket}/{key}"},
        "OutputLocation": f"s3://{bucket}/{output}",
        "DataAccessRoleArn": config.data_access_role_arn,
        "ChannelDefinitions": [
            {"ChannelId": int(channel), "ParticipantRole": role}
            for channel, role in sorted(roles.items())
        ],
    }
    if config.output_kms_key_id:
        request["OutputEncryptionKMSKeyId"] = config.output_kms_key_id
    if settings:
        request["Settings"] = settings
    return request


def _standard_request(
    name: str,
    bucket: str,
    key: str,
    output: str,
    channel_identification: bool,
    config: TranscriptionConfig,
) -> dict[str, Any]:
    options = config.options
    settings: dict[str, Any] = {"ChannelIdentification": channel_identification}
    if options.vocabulary_name:
        settings["VocabularyName"] = options.vocabulary_name
    request: dict[str, Any] = {"TranscriptionJobName": name}
    if options.identify_language:
        request["IdentifyLanguage"] = True
        if options.language_options:
            request["LanguageOptions"] = list(options.language_options)
    else:
        request["LanguageCode"] = options.language_code
    request.update(
        {
            # No MediaFormat: Transcribe detects it, and a value that differs fails the job.
            "Media": {"MediaFileUri": f"s3://{bucket}/{key}"},
            "OutputBucketName": bucket,
            "OutputKey": output,
            "Settings": settings,
            # Queueing: past the concurrent-job quota the job waits instead of failing.
            "JobExecutionSettings": {
                "AllowDeferredExecution": True,
                "DataAccessRoleArn": config.data_access_role_arn,
            },
        }
    )
    if config.output_kms_key_id:
        request["OutputEncryptionKMSKeyId"] = config.output_kms_key_id
    if options.redaction is not None:
        request["ContentRedaction"] = options.redaction.request()
    return request


def _languages(config: TranscriptionConfig) -> list[str]:
    options = config.options
    if options.identify_language:
        return list(options.language_options)
    return [options.language_code] if options.language_code else []


def _number(value: object) -> float | None:
    """A catalog number (DynamoDB gives ``Decimal``); None when absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return float(value)


def _plain(value: float) -> str:
    """``15000`` or ``14400.5``: at most millisecond precision, no exponent."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _upper(value: object) -> str | None:
    return value.upper() if isinstance(value, str) else None


def _lower(value: object) -> str | None:
    return value.lower() if isinstance(value, str) else None
