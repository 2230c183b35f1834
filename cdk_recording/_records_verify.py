"""Tamper evidence: recompute the SHA-256 of delivered recordings and compare it with the catalog.

The arrival processor hashes each recording as it arrives and catalogs the hash with the object's
version id (``docs/catalog.md``). Verification reads that exact version (``GetObject`` with
``VersionId``), streaming it through SHA-256 in 1 MiB chunks so that a 4-hour call never sits in
memory. Services and Amazon Transcribe read a key's *current* version, not the cataloged one, so
the key is then looked up without a version (``HeadObject``): a cataloged version that is intact
but no longer current is a finding too. Per recording, one of:

* ``ok``: the hashes agree and the cataloged version is the key's current version;
* ``mismatch``: the cataloged version's content is not what was cataloged;
* ``superseded``: the cataloged version is intact, but another version of the key is current
  (the key was overwritten: whoever reads it by key gets other content);
* ``hidden``: the cataloged version is intact, but a delete marker is current (reads by key fail);
* ``missing``: the cataloged version is gone (deleted for good);
* ``unverifiable``: the catalog item has no ``sha256`` or no key to check against.

Every result but ``ok`` is a finding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Final

from botocore.exceptions import ClientError

__all__ = [
    "DELIVERED",
    "OK",
    "RESULTS",
    "Check",
    "check_recording",
    "checks",
    "findings",
    "summary",
]

OK: Final = "ok"
#: Every result a check can have.
RESULTS: Final = (OK, "mismatch", "superseded", "hidden", "missing", "unverifiable")
#: The only status whose object is expected in the bucket.
DELIVERED: Final = "delivered"
_CHUNK = 1024 * 1024
# S3's answers for an object or version that is not there (405: the version is a delete marker).
_GONE = frozenset({"NoSuchKey", "NoSuchVersion", "404", "405", "MethodNotAllowed"})


@dataclass(frozen=True)
class Check:
    """The result of checking one cataloged recording."""

    transactionId: str  # noqa: N815 - the catalog's attribute names, as printed in JSON
    callId: str  # noqa: N815
    bucket: str | None
    key: str | None
    versionId: str | None  # noqa: N815
    result: str
    expected: str | None
    actual: str | None = None
    #: With ``superseded``: the version id the key reads as now (``hidden``: the delete marker's).
    currentVersionId: str | None = None  # noqa: N815

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _sha256(s3: Any, bucket: str, key: str, version_id: str | None) -> str:
    request = {"Bucket": bucket, "Key": key}
    if version_id:
        request["VersionId"] = version_id
    body = s3.get_object(**request)["Body"]
    digest = hashlib.sha256()
    try:
        for chunk in body.iter_chunks(_CHUNK):
            digest.update(chunk)
    finally:
        body.close()
    return digest.hexdigest()


def check_recording(s3: Any, item: dict[str, Any]) -> Check:
    """Check one ``REC#`` item against its object in S3 (one streamed ``GetObject`` of the
    cataloged version, then a ``HeadObject`` of the key when the hashes agree)."""
    bucket = _text(item.get("bucket"))
    key = _text(item.get("key"))
    version_id = _text(item.get("versionId"))
    expected = _text(item.get("sha256"))
    transaction_id = str(item.get("transactionId", ""))
    call_id = str(item.get("callId", ""))

    def made(result: str, actual: str | None = None, current: str | None = None) -> Check:
        return Check(
            transaction_id, call_id, bucket, key, version_id, result, expected, actual, current
        )

    if bucket is None or key is None or expected is None:
        return made("unverifiable")
    try:
        actual = _sha256(s3, bucket, key, version_id)
    except ClientError as error:
        if _gone(error):
            return made("missing")
        raise
    if actual != expected.lower():
        return made("mismatch", actual)
    if version_id is None:
        return made(OK, actual)  # no version cataloged: the read above was of the current one
    try:
        current = _text(s3.head_object(Bucket=bucket, Key=key).get("VersionId"))
    except ClientError as error:
        if not _gone(error):
            raise
        # The cataloged version was just read, so the key exists: a delete marker is current.
        headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        return made("hidden", actual, _text(headers.get("x-amz-version-id")))
    return made(OK if current == version_id else "superseded", actual, current)


def _gone(error: ClientError) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = str(error.response.get("Error", {}).get("Code", ""))
    return code in _GONE or status in (404, 405)


def checks(s3: Any, items: Iterable[dict[str, Any]]) -> Iterator[Check]:
    """Check every delivered recording of ``items`` (other statuses are skipped: an erased or
    missing recording has nothing to verify)."""
    for item in items:
        if item.get("status") == DELIVERED:
            yield check_recording(s3, item)


def findings(results: Iterable[Check]) -> list[Check]:
    """The results that are not ``ok``."""
    return [result for result in results if result.result != OK]


def summary(results: Iterable[Check]) -> dict[str, int]:
    """How many recordings were checked, and how many had each result."""
    counts = dict.fromkeys(RESULTS, 0)
    total = 0
    for result in results:
        counts[result.result] += 1
        total += 1
    return {"checked": total, **counts}


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)
