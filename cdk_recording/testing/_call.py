"""One simulated call: the event loop, the scenario's steps, the invocations and the legs ending.

:class:`Call` pops the event queue in time order (scenario steps, the ends of timed actions, DTMF
keys and digit timers), invokes the handler as the service would (§1, §2), applies each response
(or answers it with ``INVALID_LAMBDA_RESPONSE``) and hands the actions to :class:`ActionRunner`.
"""

from __future__ import annotations

import contextlib
import copy
import heapq
import io
import json
import re
import traceback
from collections.abc import Mapping
from typing import Any

from cdk_recording.testing._actions import ActionRunner
from cdk_recording.testing._options import ParameterChecks, SimulatedContext
from cdk_recording.testing._report import (
    ActionOutcome,
    CallReport,
    HangupCause,
    HangupRecord,
    InvocationRecord,
    ProblemKind,
)
from cdk_recording.testing._scenario import (
    Answer,
    BridgeBehaviour,
    BridgeOutcome,
    Digits,
    ErrorForm,
    Hangup,
    InboundCall,
    InjectFailure,
    OutboundCall,
    Step,
    UpdateRequest,
)
from cdk_recording.testing._state import (
    LEG_A,
    LEG_B,
    PRIORITY_ACTION,
    PRIORITY_END,
    PRIORITY_SETUP,
    PRIORITY_STEP,
    ActionError,
    Armed,
    HandlerAnswer,
    Leg,
    QueuedAction,
)
from cdk_recording.testing._summary import build_report
from cdk_recording.testing._timeline import event_detail, response_summary, step_text
from cdk_recording.testing._validate import (
    INTERRUPTIBLE_ACTIONS,
    SCHEMA_VERSION,
    IssueLevel,
    validate_response,
)

__all__ = ["Call"]


