"""One snapshot per example stack variant: a change detector, reviewed on every update.

Asset hashes change with every edit of runtime code and every aws-cdk-lib upgrade, so they are masked;
the account and Region are pinned by the example app. Update with ``pytest --snapshot-update`` and read
the diff before committing it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.compliance.conftest import EXAMPLE_REGIONS, template_path

_HASH = re.compile(r"[0-9a-f]{64}")


def mask_hashes(data: Any, path: Any) -> Any:
    """A syrupy matcher: every 64-hex asset hash becomes ``<asset-hash>``."""
    if isinstance(data, str):
        return _HASH.sub("<asset-hash>", data)
    return data


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.with_defaults(extension_class=JSONSnapshotExtension)


@pytest.mark.parametrize("region", EXAMPLE_REGIONS)
def test_example_stack_template(
    region: str, example_synths: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion
) -> None:
    path = template_path(example_synths[region]["outdir"], "CallRecordingExample")
    template = json.loads(path.read_text())
    assert template == snapshot_json(matcher=mask_hashes)


def test_mask_hashes_masks_asset_keys_only() -> None:
    key = "0123456789abcdef" * 4 + ".zip"
    assert mask_hashes(key, ()) == "<asset-hash>.zip"
    assert mask_hashes("recordings", ()) == "recordings"
    assert mask_hashes(42, ()) == 42
