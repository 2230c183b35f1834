"""Where the PSTN audio service runs, and where CloudFormation has the native SMA type.

One table, one place. Sources:

* SMA (API and media) Regions: Amazon Chime SDK Developer Guide, "Available Regions"
  (https://docs.aws.amazon.com/chime-sdk/latest/dg/sdk-available-regions.html) and the AWS General
  Reference endpoint list for ``voice-chime`` (https://docs.aws.amazon.com/general/latest/gr/chime-sdk.html).
* PSTN Regions (phone-number ordering and PSTN access): the same Developer Guide table.
* Native ``AWS::Chime::SipMediaApplication``: the per-Region CloudFormation resource specifications shipped
  with cfn-lint 1.58 and aws-cdk-lib 2.275 list the type in every SMA Region except us-west-2.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "NATIVE_SMA_REGIONS",
    "PSTN_REGIONS",
    "SMA_REGIONS",
    "SmaImplementation",
]

SMA_REGIONS: tuple[str, ...] = (
    "us-east-1",
    "us-west-2",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
)

PSTN_REGIONS: tuple[str, ...] = ("us-east-1", "us-west-2")

NATIVE_SMA_REGIONS: frozenset[str] = frozenset(SMA_REGIONS) - {"us-west-2"}


class SmaImplementation(Enum):
    """How the SIP media application resource is defined."""

    #: Native where CloudFormation has the type; the custom resource elsewhere and in
    #: environment-agnostic stacks (whose Region is unknown at synth time).
    AUTO = "auto"
    #: ``AWS::Chime::SipMediaApplication``.
    NATIVE = "native"
    #: The library's custom resource (chime-sdk-voice CreateSipMediaApplication), available in every
    #: SMA Region.
    CUSTOM_RESOURCE = "custom-resource"
