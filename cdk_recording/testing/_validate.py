"""Checks a Lambda response the way the SIP media application does before running it.

Two levels, as the reference describes them:

* **response** problems (``SchemaVersion``, the ``Actions`` list, unknown action types, more than
  10 actions, ``TransactionAttributes``): the service rejects the whole response and invokes the
  handler with ``INVALID_LAMBDA_RESPONSE`` (reference §1, §2, §11.1);
* **action** problems (a required parameter missing or out of range, reference §3.1 and §6): the
  documented error types ``MissingRequiredActionParameter`` and ``InvalidActionParameter`` are action
  errors, so by default the simulator reports them as ``ACTION_FAILED`` when that action's turn
  comes (see :class:`cdk_recording.testing.ParameterChecks`).

Only ``TransactionAttributesInvalidMapSize``, ``MissingRequiredActionParameter`` and
``InvalidActionParameter`` are documented error types; the other names below are the simulator's
own (the service's exact error types for those cases are unconfirmed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "INTERRUPTIBLE_ACTIONS",
    "KNOWN_ACTIONS",
    "MAX_ACTIONS",
    "MAX_INVOCATIONS",
    "MAX_TRANSACTION_ATTRIBUTES",
    "MAX_TRANSACTION_ATTRIBUTES_BYTES",
    "RECORDING_ACTIONS",
    "SCHEMA_VERSION",
    "IssueLevel",
    "ValidationIssue",
    "validate_action",
    "validate_response",
]

#: The only response schema version (§2).
SCHEMA_VERSION = "1.0"
#: At most 10 actions per response (§2).
MAX_ACTIONS = 10
#: At most 1,000 Lambda invocations per call (§2, §7).
MAX_INVOCATIONS = 1000
#: The service's own error example rejects 11 keys, although the text says 100 (§2, §11.1).
MAX_TRANSACTION_ATTRIBUTES = 10
#: Documented size limit of the whole map (§2).
MAX_TRANSACTION_ATTRIBUTES_BYTES = 20 * 1024

#: The four call recording actions (§3.1).
RECORDING_ACTIONS = frozenset(
    {"StartCallRecording", "PauseCallRecording", "ResumeCallRecording", "StopCallRecording"}
)
#: Actions an update request stops at once (§2, update-sip-call).
INTERRUPTIBLE_ACTIONS = frozenset({"PlayAudio", "RecordAudio", "Pause"})
#: Every action type of the developer guide's "supported actions" list. The ones without a row in
#: :data:`_RULES` are accepted and run as instantaneous successes (not modelled).
KNOWN_ACTIONS = RECORDING_ACTIONS | frozenset(
    {
        "CallAndBridge",
        "Hangup",
        "JoinChimeMeeting",
        "ModifyChimeMeetingAttendees",
        "Pause",
        "PlayAudio",
        "PlayAudioAndGetDigits",
        "ReceiveDigits",
        "RecordAudio",
        "SendDigits",
        "Speak",
        "SpeakAndGetDigits",
        "StartBotConversation",
        "VoiceFocus",
    }
)

_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
_DIGIT_KEYS = frozenset("0123456789*#")
_TAGS = ("LEG-A", "LEG-B")


class IssueLevel(StrEnum):
    """Whether a problem rejects the whole response or fails one action."""

    RESPONSE = "response"
    ACTION = "action"


@dataclass(frozen=True)
class ValidationIssue:
    """One problem with a response.

    :param level: :attr:`IssueLevel.RESPONSE` (``INVALID_LAMBDA_RESPONSE``) or
        :attr:`IssueLevel.ACTION` (``ACTION_FAILED`` of that action, by default).
    :param error_type: the service error type reported for it.
    :param message: what is wrong, naming the field.
    :param action_index: the index of the action in ``Actions`` (action problems only).
    """

    level: IssueLevel
    error_type: str
    message: str
    action_index: int | None = None

    def __str__(self) -> str:
        where = "" if self.action_index is None else f"Actions[{self.action_index}]: "
        return f"{self.error_type}: {where}{self.message}"


# -- parameter rules (§3.1, §6) -----------------------------------------------------------------------

_Check = Callable[[Mapping[str, Any], list[str], list[str]], None]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _string(name: str, *, required: bool = False, max_length: int | None = None) -> _Check:
    def check(parameters: Mapping[str, Any], missing: list[str], invalid: list[str]) -> None:
        value = parameters.get(name)
        if value is None:
            if required:
                missing.append(name)
            return
        if not _is_text(value):
            invalid.append(f"{name} must be a non-empty string")
        elif max_length is not None and len(value) > max_length:
            invalid.append(f"{name} must be at most {max_length:,} characters")

    return check


def _choice(name: str, allowed: tuple[str, ...], *, required: bool = False) -> _Check:
    def check(parameters: Mapping[str, Any], missing: list[str], invalid: list[str]) -> None:
        value = parameters.get(name)
        if value is None:
            if required:
                missing.append(name)
        elif value not in allowed:
            invalid.append(f"{name} must be one of {', '.join(allowed)}, got {value!r}")

    return check


def _integer(name: str, *, low: int, high: int | None = None, required: bool = False) -> _Check:
    def check(parameters: Mapping[str, Any], missing: list[str], invalid: list[str]) -> None:
        value = parameters.get(name)
        if value is None:
            if required:
                missing.append(name)
            return
        if not _is_int(value) or value < low or (high is not None and value > high):
            bounds = f"{low}-{high}" if high is not None else f">= {low}"
            invalid.append(f"{name} must be an integer {bounds}, got {value!r}")

    return check


def _leg() -> _Check:
    """``CallId`` or ``ParticipantTag`` (both optional; CallId wins)."""

    def check(parameters: Mapping[str, Any], missing: list[str], invalid: list[str]) -> None:
        _string("CallId")(parameters, missing, invalid)
        tag = parameters.get("ParticipantTag")
        if tag is not None and tag not in _TAGS:
            invalid.append(f"ParticipantTag must be LEG-A or LEG-B, got {tag!r}")

    return check


def _s3_source(name: str, *, required: bool) -> _Check:
    """``{Type: "S3", BucketName, Key}`` (PlayAudio AudioSource, CallAndBridge RingbackTone)."""

    def check(parameters: Mapping[str, Any], missing: list[str], invalid: list[str]) -> None:
        value = parameters.get(name)
        if value is None:
            if required:
                missing.append(name)
            return
        if not isinstance(value, Mapping):
            invalid.append(f"{name} must be an object")
            return
        for key in ("Type", "BucketName", "Key"):
            if value.get(key) is None:
                missing.append(f"{name}.{key}")
        if value.get("Type") not in (None, "S3"):
            invalid.append(f"{name}.Type must be S3, got {value.get('Type')!r}")
        for key in ("BucketName", "Key"):
            if value.get(key) is not None and not _is_text(value.get(key)):
                invalid.append(f"{name}.{key} must be a non-empty string")

    return check


def _digit_keys(name: str) -> _Check:
    def check(parameters: Mapping[str, Any], missing: list[str], invalid: list[str]) -> None:
        del missing
        value = parameters.get(name)
        if value is None:
            return
        if not isinstance(value, list) or not all(
            isinstance(key, str) and key in _DIGIT_KEYS for key in value
        ):
            invalid.append(f"{name} must be a list of the keys 0-9 * #")

    return check


def _regex(name: str) -> _Check:
    def check(parameters: Mapping[str, Any], missing: list[str], invalid: list[str]) -> None:
        value = parameters.get(name)
        if value is None:
            missing.append(name)
            return
        if not isinstance(value, str) or not value:
            invalid.append(f"{name} must be a non-empty string")
            return
        try:
            re.compile(value)
        except re.error as error:
            invalid.append(f"{name} is not a valid regular expression: {error}")

    return check


def _start_recording(parameters: Mapping[str, Any], missing: list[str], invalid: list[str]) -> None:
    _string("CallId", required=True)(parameters, missing, invalid)
    _choice("Track", ("INCOMING", "OUTGOING", "BOTH"), required=True)(parameters, missing, invalid)
    destination = parameters.get("Destination")
    if destination is None:
        missing.append("Destination")
        return
    if not isinstance(destination, Mapping):
        invalid.append("Destination must be an object")
        return
    if destination.get("Type") is None:
        missing.append("Destination.Type")
    elif destination.get("Type") != "S3":
        invalid.append(f"Destination.Type must be S3, got {destination.get('Type')!r}")
    location = destination.get("Location")
    if location is None:
        missing.append("Destination.Location")
    elif not _is_text(location) or location.startswith("/"):
        invalid.append("Destination.Location must be '<bucket>' or '<bucket>/<prefix>'")


def _call_and_bridge(parameters: Mapping[str, Any], missing: list[str], invalid: list[str]) -> None:
    _integer("CallTimeoutSeconds", low=1, high=120)(parameters, missing, invalid)
    caller_id = parameters.get("CallerIdNumber")
    if caller_id is None:
        missing.append("CallerIdNumber")
    elif not isinstance(caller_id, str) or not _E164.fullmatch(caller_id):
        invalid.append(f"CallerIdNumber must be an E.164 number, got {caller_id!r}")
    _s3_source("RingbackTone", required=False)(parameters, missing, invalid)
    endpoints = parameters.get("Endpoints")
    if endpoints is None:
        missing.append("Endpoints")
        return
    if not isinstance(endpoints, list) or len(endpoints) != 1:
        invalid.append("Endpoints must be a list of exactly one endpoint")
        return
    endpoint = endpoints[0]
    if not isinstance(endpoint, Mapping):
        invalid.append("Endpoints[0] must be an object")
        return
    kind = endpoint.get("BridgeEndpointType")
    if kind is None:
        missing.append("Endpoints[0].BridgeEndpointType")
    elif kind not in ("PSTN", "AWS"):
        invalid.append(f"Endpoints[0].BridgeEndpointType must be PSTN or AWS, got {kind!r}")
    uri = endpoint.get("Uri")
    if uri is None:
        missing.append("Endpoints[0].Uri")
    elif not _is_text(uri) or (kind == "PSTN" and not _E164.fullmatch(uri)):
        invalid.append(f"Endpoints[0].Uri must be an E.164 number for PSTN, got {uri!r}")
    if kind == "AWS" and not _is_text(endpoint.get("Arn")):
        missing.append("Endpoints[0].Arn")


def _hangup(parameters: Mapping[str, Any], missing: list[str], invalid: list[str]) -> None:
    _leg()(parameters, missing, invalid)
    code = parameters.get("SipResponseCode")
    if code is not None and str(code) not in ("0", "480", "486"):
        invalid.append(f"SipResponseCode must be 0, 480 or 486, got {code!r}")


def _record_audio(parameters: Mapping[str, Any], missing: list[str], invalid: list[str]) -> None:
    _leg()(parameters, missing, invalid)
    _integer("DurationInSeconds", low=1)(parameters, missing, invalid)
    _integer("SilenceDurationInSeconds", low=1, high=1000)(parameters, missing, invalid)
    _integer("SilenceThreshold", low=1, high=1000)(parameters, missing, invalid)
    if parameters.get("RecordingTerminators") is None:
        missing.append("RecordingTerminators")
    else:
        _digit_keys("RecordingTerminators")(parameters, missing, invalid)
    destination = parameters.get("RecordingDestination")
    if destination is None:
        missing.append("RecordingDestination")
    elif not isinstance(destination, Mapping):
        invalid.append("RecordingDestination must be an object")
    else:
        if destination.get("Type") != "S3":
            invalid.append("RecordingDestination.Type must be S3")
        if not _is_text(destination.get("BucketName")):
            missing.append("RecordingDestination.BucketName")
        prefix = destination.get("Prefix")
        if prefix is not None and (not isinstance(prefix, str) or len(prefix) > 979):
            invalid.append("RecordingDestination.Prefix must be a string of at most 979 characters")


def _all(*checks: _Check) -> _Check:
    def check(parameters: Mapping[str, Any], missing: list[str], invalid: list[str]) -> None:
        for one in checks:
            one(parameters, missing, invalid)

    return check


_RULES: dict[str, _Check] = {
    "StartCallRecording": _start_recording,
    "PauseCallRecording": _string("CallId", required=True),
    "ResumeCallRecording": _string("CallId", required=True),
    "StopCallRecording": _string("CallId", required=True),
    "PlayAudio": _all(
        _leg(),
        _digit_keys("PlaybackTerminators"),
        _integer("Repeat", low=1),
        _s3_source("AudioSource", required=True),
    ),
    "Speak": _all(
        _string("CallId", required=True),
        _string("Text", required=True, max_length=1000),
        _choice("Engine", ("standard", "neural")),
        _choice("TextType", ("text", "ssml")),
        _string("LanguageCode"),
        _string("VoiceId"),
    ),
    "ReceiveDigits": _all(
        _leg(),
        _regex("InputDigitsRegex"),
        _integer("InBetweenDigitsDurationInMilliseconds", low=1, required=True),
        _integer("FlushDigitsDurationInMilliseconds", low=1, required=True),
    ),
    "Hangup": _hangup,
    "Pause": _all(_leg(), _integer("DurationInMilliseconds", low=1, required=True)),
    "CallAndBridge": _call_and_bridge,
    "RecordAudio": _record_audio,
}


def validate_action(action: Mapping[str, Any], index: int = 0) -> ValidationIssue | None:
    """The parameter problem of one action of a known type, if any (§3.1, §6).

    Missing required parameters are reported first (``MissingRequiredActionParameter``), then
    invalid values (``InvalidActionParameter``); the message names every parameter concerned.
    """
    rule = _RULES.get(str(action.get("Type")))
    parameters = action.get("Parameters")
    if rule is None:
        return None
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, Mapping):
        return ValidationIssue(
            IssueLevel.ACTION, "InvalidActionParameter", "Parameters must be an object", index
        )
    missing: list[str] = []
    invalid: list[str] = []
    rule(parameters, missing, invalid)
    if missing:
        return ValidationIssue(
            IssueLevel.ACTION,
            "MissingRequiredActionParameter",
            f"{action.get('Type')} is missing {', '.join(missing)}",
            index,
        )
    if invalid:
        return ValidationIssue(
            IssueLevel.ACTION,
            "InvalidActionParameter",
            f"{action.get('Type')}: {'; '.join(invalid)}",
            index,
        )
    return None


def _attribute_issues(attributes: object) -> list[ValidationIssue]:
    if attributes is None:
        return []
    if not isinstance(attributes, Mapping):
        return [
            ValidationIssue(
                IssueLevel.RESPONSE,
                "TransactionAttributesInvalidFormat",
                f"TransactionAttributes must be an object, got {type(attributes).__name__}",
            )
        ]
    issues: list[ValidationIssue] = []
    if len(attributes) > MAX_TRANSACTION_ATTRIBUTES:
        issues.append(
            ValidationIssue(
                IssueLevel.RESPONSE,
                "TransactionAttributesInvalidMapSize",
                "Transaction Attributes has too many mappings. Maximum number of mappings is "
                f"{MAX_TRANSACTION_ATTRIBUTES} (got {len(attributes)})",
            )
        )
    bad = sorted(
        str(key)
        for key, value in attributes.items()
        if not isinstance(key, str) or not isinstance(value, str)
    )
    if bad:
        issues.append(
            ValidationIssue(
                IssueLevel.RESPONSE,
                "TransactionAttributesInvalidFormat",
                "TransactionAttributes keys and values must be strings; not strings: "
                + ", ".join(bad),
            )
        )
    size = len(json.dumps(attributes, default=str).encode())
    if size > MAX_TRANSACTION_ATTRIBUTES_BYTES:
        issues.append(
            ValidationIssue(
                IssueLevel.RESPONSE,
                "TransactionAttributesInvalidSize",
                f"TransactionAttributes is {size:,} bytes; the limit is 20 KB",
            )
        )
    return issues


def validate_response(response: object, *, parameters: bool = True) -> tuple[ValidationIssue, ...]:
    """Every problem the service would find in a Lambda response (empty when it is valid).

    :param response: what the handler returned.
    :param parameters: also check each action's parameters (action-level problems). Default: true.
    """
    if not isinstance(response, Mapping):
        return (
            ValidationIssue(
                IssueLevel.RESPONSE,
                "InvalidResponseFormat",
                f"the response must be a JSON object, got {type(response).__name__}",
            ),
        )
    issues: list[ValidationIssue] = []
    version = response.get("SchemaVersion")
    if version != SCHEMA_VERSION:
        issues.append(
            ValidationIssue(
                IssueLevel.RESPONSE,
                "InvalidSchemaVersion",
                f"SchemaVersion must be {SCHEMA_VERSION!r}, got {version!r}",
            )
        )
    actions = response.get("Actions")
    if actions is not None and not isinstance(actions, list):
        issues.append(
            ValidationIssue(
                IssueLevel.RESPONSE,
                "InvalidResponseFormat",
                f"Actions must be a list or null, got {type(actions).__name__}",
            )
        )
        actions = None
    if actions is not None and len(actions) > MAX_ACTIONS:
        issues.append(
            ValidationIssue(
                IssueLevel.RESPONSE,
                "TooManyActions",
                f"at most {MAX_ACTIONS} actions per response, got {len(actions)}",
            )
        )
    for index, action in enumerate(actions or []):
        if not isinstance(action, Mapping):
            issues.append(
                ValidationIssue(
                    IssueLevel.RESPONSE,
                    "InvalidResponseFormat",
                    f"Actions[{index}] must be an object",
                )
            )
            continue
        kind = action.get("Type")
        if kind not in KNOWN_ACTIONS:
            issues.append(
                ValidationIssue(
                    IssueLevel.RESPONSE,
                    "InvalidActionType",
                    f"Actions[{index}].Type {kind!r} is not a known action type",
                )
            )
            continue
        if action.get("Parameters") is not None and not isinstance(
            action.get("Parameters"), Mapping
        ):
            issues.append(
                ValidationIssue(
                    IssueLevel.RESPONSE,
                    "InvalidResponseFormat",
                    f"Actions[{index}].Parameters must be an object",
                )
            )
            continue
        if parameters:
            issue = validate_action(action, index)
            if issue is not None:
                issues.append(issue)
    issues.extend(_attribute_issues(response.get("TransactionAttributes")))
    return tuple(issues)
