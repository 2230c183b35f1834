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

app = cdk.App()
region = app.node.try_get_context("region") or "us-east-1"
account = app.node.try_get_context("account") or os.environ.get(
    "CDK_DEFAULT_ACCOUNT", "111111111111"
)

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
)
apply_compliance(app)
app.synth()
