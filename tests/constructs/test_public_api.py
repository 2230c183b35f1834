"""The public API: an explicit ``__all__`` whose every name resolves, and nothing private in it."""

from __future__ import annotations

import pytest

import cdk_recording


def test_every_exported_name_resolves() -> None:
    for name in cdk_recording.__all__:
        assert getattr(cdk_recording, name) is not None, name


def test_exports_are_public_names_only() -> None:
    assert all(not name.startswith("_") for name in cdk_recording.__all__)
    assert len(set(cdk_recording.__all__)) == len(cdk_recording.__all__)


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        cdk_recording.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_composed_construct_and_parts_are_exported() -> None:
    for name in (
        "CallRecording",
        "RecordingStorage",
        "RecordingHandler",
        "SipMediaApplication",
        "PhoneNumber",
        "SipRule",
        "RecordingControl",
        "RecordingTranscription",
        "TranscriptionOptions",
        "CALL_ANALYTICS_LANGUAGES",
        "RetentionClass",
        "RecordingAccessTrail",
        "apply_compliance",
    ):
        assert name in cdk_recording.__all__
