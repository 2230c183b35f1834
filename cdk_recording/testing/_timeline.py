"""One-line texts of the timeline: a scenario step, an event's gist, a response's actions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cdk_recording.testing._scenario import (
    Answer,
    Digits,
    Hangup,
    InboundCall,
    InjectFailure,
    OutboundCall,
    Step,
    UpdateRequest,
)

__all__ = ["event_detail", "response_summary", "step_text"]


def step_text(step: Step) -> str:
    action = step.action
    if isinstance(action, InboundCall | OutboundCall):
        return f"{type(action).__name__} {action.from_number} -> {action.to_number}"
    if isinstance(action, Hangup):
        return f"hangup {action.leg}"
    if isinstance(action, Digits):
        return f"digits {action.keys!r} on {action.leg}"
    if isinstance(action, Answer):
        return f"answer {action.leg or ''}".rstrip()
    if isinstance(action, UpdateRequest):
        return f"update {json.dumps(action.arguments)}"
    if isinstance(action, InjectFailure):
        return f"fail {action.action}"
    return "bridge behaviour"


def event_detail(event_type: str, event: Mapping[str, Any]) -> str:
    data = event.get("ActionData") or {}
    if event_type in ("ACTION_SUCCESSFUL", "ACTION_FAILED", "ACTION_INTERRUPTED"):
        return f" {data.get('Type')}"
    if event_type == "HANGUP":
        return f" {data.get('Parameters', {}).get('ParticipantTag')}"
    if event_type == "DIGITS_RECEIVED":
        return f" {data.get('ReceivedDigits')!r}"
    if event_type == "CALL_UPDATE_REQUESTED":
        return f" {json.dumps(data.get('Parameters', {}).get('Arguments'))}"
    if event_type == "INVALID_LAMBDA_RESPONSE":
        return f" {event.get('ErrorType') or data.get('ErrorType') or data.get('Error')}"
    return ""


def response_summary(response: Any, rejecting: list[Any], ignored: bool) -> str:
    if rejecting:
        return f"rejected ({rejecting[0].error_type})"
    actions = response.get("Actions") if isinstance(response, Mapping) else None
    if actions is None:
        text = "null (keep queued actions)"
    elif not actions:
        text = "[]"
    else:
        text = ", ".join(_action_text(action) for action in actions)
    return f"{text} (ignored)" if ignored else text


def _action_text(action: Mapping[str, Any]) -> str:
    parameters = action.get("Parameters") or {}
    kind = str(action.get("Type"))
    if kind == "StartCallRecording":
        return f"StartCallRecording({parameters.get('Track')})"
    if kind == "Pause":
        return f"Pause({parameters.get('DurationInMilliseconds')} ms)"
    return kind
