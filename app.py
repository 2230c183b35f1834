#!/usr/bin/env python3
"""Example app: records every call to an ordered number, after a consent announcement.

``cdk synth`` needs no AWS credentials. The Region defaults to us-east-1; change it with
``-c region=us-west-2``. The account is a placeholder unless ``-c account=...`` or
``CDK_DEFAULT_ACCOUNT`` gives one.
"""

from __future__ import annotations

import os

import aws_cdk as cdk

from cdk_recording import (
    CallRecording,
    ConsentAnnouncement,
    PhoneNumberSearch,
    apply_compliance,
)

#: A placeholder account, so `cdk synth` works without credentials.
PLACEHOLDER_ACCOUNT = "111111111111"


def example_stack(app: cdk.App, region: str, account: str = PLACEHOLDER_ACCOUNT) -> cdk.Stack:
    """The example stack: one ordered number routed to an SMA that records every call."""
    stack = cdk.Stack(
        app,
        "CallRecordingExample",
        env=cdk.Environment(account=account, region=region),
        description="cdk-recording example: SIP media application that records every call",
    )
    CallRecording(
        stack,
        "CallRecording",
        phone_numbers=[PhoneNumberSearch(country="US", area_code="206")],
        consent=ConsentAnnouncement.speak(
            "This call is recorded for training and quality purposes. "
            "If you do not agree, please hang up now."
        ),
        # An encrypted SNS topic for the alarms: subscribe the on-call address to it.
        create_alarm_topic=True,
    )
    return stack


def main() -> None:
    app = cdk.App()
    region = app.node.try_get_context("region") or "us-east-1"
    account = app.node.try_get_context("account") or os.environ.get(
        "CDK_DEFAULT_ACCOUNT", PLACEHOLDER_ACCOUNT
    )
    example_stack(app, region, account)
    apply_compliance(app)
    app.synth()


if __name__ == "__main__":
    main()
