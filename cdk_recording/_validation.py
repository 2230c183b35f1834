"""Synth-time validation: collect every problem with the options, then raise one error."""

from __future__ import annotations

import re
from collections.abc import Iterable

import aws_cdk as cdk
from constructs import Construct

__all__ = ["Problems", "RecordingConfigurationError", "is_token"]


class RecordingConfigurationError(ValueError):
    """One or more construct options are invalid. The message lists each problem on its own line."""

    def __init__(self, construct_path: str, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Invalid options for {construct_path}:\n{lines}")


def is_token(value: object) -> bool:
    """Whether a value is (or contains) an unresolved CDK token, which validation must let through."""
    return value is not None and cdk.Token.is_unresolved(value)


class Problems:
    """A list of problems found while validating options, raised together by :meth:`raise_if_any`."""

    def __init__(self) -> None:
        self._items: list[str] = []

    def add(self, option: str, value: object, allowed: str) -> None:
        """Record that ``option`` has ``value``, and say what is allowed instead."""
        self._items.append(f"{option}={value!r}: {allowed}")

    def __bool__(self) -> bool:
        return bool(self._items)

    def raise_if_any(self, construct_path: str) -> None:
        if self._items:
            raise RecordingConfigurationError(construct_path, self._items)


_E164 = re.compile(r"^\+[1-9]\d{1,14}$")


def check_e164(problems: Problems, option: str, value: str) -> None:
    """E.164: a plus sign, then 2 to 15 digits, the first not zero."""
    if is_token(value):
        return
    if not isinstance(value, str) or not _E164.match(value):
        problems.add(option, value, "must be an E.164 phone number such as +12065550100")


_NAME = re.compile(r"^[a-zA-Z0-9 _.-]{1,256}$")


def check_service_name(problems: Problems, option: str, value: str) -> None:
    """Names of SIP media applications and SIP rules: 1-256 of ``[a-zA-Z0-9 _.-]`` (API reference)."""
    if is_token(value):
        return
    if not _NAME.match(value):
        problems.add(option, value, "must be 1-256 characters of letters, digits, space, _ . -")


def default_service_name(construct: Construct) -> str:
    """A name for a service resource: stack name, construct id and a short unique suffix."""
    stack = cdk.Stack.of(construct)
    base = f"{stack.stack_name}-{construct.node.id}"
    safe = "".join(c if c.isalnum() or c in " _.-" else "-" for c in base)
    return f"{safe[:200]}-{construct.node.addr[:8]}"
