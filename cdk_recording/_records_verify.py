"""Tamper evidence: recompute the SHA-256 of delivered recordings and compare it with the catalog.

The arrival processor hashes each recording as it arrives and catalogs the hash with the object's
version id (``docs/catalog.md``). Verification reads that exact version (``GetObject`` with
``VersionId``), streaming it through SHA-256 in 1 MiB chunks so that a 4-hour call never sits in
memory, and reports per recording one of:

* ``ok``: the hashes agree;
* ``mismatch``: the object's content is not what was cataloged;
* ``missing``: the object or the cataloged version is gone (deleted, or a delete marker);
* ``unverifiable``: the catalog item has no ``sha256`` or no key to check against.

Every result but ``ok`` is a finding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Final

from botocore.exceptions import ClientError

__all__ = ["OK", "RESULTS", "Check", "check_recording", "checks", "findings", "summary"]

OK: Final = "ok"
#: Every result a check can have.
RESULTS: Final = (OK, "mismatch", "missing", "unverifiable")
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
    """Check one ``REC#`` item against its object in S3 (one streamed ``GetObject``)."""
    bucket = _text(item.get("bucket"))
    key = _text(item.get("key"))
    version_id = _text(item.get("versionId"))
    expected = _text(item.get("sha256"))
    transaction_id = str(item.get("transactionId", ""))
    call_id = str(item.get("callId", ""))

    def made(result: str, actual: str | None = None) -> Check:
        return Check(transaction_id, call_id, bucket, key, version_id, result, expected, actual)

    if bucket is None or key is None or expected is None:
        return made("unverifiable")
    try:
        actual = _sha256(s3, bucket, key, version_id)
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in _GONE or status in (404, 405):
            return made("missing")
        raise
    return made(OK if actual == expected.lower() else "mismatch", actual)


def checks(s3: Any, items: Iterable[dict[str, Any]]) -> Iterator[Check]:
    """Check every delivered recording of ``items`` (other statuses are skipped: an erased or
    missing recording has nothing to verify)."""
    for item in items:
        if item.get("status") == "delivered":
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
