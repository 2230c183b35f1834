"""Coercion of CloudFormation's string-typed properties."""

from __future__ import annotations

from typing import Any

import pytest
from chime_provider._events import ProviderError
from chime_provider._logging import mask_phone_number, mask_phone_numbers
from chime_provider._properties import PropertyReader


def reader(**properties: Any) -> PropertyReader:
    return PropertyReader("Custom::Test", properties)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("false", False), ("True", True), ("FALSE", False), (True, True)],
)
def test_boolean_accepts_cloudformation_strings(value: object, expected: bool) -> None:
    props = reader(Flag=value)

    assert props.boolean("Flag") is expected
    props.raise_if_problems()


@pytest.mark.parametrize("value", ["yes", "1", "", None, 1])
def test_boolean_rejects_anything_else_when_required(value: object) -> None:
    props = reader(Flag=value)
    props.boolean("Flag")

    with pytest.raises(ProviderError, match=r"Invalid Custom::Test properties: Flag: got"):
        props.raise_if_problems()


def test_boolean_falls_back_to_its_default_when_unset() -> None:
    assert reader().boolean("Flag", default=False) is False


@pytest.mark.parametrize(("value", "expected"), [("1", 1), (" 25 ", 25), (3, 3)])
def test_integer_accepts_numeric_strings(value: object, expected: int) -> None:
    props = reader(Priority=value)

    assert props.integer("Priority", minimum=1) == expected
    props.raise_if_problems()


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "one", True, None])
def test_integer_rejects_non_numbers_and_values_below_minimum(value: object) -> None:
    props = reader(Priority=value)
    props.integer("Priority", minimum=1)

    with pytest.raises(ProviderError, match=r"Priority: got .*expected a whole number >= 1"):
        props.raise_if_problems()


def test_all_problems_are_reported_at_once() -> None:
    props = reader(Flag="maybe", Priority="zero")
    props.boolean("Flag")
    props.integer("Priority", minimum=1)
    props.string("Name")

    with pytest.raises(ProviderError) as raised:
        props.raise_if_problems()

    assert str(raised.value).count(": got ") == 2
    assert "Name: is required" in str(raised.value)


def test_an_empty_string_counts_as_unset() -> None:
    assert reader(Name="").optional_string("Name") is None


def test_phone_number_masking_keeps_the_last_four_digits() -> None:
    assert mask_phone_number("+12065550100") == "+*******0100"


def test_phone_numbers_inside_text_are_masked() -> None:
    assert mask_phone_numbers("rule for +12065550100 and +442071234567") == (
        "rule for +*******0100 and +********4567"
    )
