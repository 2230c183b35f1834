"""Arrival processor: catalogs each delivered SMA call recording and announces it.

The Lambda asset root is ``lambda/recording_processor``; the function's handler is
``recording_processor.handler.handler`` (an SQS batch of S3 EventBridge ``Object Created`` events).
The same asset serves ``recording_processor.handler.facts_handler`` (an SQS batch of the recording
handler's facts messages) and ``recording_processor.handler.sweep_handler`` (a schedule that reports
overdue recordings missing).
:mod:`recording_processor.catalog` reads the catalog it writes. Standard library and boto3 only.
"""

from __future__ import annotations

__all__: list[str] = []