class Call(ActionRunner):
    """One call of a scenario; :meth:`run` plays it to the end and returns its report."""

    # the loop

    def run(self) -> CallReport:
        for step in self.scenario.steps:
            setup = isinstance(step.action, BridgeBehaviour | InjectFailure)
            priority = PRIORITY_SETUP if setup else PRIORITY_STEP
            self._schedule(self.t0 + step.at_ms, priority, ("step", step))
        last_step = self.t0 + self.scenario.steps[-1].at_ms
        self._schedule(last_step + self.options.linger_ms, PRIORITY_END, ("linger",))
        while self.queue and not self.ended:
            at_ms, _, _, item = heapq.heappop(self.queue)
            self.clock.now_ms = max(self.clock.now_ms, at_ms)
            self._dispatch(item)
            self._advance()
        if not self.ended:
            self._end_call()
        for _, _, _, item in sorted(self.queue):
            if item[0] == "step":
                self.skipped.append(
                    f"{item[1].at_ms / 1000:g} s {step_text(item[1])}: the call has ended"
                )
        return build_report(self)

    def _dispatch(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "step":
            self._on_step(item[1])
        elif kind == "done":
            if self.running is not None and self.running.token == item[1]:
                self._complete_running()
        elif kind == "key":
            self._on_key(item[1], item[2])
        elif kind == "digits":
            self._on_digits_check(item[1], item[2], item[3], item[4])
        elif kind == "linger":
            self._on_linger()

    # scenario steps

    def _on_step(self, step: Step) -> None:
        action = step.action
        if isinstance(action, InboundCall | OutboundCall):
            self._start_call(action)
            return
        if isinstance(action, BridgeBehaviour):
            self.bridge_behaviour = action
            after = action.ring_ms
            self._note(
                f"step: CallAndBridge from now on: {action.outcome}"
                + ("" if after is None else f" after {after / 1000:g} s")
            )
            return
        if isinstance(action, InjectFailure):
            self.armed.append(Armed(action, action.count))
            where = f" on {action.leg}" if action.leg else ""
            self._note(
                f"step: the next {action.count} {action.action}{where} will fail with "
                f"{action.error_type}"
            )
            return
        if not self.started:
            self._skip(step, "the call has not started")
            return
        if self.ended:
            self._skip(step, "the call has ended")
            return
        if isinstance(action, Answer):
            self._on_answer(step, action)
        elif isinstance(action, UpdateRequest):
            self._on_update(action)
        elif isinstance(action, Digits):
            leg = self.legs.get(action.leg)
            if leg is None or not leg.connected:
                self._skip(step, f"{action.leg} is not connected")
                return
            self._note(f"step: {action.leg} keys {action.keys!r}")
            for index, key in enumerate(action.keys):
                self._schedule(
                    self.now + index * action.interval_ms, PRIORITY_STEP, ("key", action.leg, key)
                )
        elif isinstance(action, Hangup):
            leg = self.legs.get(action.leg)
            if leg is None or not leg.connected:
                self._skip(step, f"{action.leg} is not connected")
                return
            self._note(f"step: {action.leg} hangs up (SIP {action.sip_response_code})")
            self._disconnect(leg, action.sip_response_code, HangupCause.REMOTE)

    def _start_call(self, call: InboundCall | OutboundCall) -> None:
        self.started = True
        if isinstance(call, InboundCall):
            leg = Leg(
                LEG_A, self._uuid(), call.from_number, call.to_number, "Inbound", self.now, self.now
            )
            self.legs[LEG_A] = leg
            self._note(f"step: inbound call from {call.from_number} to {call.to_number}")
            self._invoke("NEW_INBOUND_CALL", leg_tag=LEG_A)
        else:
            leg = Leg(LEG_A, self._uuid(), call.from_number, call.to_number, "Outbound", self.now)
            self.legs[LEG_A] = leg
            self._note(f"step: outbound call from {call.from_number} to {call.to_number}")
            self._invoke("NEW_OUTBOUND_CALL", leg_tag=LEG_A)
            self._invoke("RINGING", leg_tag=LEG_A)

    def _on_answer(self, step: Step, answer: Answer) -> None:
        leg_a = self.legs[LEG_A]
        if leg_a.answered_ms is None and answer.leg in (None, LEG_A):
            leg_a.answered_ms = self.now
            self._note("step: LEG-A answers")
            self._invoke("CALL_ANSWERED", leg_tag=LEG_A)
            return
        running = self.running
        if running is not None and running.bridge is not None and answer.leg in (None, LEG_B):
            self._note("step: LEG-B answers")
            running.bridge = BridgeOutcome.ANSWER
            self._complete_running()
            return
        self._skip(step, "no leg is ringing")

    def _on_update(self, update: UpdateRequest) -> None:
        self._note(f"step: UpdateSipMediaApplicationCall Arguments={json.dumps(update.arguments)}")
        self._invoke(
            "CALL_UPDATE_REQUESTED",
            action_data={
                "Type": "CallUpdateRequest",
                "Parameters": {"Arguments": dict(update.arguments)},
            },
            leg_tag=LEG_A,
        )
        running = self.running
        # Unconfirmed: the order of CALL_UPDATE_REQUESTED and ACTION_INTERRUPTED. The update is
        # delivered first here, then the running interruptible action is stopped (§2, §5).
        if running is not None and running.log.type in INTERRUPTIBLE_ACTIONS and not self.ended:
            self.running = None
            self._close_media(running)
            running.log.outcome = ActionOutcome.INTERRUPTED
            running.log.ended_ms = self.now
            self._note(f"{running.log.type} interrupted by the update request")
            self._invoke(
                "ACTION_INTERRUPTED",
                action_data=copy.deepcopy(running.data),
                leg_tag=running.leg.tag if running.leg else LEG_A,
                ignore=True,
            )

    def _on_linger(self) -> None:
        left = self._connected()
        if not left:
            return
        self._problem(
            ProblemKind.LEG_LEFT_CONNECTED,
            f"{', '.join(leg.tag for leg in left)} still connected "
            f"{self.options.linger_ms / 1000:g} s after the last step; the simulator hangs up "
            "(a leg left up is billed until it is hung up)",
        )
        while not self.ended and self._connected():
            self._disconnect(self._connected()[0], 0, HangupCause.SCENARIO_END)
            self._advance()

    # DTMF (ReceiveDigits, §6)

    def _on_key(self, tag: str, key: str) -> None:
        leg = self.legs.get(tag)
        if self.ended or leg is None or not leg.connected:
            return
        self.keys.append((tag, self.now, key))
        running = self.running
        if (
            running is not None
            and running.log.type == "PlayAudio"
            and running.leg is leg
            and key in (running.data["Parameters"].get("PlaybackTerminators") or [])
        ):
            self._note(f"PlayAudio stopped by the terminator {key!r}")
            self._complete_running()
        listener = self.listeners.get(tag)
        if listener is None:
            return
        listener.buffer += key
        listener.keys += 1
        check = ("digits", tag, listener.generation, listener.batch)
        self._schedule(self.now + listener.in_between_ms, PRIORITY_ACTION, (*check, listener.keys))
        if len(listener.buffer) == 1:
            self._schedule(self.now + listener.flush_ms, PRIORITY_ACTION, (*check, -1))

    def _on_digits_check(self, tag: str, generation: int, batch: int, keys: int) -> None:
        listener = self.listeners.get(tag)
        if (
            self.ended
            or listener is None
            or listener.generation != generation
            or listener.batch != batch
            or not listener.buffer
            or (keys >= 0 and keys != listener.keys)
        ):
            return
        digits = listener.buffer
        listener.buffer = ""
        listener.batch += 1
        if re.fullmatch(listener.regex, digits) is None:
            self._note(f"{tag} digits {digits!r} do not match {listener.regex!r}; discarded")
            return
        del self.listeners[tag]
        self._invoke(
            "DIGITS_RECEIVED",
            action_data={
                "Type": "ReceiveDigits",
                "Parameters": copy.deepcopy(listener.parameters),
                "ReceivedDigits": digits,
            },
            leg_tag=tag,
        )

    # invocations

    def _event(
        self, event_type: str, action_data: Mapping[str, Any] | None, error: ActionError | None
    ) -> dict[str, Any]:
        details: dict[str, Any] = {"TransactionId": self.transaction_id}
        if self.attributes:
            details["TransactionAttributes"] = dict(self.attributes)
        details["AwsAccountId"] = self.options.account_id
        details["AwsRegion"] = self.options.region
        if self.inbound:
            details["SipRuleId"] = self.sip_rule_id
        details["SipMediaApplicationId"] = self.sma_id
        details["Participants"] = [leg.participant() for leg in self.legs.values()]
        event: dict[str, Any] = {
            "SchemaVersion": SCHEMA_VERSION,
            "Sequence": self.sequence,
            "InvocationEventType": event_type,
        }
        data = None if action_data is None else dict(action_data)
        if error is not None:
            if error.form == ErrorForm.TOP_LEVEL:
                event["ErrorType"] = error.type
                event["ErrorMessage"] = error.message
            else:
                data = data if data is not None else {}
                if error.form == ErrorForm.ERROR_STRING:
                    data["Error"] = f"{error.type}: {error.message}"
                else:
                    data["ErrorType"] = error.type
                    data["ErrorMessage"] = error.message
        if data is not None:
            event["ActionData"] = data
        event["CallDetails"] = details
        return event

    def _call_handler(self, event: dict[str, Any], event_type: str) -> HandlerAnswer | None:
        """Invoke with retries; None when every attempt raised."""
        for attempt in range(1, self.options.handler_retries + 2):
            context = SimulatedContext(aws_request_id=self._uuid())
            output = io.StringIO()
            redirect = (
                contextlib.redirect_stdout(output)
                if self.options.capture_output
                else contextlib.nullcontext()
            )
            try:
                with redirect:
                    response = self.handler(copy.deepcopy(event), context)
                # Lambda serialises the response; what cannot be serialised is a function error.
                response = json.loads(json.dumps(response))
            except Exception:
                self.invocations.append(
                    InvocationRecord(
                        self.now - self.t0,
                        self.sequence,
                        event_type,
                        event,
                        None,
                        error=traceback.format_exc(),
                        output=output.getvalue(),
                        attempt=attempt,
                    )
                )
                self._note(f"#{self.sequence} {event_type}: the handler raised (attempt {attempt})")
                continue
            return HandlerAnswer(response, output.getvalue(), attempt)
        return None

    def _invoke(
        self,
        event_type: str,
        *,
        action_data: Mapping[str, Any] | None = None,
        leg_tag: str = LEG_A,
        ignore: bool = False,
        error: ActionError | None = None,
    ) -> None:
        """Invoke the handler, then apply its response (or answer it with INVALID_LAMBDA_RESPONSE)."""
        while not self.ended:
            if self.sequence >= self.options.max_invocations:
                self._problem(
                    ProblemKind.INVOCATION_LIMIT,
                    f"the call needed more than {self.options.max_invocations} invocations; the "
                    "call is ended (what the service does then is unconfirmed)",
                )
                self._service_end(480)
                return
            self.sequence += 1
            event = self._event(event_type, action_data, error)
            answer = self._call_handler(event, event_type)
            if answer is None:
                self._problem(
                    ProblemKind.HANDLER_ERROR,
                    f"the handler raised on {event_type} #{self.sequence} "
                    f"({self.options.handler_retries + 1} attempts); the call ends with SIP 480",
                )
                if not ignore:
                    self._service_end(480)
                return
            response = answer.response
            strict = self.options.parameter_checks == ParameterChecks.INVALID_RESPONSE
            issues = validate_response(response)
            rejecting = [i for i in issues if i.level == IssueLevel.RESPONSE or strict]
            self.invocations.append(
                InvocationRecord(
                    self.now - self.t0,
                    self.sequence,
                    event_type,
                    event,
                    response,
                    issues,
                    ignored=ignore,
                    output=answer.output,
                    attempt=answer.attempt,
                )
            )
            self._note(
                f"#{self.sequence} {event_type}{event_detail(event_type, event)} -> "
                + response_summary(response, rejecting, ignore)
            )
            if rejecting:
                first = rejecting[0]
                self._problem(
                    ProblemKind.INVALID_RESPONSE,
                    f"response to {event_type} #{self.sequence} rejected: "
                    + "; ".join(str(issue) for issue in rejecting),
                )
                if ignore:
                    return
                event_type, action_data, leg_tag = "INVALID_LAMBDA_RESPONSE", None, leg_tag
                error = ActionError(
                    first.error_type, first.message, self.options.invalid_response_error_form
                )
                continue
            attributes = response.get("TransactionAttributes")
            if attributes is not None:
                self.attributes = dict(attributes)  # replaced, not merged; {} clears (§2)
            if ignore:
                return
            actions = response.get("Actions")
            if actions is not None:  # null keeps the actions still queued (§2)
                self._replace_list([QueuedAction(action, leg_tag) for action in actions])
            return

    # legs ending

    def _disconnect(self, leg: Leg, code: int, cause: HangupCause) -> None:
        if not leg.connected:
            return
        leg.ended_ms = self.now
        self.hangups.append(HangupRecord(self.now - self.t0, leg.tag, leg.call_id, code, cause))
        for interval in self.bridged:
            if interval[1] < 0:
                interval[1] = self.now
        self.listeners.pop(leg.tag, None)
        recording = self.recordings.get(leg.tag)
        if recording is not None:
            self._stop_recording(recording, "hangup")
        running = self.running
        if running is not None and running.leg is leg:
            self.running = None
            self._close_media(running)
            running.log.outcome = ActionOutcome.CANCELLED
            running.log.ended_ms = self.now
            running.log.note = f"{leg.tag} hung up"
            for item in self.pending:
                self._unrun(item, ActionOutcome.CANCELLED, f"{leg.tag} hung up")
            self.pending.clear()
        if cause == HangupCause.SERVICE:
            return
        remaining = self._connected()
        self._invoke(
            "HANGUP",
            action_data={
                "Type": "Hangup",
                "Parameters": {
                    "SipResponseCode": code,
                    "CallId": leg.call_id,
                    "ParticipantTag": leg.tag,
                },
            },
            leg_tag=leg.tag,
            ignore=not remaining,  # a call with no leg left: the response is ignored (hangup page)
        )
        if not self._connected():
            self._end_call()

    def _service_end(self, code: int) -> None:
        for leg in self._connected():
            self._disconnect(leg, code, HangupCause.SERVICE)
            self._note(f"{leg.tag} disconnected by the service (SIP {code})")
        self._end_call()

    def _end_call(self) -> None:
        if self.ended:
            return
        for leg in self._connected():
            self._disconnect(leg, 0, HangupCause.SERVICE)
        self.ended = True
        self.ended_ms = self.now
        running = self.running
        if running is not None:
            self.running = None
            self._close_media(running)
            running.log.outcome = ActionOutcome.CANCELLED
            running.log.ended_ms = self.now
        for item in [*self.pending, *(self.next_list or [])]:
            self._unrun(item, ActionOutcome.CANCELLED, "the call ended")
        self.pending.clear()
        self.next_list = None
        for recording in self.recordings.values():
            self._stop_recording(recording, "call-ended")
        for recording in self.recordings.values():
            if recording.delivered_ms is None:
                self._deliver(recording)
        self._note("call ended")
