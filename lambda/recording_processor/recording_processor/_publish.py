"""Publishing the library's events to EventBridge: "Recording Available", "Recording Missing",
"Transcript Available" and "Transcription Failed".

PutEvents answers HTTP 200 even when it rejected the entry: the rejection is only in
``FailedEntryCount`` and the entry's ``ErrorCode``. Both are checked, and a rejected entry is
:class:`Transient`, so the record is delivered again and the event sent then.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from recording_processor._errors import Transient, error_code

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

__all__ = [
    "DETAIL_TYPE",
    "MISSING_DETAIL_TYPE",
    "SOURCE",
    "TRANSCRIPTION_FAILED_DETAIL_TYPE",
    "TRANSCRIPT_DETAIL_TYPE",
    "EventPublisher",
]

#: ``source`` of the events this processor emits.
SOURCE = "cdk-recording"
#: ``detail-type`` of the event announcing a cataloged recording.
DETAIL_TYPE = "Recording Available"
#: ``detail-type`` of the event reporting a started recording whose file never arrived.
MISSING_DETAIL_TYPE = "Recording Missing"
#: ``detail-type`` of the event announcing a recording's transcript, cataloged.
TRANSCRIPT_DETAIL_TYPE = "Transcript Available"
#: ``detail-type`` of the event reporting a recording whose transcription failed.
TRANSCRIPTION_FAILED_DETAIL_TYPE = "Transcription Failed"


class EventPublisher:
    """Sends one event at a time to a bus (name or ARN)."""

    def __init__(self, client: EventBridgeClient, bus: str) -> None:
        self._client = client
        self.bus = bus

    def publish(
        self,
        detail: Mapping[str, Any],
        resources: Sequence[str],
        detail_type: str = DETAIL_TYPE,
    ) -> str:
        """Send the event; returns its id.

        :raises Transient: the call failed or the entry was rejected.
        """
        try:
            response = self._client.put_events(
                Entries=[
                    {
                        "Source": SOURCE,
                        "DetailType": detail_type,
                        "Detail": json.dumps(detail, separators=(",", ":")),
                        "Resources": list(resources),
                        "EventBusName": self.bus,
                    }
                ]
            )
        except (ClientError, BotoCoreError) as error:
            raise Transient("put-events", f"PutEvents failed: {error_code(error)}") from error
        entries = response.get("Entries") or [{}]
        entry = entries[0]
        if (
            response.get("FailedEntryCount", 0)
            or entry.get("ErrorCode")
            or not entry.get("EventId")
        ):
            raise Transient(
                "put-events",
                "PutEvents rejected the entry: "
                f"{entry.get('ErrorCode', 'no event id')} {entry.get('ErrorMessage', '')}".strip(),
            )
        return str(entry["EventId"])
