"""Secure defaults shared by every construct of the library, kept in one place."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

__all__ = [
    "HANDLER_ARCHITECTURE",
    "HANDLER_MEMORY_MB",
    "HANDLER_RUNTIME",
    "HANDLER_TIMEOUT",
    "LOG_RETENTION",
    "METRICS_NAMESPACE",
    "TRANSCRIPTS_PREFIX",
]

#: The newest Python runtime aws-cdk-lib 2.275 knows (cdk-nag AwsSolutions-L1 flags older ones).
HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14
#: Graviton: cheaper per millisecond, and the handlers have no native dependencies.
HANDLER_ARCHITECTURE = lambda_.Architecture.ARM_64
#: The recording handler does no I/O of its own; 256 MB keeps cold starts short.
HANDLER_MEMORY_MB = 256
#: The SMA retries an invocation after 5 s and hangs up after 20 s: end a stuck invocation before the
#: retry so the retry gets a fresh chance instead of overlapping a hung one.
HANDLER_TIMEOUT = cdk.Duration.seconds(4)
#: CloudWatch Logs retention of every log group the library defines.
LOG_RETENTION = logs.RetentionDays.ONE_YEAR
#: CloudWatch namespace of the recording metrics.
METRICS_NAMESPACE = "CdkRecording"
#: Where everything derived from a call (transcripts, redacted transcripts and audio) lives in the
#: recording bucket: ``transcripts/<transactionId>/``. Legal hold, erasure, the access trail and the
#: grants name it; the recording and prompts prefixes may not overlap it.
TRANSCRIPTS_PREFIX = "transcripts"
