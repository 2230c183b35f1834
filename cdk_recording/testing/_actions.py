"""Running the handler's action lists (§2, §6) and the recording actions (§3) of one call.

:class:`ActionRunner` takes the actions the handler returned, in order: each one is validated,
aimed at a leg, failed when a scenario armed a failure for it, and then run (timed actions end on
the event queue; recording actions change the leg's recording and deliver it when it stops).
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Mapping
from typing import Any

from cdk_recording.testing._audio import render_recording
from cdk_recording.testing._options import RECORDING_MEDIA_TYPE, Delivery, recording_key
from cdk_recording.testing._report import ActionOutcome, HangupCause, ProblemKind
from cdk_recording.testing._scenario import BridgeOutcome, ErrorForm
from cdk_recording.testing._sinks import RecordingObject
from cdk_recording.testing._state import (
    LEG_A,
    LEG_B,
    MODELLED_ACTIONS,
    PRIORITY_ACTION,
    ActionError,
    ActionLog,
    CallState,
    Leg,
    Listener,
    QueuedAction,
    Recording,
    Running,
)
from cdk_recording.testing._validate import RECORDING_ACTIONS, validate_action

__all__ = ["ActionRunner"]


class ActionRunner(CallState):
    """The service's action queue: one list at a time, one action at a time."""

    def _replace_list(self, actions: list[QueuedAction]) -> None:
        for old in [*self.pending, *(self.next_list or [])]:
            self._unrun(old, ActionOutcome.REPLACED)
        self.pending.clear()
        if self.running is not None:
            self.next_list = actions  # after the running action ends (§2)
        else:
            self.next_list = None
            self.pending.extend(actions)

    def _unrun(self, item: QueuedAction, outcome: ActionOutcome, note: str | None = None) -> None:
        action = item.action
        self.actions.append(
            ActionLog(
                str(action.get("Type")),
                dict(action.get("Parameters") or {}),
                None,
                self.now,
                outcome,
                self.now,
                note=note,
            )
        )

    # running action lists

    def _advance(self) -> None:
        while not self.ended and self.running is None:
            if self.next_list is not None:
                self.pending = deque(self.next_list)
                self.next_list = None
            if not self.pending:
                return
            leg_a = self.legs.get(LEG_A)
            if leg_a is None or leg_a.answered_ms is None:
                return  # an outbound call's actions wait for CALL_ANSWERED
            item = self.pending.popleft()
            self._execute(item, last=not self.pending)

    def _target(self, kind: str, parameters: Mapping[str, Any], default: str) -> Leg | str:
        """The leg an action acts on, or why it cannot act (§6: CallId wins over ParticipantTag)."""
        if kind == "CallAndBridge":
            leg = self.legs[LEG_A]
        elif isinstance(parameters.get("CallId"), str):
            found = next(
                (leg for leg in self.legs.values() if leg.call_id == parameters["CallId"]), None
            )
            if found is None:
                return f"CallId {parameters['CallId']!r} is not a participant of this call"
            leg = found
        elif parameters.get("ParticipantTag") in (LEG_A, LEG_B):
            tag = parameters["ParticipantTag"]
            if tag not in self.legs:
                return f"ParticipantTag {tag} is not a participant of this call"
            leg = self.legs[tag]
        else:
            # Unconfirmed: "defaults to the leg that was invoked"; when that leg has ended, LEG-A.
            leg = self.legs[default] if default in self.legs else self.legs[LEG_A]
            if not leg.connected:
                leg = self.legs[LEG_A]
        if not leg.connected:
            return f"{leg.tag} ({leg.call_id}) is not connected"
        return leg

    def _execute(self, item: QueuedAction, *, last: bool) -> None:
        action = item.action
        kind = str(action.get("Type"))
        parameters: dict[str, Any] = copy.deepcopy(dict(action.get("Parameters") or {}))
        log = ActionLog(kind, parameters, None, self.now)
        self.actions.append(log)
        data: dict[str, Any] = {"Type": kind, "Parameters": copy.deepcopy(parameters)}
        issue = validate_action(action)
        if issue is not None:
            self._problem(ProblemKind.INVALID_ACTION, f"{kind}: {issue}")
            self._fail(log, data, ActionError(issue.error_type, issue.message, self._form()))
            return
        if kind not in MODELLED_ACTIONS:
            self._succeed(log, data, None, last, note="not modelled by the simulator")
            return
        target = self._target(kind, parameters, item.default_leg)
        if isinstance(target, str):
            if "not a participant" in target:
                self._problem(ProblemKind.INVALID_ACTION, f"{kind}: {target}")
            self._fail(log, data, ActionError("InvalidActionParameter", target, self._form()))
            return
        leg = target
        log.leg = leg.tag
        injected = self._take_failure(kind, leg)
        if injected is not None:
            self._fail(log, data, injected)
            return
        if kind in RECORDING_ACTIONS:
            self._recording_action(log, data, leg, last)
        elif kind == "ReceiveDigits":
            self.tokens += 1
            self.listeners[leg.tag] = Listener(
                self.tokens,
                parameters,
                parameters["InputDigitsRegex"],
                parameters["InBetweenDigitsDurationInMilliseconds"],
                parameters["FlushDigitsDurationInMilliseconds"],
            )
            self._succeed(log, data, leg, last, note=f"listening on {leg.tag}")
        elif kind == "Hangup":
            code = int(parameters.get("SipResponseCode", 0))
            log.outcome = ActionOutcome.SUCCEEDED
            log.ended_ms = self.now
            self._note(f"Hangup {leg.tag} (SIP {code})")
            # The HANGUP event that follows reports on it; no ACTION_SUCCESSFUL (hangup page).
            self._disconnect(leg, code, HangupCause.HANDLER)
        elif kind == "CallAndBridge":
            self._start_bridge(log, data, leg, last)
        else:
            self._start_timed(log, data, leg, last)

    def _form(self) -> ErrorForm:
        return self.options.action_error_form

    def _take_failure(self, kind: str, leg: Leg) -> ActionError | None:
        for armed in self.armed:
            failure = armed.failure
            if armed.remaining > 0 and failure.action == kind and failure.leg in (None, leg.tag):
                armed.remaining -= 1
                return ActionError(
                    failure.error_type, failure.error_message, failure.form or self._form()
                )
        return None

    def _succeed(
        self,
        log: ActionLog,
        data: dict[str, Any],
        leg: Leg | None,
        last: bool,
        *,
        note: str | None = None,
    ) -> None:
        log.outcome = ActionOutcome.SUCCEEDED
        log.ended_ms = self.now
        log.note = note
        if note:
            self._note(f"{log.type}{'' if leg is None else ' ' + leg.tag}: {note}")
        if last:
            self._list_succeeded(data, leg)

    def _list_succeeded(self, data: dict[str, Any], leg: Leg | None) -> None:
        # One ACTION_SUCCESSFUL per list, naming its last action (§2, use-case-2; unconfirmed which
        # action a multi-action list names: the last one, as here, is the presumption).
        self._invoke("ACTION_SUCCESSFUL", action_data=data, leg_tag=leg.tag if leg else LEG_A)

    def _fail(self, log: ActionLog, data: dict[str, Any], error: ActionError) -> None:
        log.outcome = ActionOutcome.FAILED
        log.ended_ms = self.now
        log.error_type = error.type
        log.error_message = error.message
        self._note(
            f"{log.type}{'' if log.leg is None else ' ' + log.leg} failed: {error.type}: {error.message}"
        )
        for item in self.pending:
            self._unrun(item, ActionOutcome.DROPPED, f"dropped after {log.type} failed")
        self.pending.clear()
        self._invoke("ACTION_FAILED", action_data=data, leg_tag=log.leg or LEG_A, error=error)

    def _start_timed(self, log: ActionLog, data: dict[str, Any], leg: Leg, last: bool) -> None:
        parameters = data["Parameters"]
        announcement = False
        if log.type == "Speak":
            duration = max(
                self.options.min_speak_ms,
                len(parameters["Text"]) * self.options.speak_ms_per_character,
            )
            announcement = True
        elif log.type == "PlayAudio":
            duration = self.options.play_audio_ms * int(parameters.get("Repeat", 1))
            announcement = True
        elif log.type == "Pause":
            duration = int(parameters["DurationInMilliseconds"])
        else:  # RecordAudio
            seconds = parameters.get("DurationInSeconds")
            duration = self.options.record_audio_ms if seconds is None else int(seconds) * 1000
        token = self._token()
        self.running = Running(log, data, leg, self.now, token, last, announcement)
        self._note(f"{log.type} {leg.tag} ({duration / 1000:.3f} s)")
        self._schedule(self.now + duration, PRIORITY_ACTION, ("done", token))

    def _start_bridge(self, log: ActionLog, data: dict[str, Any], leg_a: Leg, last: bool) -> None:
        parameters = data["Parameters"]
        if LEG_B in self.legs and self.legs[LEG_B].connected:
            self._fail(
                log,
                data,
                ActionError("InvalidActionParameter", "the call already has a LEG-B", self._form()),
            )
            return
        behaviour = self.bridge_behaviour
        timeout_ms = int(parameters.get("CallTimeoutSeconds", 30)) * 1000
        ring_ms = behaviour.ring_ms
        outcome = behaviour.outcome
        if ring_ms is None or ring_ms > timeout_ms:
            ring_ms = timeout_ms
            if outcome == BridgeOutcome.ANSWER:
                outcome = BridgeOutcome.NO_ANSWER
        token = self._token()
        data["Parameters"]["CallId"] = (
            leg_a.call_id
        )  # the service adds LEG-A's CallId (call-and-bridge)
        self.running = Running(log, data, leg_a, self.now, token, last, bridge=outcome)
        endpoint = parameters["Endpoints"][0]
        self._note(
            f"CallAndBridge: ringing {endpoint['Uri']} from {parameters['CallerIdNumber']} "
            f"(timeout {timeout_ms / 1000:g} s)"
        )
        self._schedule(self.now + ring_ms, PRIORITY_ACTION, ("done", token))

    def _close_media(self, running: Running) -> None:
        if running.announcement and running.leg is not None:
            self.announcements.append((running.leg.tag, running.started_ms, self.now))
        if running.bridge is not None:
            self.ringing.append((running.started_ms, self.now))

    def _complete_running(self) -> None:
        running = self.running
        assert running is not None
        self.running = None
        self._close_media(running)
        log, data = running.log, running.data
        if running.bridge is not None and running.bridge != BridgeOutcome.ANSWER:
            behaviour = self.bridge_behaviour
            message = behaviour.error_message or (
                "Call not answered: callee busy (SIP 486)"
                if running.bridge == BridgeOutcome.BUSY
                else "Call not answered"
            )
            # The developer guide shows CallNotAnswered; the error of a busy callee is unconfirmed.
            self._fail(
                log,
                data,
                ActionError(behaviour.error_type or "CallNotAnswered", message, self._form()),
            )
            return
        if running.bridge is not None:
            self._connect_leg_b(data)
        if log.type == "RecordAudio":
            destination = data["Parameters"]["RecordingDestination"]
            prefix = str(destination.get("Prefix") or "").strip("/")
            key = f"{prefix + '/' if prefix else ''}{self.transaction_id}-{self._uuid()}.wav"
            data["RecordingDestination"] = {
                "Type": "S3",
                "BucketName": destination["BucketName"],
                "Key": key,
            }
        log.outcome = ActionOutcome.SUCCEEDED
        log.ended_ms = self.now
        # Unconfirmed (update-sip-call says only that the new list starts after the running
        # action): the service is modelled as one queue, reporting ACTION_SUCCESSFUL when it runs
        # dry after a success. So a list replaced by a non-empty one ends silently, and one replaced
        # by an empty list reports its running action, as if it had been the last.
        if self.next_list:
            self._note(f"{log.type} ended; the newer list replacing the rest of its list starts")
        elif running.last or self.next_list is not None:
            self._list_succeeded(data, running.leg)

    def _connect_leg_b(self, data: dict[str, Any]) -> None:
        parameters = data["Parameters"]
        leg_b = Leg(
            LEG_B,
            self._uuid(),
            parameters["CallerIdNumber"],
            parameters["Endpoints"][0]["Uri"],
            "Outbound",
            self.now,
            self.now,
        )
        self.legs[LEG_B] = leg_b
        self.bridged.append([self.now, -1])
        self._note(f"CallAndBridge answered: LEG-B {leg_b.call_id} connected and bridged")

    # recording (§3)

    def _recording_action(self, log: ActionLog, data: dict[str, Any], leg: Leg, last: bool) -> None:
        kind = log.type
        recording = self.recordings.get(leg.tag)
        if kind == "StartCallRecording":
            if recording is not None:
                # Once per leg (§3.2): a second start, or a start after stop, fails. The service's
                # exact error for this case is unconfirmed; InvalidActionParameter is our choice.
                state = "stopped" if not recording.active else "already recording"
                self._problem(
                    ProblemKind.RECORDING_MISUSE,
                    f"StartCallRecording on {leg.tag}, which was {state}: a leg is recorded once",
                )
                self._fail(
                    log,
                    data,
                    ActionError(
                        "InvalidActionParameter",
                        f"Call recording was already started on CallId {leg.call_id}; a call leg "
                        "can be recorded once",
                        self._form(),
                    ),
                )
                return
            parameters = data["Parameters"]
            location = str(parameters["Destination"]["Location"])
            bucket, key = recording_key(location, self.transaction_id, leg.call_id, leg.start_ms)
            self.recordings[leg.tag] = Recording(
                leg, str(parameters["Track"]), location, bucket, key, self.now
            )
            data["CallRecordingDestination"] = {"Type": "S3", "Location": f"{bucket}/{key}"}
            self._note(f"recording {leg.tag} {parameters['Track']} started: s3://{bucket}/{key}")
            self._succeed(log, data, leg, last)
            return
        if recording is None or not recording.active:
            # Unconfirmed (§3.3): no error is documented for pausing, resuming or stopping a leg
            # that is not being recorded; the simulator fails the action.
            state = "never started" if recording is None else "stopped"
            self._problem(
                ProblemKind.RECORDING_MISUSE, f"{kind} on {leg.tag}, whose recording was {state}"
            )
            self._fail(
                log,
                data,
                ActionError(
                    "InvalidActionParameter",
                    f"CallId {leg.call_id} has no active call recording ({state})",
                    self._form(),
                ),
            )
            return
        if kind == "PauseCallRecording":
            if recording.paused:
                self._succeed(log, data, leg, last, note="already paused (no effect)")
                return
            recording.pauses.append([self.now, -1])
            recording.tones.append(self.now)
            self._note(f"recording {leg.tag} paused (tone, then silence)")
        elif kind == "ResumeCallRecording":
            if not recording.paused:
                self._succeed(log, data, leg, last, note="not paused (no effect)")
                return
            recording.pauses[-1][1] = self.now
            recording.tones.append(self.now)
            self._note(f"recording {leg.tag} resumed (tone)")
        else:
            self._stop_recording(recording, "StopCallRecording")
        self._succeed(log, data, leg, last)

    def _stop_recording(self, recording: Recording, reason: str) -> None:
        if not recording.active:
            return
        if recording.paused:
            recording.pauses[-1][1] = self.now
        recording.stopped_ms = self.now
        recording.stop_reason = reason
        self._note(
            f"recording {recording.leg.tag} stopped ({reason}) after "
            f"{(self.now - recording.started_ms) / 1000:.3f} s"
        )
        if self.options.delivery == Delivery.ON_STOP:
            self._deliver(recording)

    def _deliver(self, recording: Recording) -> None:
        assert recording.stopped_ms is not None
        recording.delivered_ms = self.now
        duration_ms = recording.stopped_ms - recording.started_ms
        # §3.4 metadata; recording-duration is in seconds (its exact format is unconfirmed).
        recording.metadata = {
            "transaction-id": self.transaction_id,
            "call-id": recording.leg.call_id,
            "recording-duration": f"{duration_ms / 1000:.3f}",
            "recording-audio-file-format": RECORDING_MEDIA_TYPE,
        }
        if self.sink is not None:
            body = render_recording(self, recording)
            recording.destination = self.sink.deliver(
                RecordingObject(recording.bucket, recording.key, body, dict(recording.metadata))
            )
        self._note(
            f"recording {recording.leg.tag} delivered: s3://{recording.bucket}/{recording.key}"
        )
