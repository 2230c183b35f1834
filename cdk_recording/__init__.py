"""AWS CDK constructs for call recording with Amazon Chime SDK SIP media applications.

Start with :class:`CallRecording`; each part it composes is usable on its own.
"""

from __future__ import annotations

from cdk_recording._compliance import DEFAULT_PACKS, CompliancePack, acknowledge, apply_compliance
from cdk_recording._handler import (
    CONFIG_ENVIRONMENT_VARIABLE,
    BridgeDestination,
    ConsentAnnouncement,
    DtmfControl,
    RecordingHandler,
    RecordingLayer,
    RecordingLeg,
    RecordingTrack,
)
from cdk_recording._provider import ChimeVoiceProvider
from cdk_recording._recording import CallRecording
from cdk_recording._regions import NATIVE_SMA_REGIONS, PSTN_REGIONS, SMA_REGIONS, SmaImplementation
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
from cdk_recording._validation import RecordingConfigurationError

__all__ = [
    "CHIME_SERVICE_PRINCIPAL",
    "CONFIG_ENVIRONMENT_VARIABLE",
    "DEFAULT_PACKS",
    "NATIVE_SMA_REGIONS",
    "PSTN_REGIONS",
    "SMA_REGIONS",
    "BridgeDestination",
    "CallRecording",
    "ChimeVoiceProvider",
    "CompliancePack",
    "ConsentAnnouncement",
    "DtmfControl",
    "IPhoneNumber",
    "ISipMediaApplication",
    "ISipRule",
    "PhoneNumber",
    "PhoneNumberSearch",
    "PhoneNumberType",
    "RecordingConfigurationError",
    "RecordingEncryption",
    "RecordingHandler",
    "RecordingLayer",
    "RecordingLeg",
    "RecordingStorage",
    "RecordingTrack",
    "RecordingTransition",
    "SipMediaApplication",
    "SipRule",
    "SipRuleTarget",
    "SipRuleTriggerType",
    "SmaImplementation",
    "acknowledge",
    "apply_compliance",
]
