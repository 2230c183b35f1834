"""Builders for the PSTN audio actions the recording logic returns, and the response envelope.

Parameter names and shapes follow the Amazon Chime SDK developer guide (start-call-recording, speak,
play-audio, call-and-bridge, listen-to-digits, hangup, pause pages). Every builder returns a new plain
``dict`` ready to be serialised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sma_recording.config import AudioConsent, Bridge, Consent, DtmfControl, SpeakConsent, Track
from sma_recording.events import is_unsolicited

__all__ = [
    "COMMAND_BUILDERS",
    "DTMF_FLUSH_MS",
    "DTMF_IN_BETWEEN_MS",
    "MAX_ACTIONS",
    "RECORDING_ACTIONS",
    "SCHEMA_VERSION",
    "Action",
    "call_and_bridge",
    "consent_action",
    "fallback_response",
    "hangup",
    "is_consent",
    "pause",
    "pause_call_recording",
    "receive_digits",
    "response",
    "resume_call_recording",
    "start_call_recording",
    "stop_call_recording",
]

#: A PSTN audio action: ``{"Type": ..., "Parameters": {...}}``.
Action = dict[str, Any]

SCHEMA_VERSION = "1.0"
#: The service runs at most 10 actions per response.
MAX_ACTIONS = 10
#: The four call recording action types.
RECORDING_ACTIONS = frozenset(
    {"StartCallRecording", "PauseCallRecording", "ResumeCallRecording", "StopCallRecording"}
)
#: ReceiveDigits: the pause after the last key before the digits are matched. Codes such as ``*1``
#: are keyed in well under a second between keys.
DTMF_IN_BETWEEN_MS = 1000
#: ReceiveDigits: digits are flushed (and matched) at the latest this long after the first key.
DTMF_FLUSH_MS = 5000


def start_call_recording(call_id: str, track: Track, location: str) -> Action:
    """StartCallRecording on one leg into ``location`` (``bucket`` or ``bucket/prefix``)."""
    return {
        "Type": "StartCallRecording",
        "Parameters": {
            "CallId": call_id,
            "Track": str(track),
            "Destination": {"Type": "S3", "Location": location},
        },
    }


def pause_call_recording(call_id: str) -> Action:
    """PauseCallRecording (a tone is recorded, then silence)."""
    return {"Type": "PauseCallRecording", "Parameters": {"CallId": call_id}}


def resume_call_recording(call_id: str) -> Action:
    """ResumeCallRecording."""
    return {"Type": "ResumeCallRecording", "Parameters": {"CallId": call_id}}


def stop_call_recording(call_id: str) -> Action:
    """StopCallRecording (final: a leg cannot be recorded again)."""
    return {"Type": "StopCallRecording", "Parameters": {"CallId": call_id}}


#: Builders of the four recording actions that take only a CallId, by type.
COMMAND_BUILDERS = {
    "PauseCallRecording": pause_call_recording,
    "ResumeCallRecording": resume_call_recording,
    "StopCallRecording": stop_call_recording,
}


def consent_action(call_id: str, consent: Consent) -> Action:
    """Speak or PlayAudio the consent announcement to one leg."""
    if isinstance(consent, SpeakConsent):
        parameters: dict[str, Any] = {"CallId": call_id, "Text": consent.text}
        if consent.is_ssml:
            parameters["TextType"] = "ssml"
        if consent.engine is not None:
            parameters["Engine"] = str(consent.engine)
        if consent.language_code is not None:
            parameters["LanguageCode"] = consent.language_code
        if consent.voice_id is not None:
            parameters["VoiceId"] = consent.voice_id
        return {"Type": "Speak", "Parameters": parameters}
    assert isinstance(consent, AudioConsent)
    return {
        "Type": "PlayAudio",
        "Parameters": {
            "CallId": call_id,
            "AudioSource": {"Type": "S3", "BucketName": consent.bucket, "Key": consent.key},
        },
    }


def is_consent(
    action_type: str | None, parameters: Mapping[str, Any], consent: Consent | None
) -> bool:
    """Whether an action (as echoed in ``ActionData``) is the configured consent announcement."""
    if consent is None:
        return False
    if isinstance(consent, SpeakConsent):
        return action_type == "Speak" and parameters.get("Text") == consent.text
    source = parameters.get("AudioSource")
    return (
        action_type == "PlayAudio"
        and isinstance(source, Mapping)
        and source.get("BucketName") == consent.bucket
        and source.get("Key") == consent.key
    )


def call_and_bridge(bridge: Bridge, caller_id: str) -> Action:
    """CallAndBridge to the configured endpoint, showing ``caller_id``."""
    endpoint: dict[str, Any] = {"BridgeEndpointType": str(bridge.endpoint_type), "Uri": bridge.uri}
    if bridge.arn is not None:
        endpoint["Arn"] = bridge.arn
    return {
        "Type": "CallAndBridge",
        "Parameters": {
            "CallTimeoutSeconds": bridge.timeout_seconds,
            "CallerIdNumber": caller_id,
            "Endpoints": [endpoint],
        },
    }


def hangup(call_id: str, sip_response_code: str = "0") -> Action:
    """Hangup one leg; ``sip_response_code`` is ``"0"`` (normal), ``"480"`` or ``"486"``."""
    return {
        "Type": "Hangup",
        "Parameters": {"CallId": call_id, "SipResponseCode": sip_response_code},
    }


def pause(call_id: str, duration_ms: int) -> Action:
    """Pause (silence) on one leg for ``duration_ms``; interruptible by an update request."""
    return {
        "Type": "Pause",
        "Parameters": {"CallId": call_id, "DurationInMilliseconds": duration_ms},
    }


def receive_digits(call_id: str, dtmf: DtmfControl) -> Action:
    """A background ReceiveDigits matching the configured pause and resume codes."""
    return {
        "Type": "ReceiveDigits",
        "Parameters": {
            "CallId": call_id,
            "InputDigitsRegex": dtmf.input_digits_regex,
            "InBetweenDigitsDurationInMilliseconds": DTMF_IN_BETWEEN_MS,
            "FlushDigitsDurationInMilliseconds": DTMF_FLUSH_MS,
        },
    }


def response(
    actions: Sequence[Mapping[str, Any]] | None, attributes: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The Lambda response; ``TransactionAttributes`` is left out when ``attributes`` is None.

    ``actions`` None is sent as ``"Actions": null``: the service keeps the actions it still has
    queued (reference §2), where a list, even ``[]``, replaces them.
    """
    body: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Actions": None if actions is None else [dict(a) for a in actions],
    }
    if attributes is not None:
        body["TransactionAttributes"] = dict(attributes)
    return body


def fallback_response(event: object) -> dict[str, Any]:
    """The answer to an event that cannot be acted on (an internal error, a wrapped handler that
    failed, no room for the recording state), without ``TransactionAttributes`` (the stored map is
    kept).

    The one place that decides between the two "do nothing" answers (reference §2):

    * ``"Actions": null`` for the unsolicited events (:data:`sma_recording.events.UNSOLICITED_EVENTS`:
      update requests, DIGITS_RECEIVED, ACTION_INTERRUPTED). The service keeps what it still has
      queued, e.g. a StartCallRecording behind the consent announcement, or a wrapped handler's own
      actions, which a list, even ``[]``, would drop.
    * ``"Actions": []`` for every other event: they ask for a new list (``NEW_INBOUND_CALL``,
      ``CALL_ANSWERED``) or report on a list that has run, so nothing is dropped.
    """
    return response(None if is_unsolicited(event) else [])
