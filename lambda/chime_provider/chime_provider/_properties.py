"""Read custom-resource properties, which CloudFormation delivers as strings, into Python types.

``"1"`` becomes ``1`` and ``"true"`` becomes ``True``. Every problem is collected, so one failed
deployment names all of them at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from chime_provider._events import ProviderError
from chime_provider._logging import mask_phone_numbers

__all__ = ["E164_PATTERN", "SERVICE_NAME_PATTERN", "PropertyReader"]

#: The E.164 shape the service accepts, with the "+" made mandatory.
E164_PATTERN = re.compile(r"^\+[1-9]\d{1,14}$")
#: Names of SIP media applications and SIP rules.
SERVICE_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9 _.-]{1,256}$")

_TRUE = frozenset({"true"})
_FALSE = frozenset({"false"})

_T = TypeVar("_T")


class PropertyReader:
    """Typed access to one resource's properties that collects every problem it meets.

    Getters return a harmless placeholder for a bad value; call :meth:`raise_if_problems` before
    using any result.
    """

    def __init__(self, resource_type: str, properties: Mapping[str, Any], prefix: str = "") -> None:
        self._resource_type = resource_type
        self._properties = properties
        self._prefix = prefix
        self._problems: list[str] = []

    def child(self, value: Mapping[str, Any], prefix: str) -> PropertyReader:
        """A reader over a nested object that reports into this reader's problem list."""
        reader = PropertyReader(self._resource_type, value, f"{self._prefix}{prefix}")
        reader._problems = self._problems
        return reader

    def problem(self, name: str, message: str) -> None:
        self._problems.append(f"{self._prefix}{name}: {message}")

    def raise_if_problems(self) -> None:
        if self._problems:
            details = "; ".join(self._problems)
            raise ProviderError(
                mask_phone_numbers(f"Invalid {self._resource_type} properties: {details}")
            )

    def has(self, name: str) -> bool:
        """Whether ``name`` is set; CloudFormation sends an unset optional string as ``""``."""
        return self._properties.get(name) not in (None, "")

    def reject_unknown(self, allowed: Iterable[str]) -> None:
        unknown = sorted(set(self._properties) - set(allowed))
        if unknown:
            self.problem(
                ", ".join(unknown),
                f"unknown propert{'y' if len(unknown) == 1 else 'ies'}; "
                f"expected only {', '.join(sorted(allowed))}",
            )

    def string(self, name: str, pattern: re.Pattern[str] | None = None, hint: str = "") -> str:
        value = self._properties.get(name)
        if value in (None, ""):
            self.problem(name, "is required")
            return ""
        return self._check_string(name, value, pattern, hint) or ""

    def optional_string(
        self, name: str, pattern: re.Pattern[str] | None = None, hint: str = ""
    ) -> str | None:
        value = self._properties.get(name)
        if value in (None, ""):
            return None
        return self._check_string(name, value, pattern, hint)

    def choice(self, name: str, allowed: tuple[_T, ...], default: _T | None = None) -> _T:
        value = self._properties.get(name)
        if value in (None, "") and default is not None:
            return default
        for option in allowed:
            if value == option:
                return option
        self.problem(name, f"got {value!r}; expected one of {', '.join(map(str, allowed))}")
        return allowed[0]

    def boolean(self, name: str, default: bool | None = None) -> bool:
        value = self._properties.get(name)
        if value in (None, "") and default is not None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE:
            return True
        if isinstance(value, str) and value.strip().lower() in _FALSE:
            return False
        self.problem(name, f"got {value!r}; expected 'true' or 'false'")
        return False

    def integer(self, name: str, minimum: int) -> int:
        value = self._properties.get(name)
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            number = int(value)
        if number is None or number < minimum:
            self.problem(name, f"got {value!r}; expected a whole number >= {minimum}")
            return minimum
        return number

    def objects(self, name: str, min_items: int, max_items: int) -> list[Mapping[str, Any]]:
        value = self._properties.get(name)
        if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
            self.problem(name, f"got {value!r}; expected a list of objects")
            return []
        if not min_items <= len(value) <= max_items:
            self.problem(name, f"has {len(value)} items; expected {min_items} to {max_items}")
        return list(value)

    def optional_object(self, name: str) -> Mapping[str, Any] | None:
        value = self._properties.get(name)
        if value in (None, ""):
            return None
        if not isinstance(value, Mapping):
            self.problem(name, f"got {value!r}; expected an object")
            return {}
        return value

    def _check_string(
        self, name: str, value: object, pattern: re.Pattern[str] | None, hint: str
    ) -> str | None:
        if not isinstance(value, str):
            self.problem(name, f"got {value!r}; expected a string")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.problem(name, f"got {value!r}; {hint or f'must match {pattern.pattern}'}")
            return None
        return value
