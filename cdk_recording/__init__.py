"""AWS CDK constructs for call recording with Amazon Chime SDK SIP media applications.

Start with :class:`CallRecording`; each part it composes is usable on its own.

Exports load on first use, so ``cdk_recording.control`` and the ``cdk-recording`` command line do
not start the CDK's Node.js runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cdk_recording._access_trail import RecordingAccessTrail
    from cdk_recording._alarms import RecordingAlarms
    from cdk_recording._catalog import RecordingCatalog
    from cdk_recording._compliance import (
        DEFAULT_PACKS,
        CompliancePack,
        acknowledge,
        apply_compliance,
    )
    from cdk_recording._handler import (
        CONFIG_ENVIRONMENT_VARIABLE,
        BridgeDestination,
        ConsentAnnouncement,
        DtmfControl,
        RecordingFlow,
        RecordingHandler,
        RecordingLayer,
        RecordingLeg,
        RecordingTrack,
    )
    from cdk_recording._provider import ChimeVoiceProvider
    from cdk_recording._recording import CallRecording
    from cdk_recording._regions import (
        NATIVE_SMA_REGIONS,
        PSTN_REGIONS,
        SMA_REGIONS,
        SmaImplementation,
    )
    from cdk_recording._retention import RetentionClass
    from cdk_recording._sma import ISipMediaApplication, SipMediaApplication
    from cdk_recording._storage import (
        CHIME_SERVICE_PRINCIPAL,
        RecordingEncryption,
        RecordingStorage,
        RecordingTransition,
    )
    from cdk_recording._telephony import (
        IPhoneNumber,
        ISipRule,
        PhoneNumber,
        PhoneNumberSearch,
        PhoneNumberType,
        SipRule,
        SipRuleTarget,
        SipRuleTriggerType,
    )
    from cdk_recording._transcription import RecordingTranscription
    from cdk_recording._transcription_options import CALL_ANALYTICS_LANGUAGES, TranscriptionOptions
    from cdk_recording._validation import RecordingConfigurationError
    from cdk_recording.control import (
        REQUIRED_IAM_ACTION,
        CallNotFoundError,
        ControlAccessDeniedError,
        ControlConfigurationError,
        ControlConnectionError,
        ControlServiceError,
        ControlThrottledError,
        InvalidControlRequestError,
        RecordingControl,
        RecordingControlError,
    )

_EXPORTS: dict[str, str] = {
    "BridgeDestination": "cdk_recording._handler",
    "CALL_ANALYTICS_LANGUAGES": "cdk_recording._transcription_options",
    "CHIME_SERVICE_PRINCIPAL": "cdk_recording._storage",
    "CONFIG_ENVIRONMENT_VARIABLE": "cdk_recording._handler",
    "CallNotFoundError": "cdk_recording.control",
    "CallRecording": "cdk_recording._recording",
    "ChimeVoiceProvider": "cdk_recording._provider",
    "CompliancePack": "cdk_recording._compliance",
    "ConsentAnnouncement": "cdk_recording._handler",
    "ControlAccessDeniedError": "cdk_recording.control",
    "ControlConfigurationError": "cdk_recording.control",
    "ControlConnectionError": "cdk_recording.control",
    "ControlServiceError": "cdk_recording.control",
    "ControlThrottledError": "cdk_recording.control",
    "DEFAULT_PACKS": "cdk_recording._compliance",
    "DtmfControl": "cdk_recording._handler",
    "IPhoneNumber": "cdk_recording._telephony",
    "ISipMediaApplication": "cdk_recording._sma",
    "ISipRule": "cdk_recording._telephony",
    "InvalidControlRequestError": "cdk_recording.control",
    "NATIVE_SMA_REGIONS": "cdk_recording._regions",
    "PSTN_REGIONS": "cdk_recording._regions",
    "PhoneNumber": "cdk_recording._telephony",
    "PhoneNumberSearch": "cdk_recording._telephony",
    "PhoneNumberType": "cdk_recording._telephony",
    "REQUIRED_IAM_ACTION": "cdk_recording.control",
    "RecordingConfigurationError": "cdk_recording._validation",
    "RecordingControl": "cdk_recording.control",
    "RecordingControlError": "cdk_recording.control",
    "RecordingAccessTrail": "cdk_recording._access_trail",
    "RecordingAlarms": "cdk_recording._alarms",
    "RecordingCatalog": "cdk_recording._catalog",
    "RecordingEncryption": "cdk_recording._storage",
    "RecordingFlow": "cdk_recording._handler",
    "RecordingHandler": "cdk_recording._handler",
    "RecordingLayer": "cdk_recording._handler",
    "RecordingLeg": "cdk_recording._handler",
    "RecordingStorage": "cdk_recording._storage",
    "RecordingTrack": "cdk_recording._handler",
    "RecordingTranscription": "cdk_recording._transcription",
    "RecordingTransition": "cdk_recording._storage",
    "RetentionClass": "cdk_recording._retention",
    "SMA_REGIONS": "cdk_recording._regions",
    "SipMediaApplication": "cdk_recording._sma",
    "SipRule": "cdk_recording._telephony",
    "SipRuleTarget": "cdk_recording._telephony",
    "SipRuleTriggerType": "cdk_recording._telephony",
    "SmaImplementation": "cdk_recording._regions",
    "TranscriptionOptions": "cdk_recording._transcription_options",
    "acknowledge": "cdk_recording._compliance",
    "apply_compliance": "cdk_recording._compliance",
}

__all__ = [
    "CALL_ANALYTICS_LANGUAGES",
    "CHIME_SERVICE_PRINCIPAL",
    "CONFIG_ENVIRONMENT_VARIABLE",
    "DEFAULT_PACKS",
    "NATIVE_SMA_REGIONS",
    "PSTN_REGIONS",
    "REQUIRED_IAM_ACTION",
    "SMA_REGIONS",
    "BridgeDestination",
    "CallNotFoundError",
    "CallRecording",
    "ChimeVoiceProvider",
    "CompliancePack",
    "ConsentAnnouncement",
    "ControlAccessDeniedError",
    "ControlConfigurationError",
    "ControlConnectionError",
    "ControlServiceError",
    "ControlThrottledError",
    "DtmfControl",
    "IPhoneNumber",
    "ISipMediaApplication",
    "ISipRule",
    "InvalidControlRequestError",
    "PhoneNumber",
    "PhoneNumberSearch",
    "PhoneNumberType",
    "RecordingAccessTrail",
    "RecordingAlarms",
    "RecordingCatalog",
    "RecordingConfigurationError",
    "RecordingControl",
    "RecordingControlError",
    "RecordingEncryption",
    "RecordingFlow",
    "RecordingHandler",
    "RecordingLayer",
    "RecordingLeg",
    "RecordingStorage",
    "RecordingTrack",
    "RecordingTranscription",
    "RecordingTransition",
    "RetentionClass",
    "SipMediaApplication",
    "SipRule",
    "SipRuleTarget",
    "SipRuleTriggerType",
    "SmaImplementation",
    "TranscriptionOptions",
    "acknowledge",
    "apply_compliance",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cdk_recording' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
