"""A catalog and a recording bucket with Object Lock, over moto, for the records management tests.

The catalog is :mod:`tests.cli.catalog_seed`'s, with the delivered recordings of ``TX_A`` and
``TX_B`` put in an Object Lock bucket (moto S3) and their ``versionId`` set to moto's:

* ``TX_A``'s recording has two versions: a first one, then the cataloged one (content ``test``,
  whose SHA-256 the seed catalogs); ``<key>.bak`` sits beside it and is not the call's;
* ``transcripts/TX_A/`` holds a transcript with two versions and a redacted audio file, and a
  ``TRANSCRIPT#`` item points at it;
* ``TX_B``'s recording and ``transcripts/TX_B/`` belong to another call and must never be touched.

An EventBridge rule on the default bus sends every ``cdk-recording`` event to an SQS queue, so a
test reads what was put.

moto answers ``GetObjectRetention`` with an internal error (HTTP 500), so the retention reads go
through a botocore ``Stubber`` (:meth:`World.stub_retention`), handed to the command through
``_records_cli.retention_client``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber
from recording_processor import schema

from cdk_recording import _records_cli
from tests.cli.catalog_seed import BUCKET, CALL_A1, CALL_B1, TX_A, TX_B, seed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

TABLE = "recording-catalog"
REGION = "us-east-1"
WHERE = ["--table", TABLE, "--region", REGION]
CONTENT = b"test"  # SHA-256 9f86d081... as the seed catalogs it
KEY_A = f"calls/2026/12/03/{TX_A}_{CALL_A1}.wav"
KEY_B = f"calls/2026/12/04/{TX_B}_{CALL_B1}.wav"
TRANSCRIPT_A = f"transcripts/{TX_A}/{CALL_A1}.json"
REDACTED_A = f"transcripts/{TX_A}/{CALL_A1}-redacted.wav"
TRANSCRIPT_B = f"transcripts/{TX_B}/{CALL_B1}.json"


@dataclass
class World:
    table: Table
    s3: Any
    sqs: Any
    queue_url: str
    versions: dict[str, list[str]] = field(default_factory=dict)
    stubber: Stubber | None = None

    def put(self, key: str, body: bytes) -> str:
        version = str(self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"])
        self.versions.setdefault(key, []).append(version)
        return version

    def all_versions(self, prefix: str = "") -> set[tuple[str, str]]:
        """``(key, version id)`` of every version and delete marker under ``prefix``."""
        page = self.s3.list_object_versions(Bucket=BUCKET, Prefix=prefix)
        return {
            (str(v["Key"]), str(v["VersionId"]))
            for kind in ("Versions", "DeleteMarkers")
            for v in page.get(kind, [])
        }

    def lockable(self, transaction_id: str) -> list[tuple[str, str]]:
        """The call's versions (no delete markers) in the order the erase command reads them."""
        page = self.s3.list_object_versions(Bucket=BUCKET)
        keys = {KEY_A, TRANSCRIPT_A, REDACTED_A} if transaction_id == TX_A else {KEY_B}
        return sorted(
            (str(v["Key"]), str(v["VersionId"]))
            for v in page.get("Versions", [])
            if v["Key"] in keys
        )

    def stub_retention(
        self,
        monkeypatch: pytest.MonkeyPatch,
        versions: list[tuple[str, str]],
        retained: dict[tuple[str, str], tuple[str, datetime]] | None = None,
    ) -> Stubber:
        """Answer ``GetObjectRetention`` for ``versions``, in order: ``retained`` ones with their
        mode and date, the others with ``NoSuchObjectLockConfiguration`` (as S3 does)."""
        client = boto3.session.Session().client("s3", region_name=REGION)
        stubber = Stubber(client)
        for key, version in versions:
            expected = {"Bucket": BUCKET, "Key": key, "VersionId": version}
            if retained and (key, version) in retained:
                mode, until = retained[(key, version)]
                stubber.add_response(
                    "get_object_retention",
                    {"Retention": {"Mode": mode, "RetainUntilDate": until}},
                    expected,
                )
            else:
                stubber.add_client_error(
                    "get_object_retention",
                    service_error_code="NoSuchObjectLockConfiguration",
                    service_message="The specified object does not have a ObjectLock configuration",
                    http_status_code=404,
                    expected_params=expected,
                )
        stubber.activate()
        monkeypatch.setattr(_records_cli, "retention_client", lambda _session, _region: client)
        self.stubber = stubber
        return stubber

    def events(self) -> list[dict[str, Any]]:
        """The events put on the default bus so far (drains the queue)."""
        received = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in received.get("Messages", [])]

    def item(self, tx: str, sort_key: str) -> dict[str, Any] | None:
        return self.table.get_item(Key={"pk": f"TX#{tx}", "sk": sort_key}).get("Item")

    def partition(self, tx: str, prefix: str = "") -> list[dict[str, Any]]:
        return [
            item
            for item in self.table.query(
                KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"TX#{tx}"}
            )["Items"]
            if str(item["sk"]).startswith(prefix)
        ]


def build(*, object_lock: bool = True) -> World:
    """The world described above; call inside ``mock_aws()``."""
    session = boto3.session.Session()
    dynamodb = session.resource("dynamodb", region_name=REGION)
    dynamodb.create_table(**schema.create_table_arguments(TABLE))
    table = dynamodb.Table(TABLE)
    seed(table)
    s3 = session.client("s3", region_name=REGION)
    if object_lock:
        s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    else:
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    sqs = session.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="erased-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events = session.client("events", region_name=REGION)
    events.put_rule(Name="records", EventPattern=json.dumps({"source": ["cdk-recording"]}))
    events.put_targets(Rule="records", Targets=[{"Id": "queue", "Arn": queue_arn}])

    world = World(table, s3, sqs, queue_url)
    world.put(KEY_A, b"first take")
    cataloged_a = world.put(KEY_A, CONTENT)
    world.put(f"{KEY_A}.bak", b"not the call's")
    world.put(TRANSCRIPT_A, b'{"v": 1}')
    world.put(TRANSCRIPT_A, b'{"v": 2}')
    world.put(REDACTED_A, b"silence")
    cataloged_b = world.put(KEY_B, CONTENT)
    world.put(TRANSCRIPT_B, b"{}")
    for tx, call_id, version in ((TX_A, CALL_A1, cataloged_a), (TX_B, CALL_B1, cataloged_b)):
        table.update_item(
            Key={"pk": f"TX#{tx}", "sk": f"REC#{call_id}"},
            UpdateExpression="SET versionId = :v",
            ExpressionAttributeValues={":v": version},
        )
    table.put_item(
        Item={
            "pk": f"TX#{TX_A}",
            "sk": f"TRANSCRIPT#{CALL_A1}",
            "transactionId": TX_A,
            "callId": CALL_A1,
            "recordingKey": KEY_A,
            "status": "completed",
            "transcriptKey": TRANSCRIPT_A,
            "redactedAudioKey": REDACTED_A,
        }
    )
    return world
