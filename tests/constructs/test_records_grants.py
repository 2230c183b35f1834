"""Records management permissions: explicit grants only, scoped to recordings and transcripts/*."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from cdk_recording import CallRecording, RecordingCatalog, RecordingStorage
from tests.constructs.conftest import make_stack


def _policy_statements(template: Template, role_fragment: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        roles = str(policy["Properties"].get("Roles", []))
        if role_fragment in roles:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def _with_action(statements: list[dict[str, Any]], action: str) -> dict[str, Any]:
    [found] = [s for s in statements if action in _actions(s)]
    return found


def _bucket_id(template: Template) -> str:
    [bucket_id] = [k for k in template.find_resources("AWS::S3::Bucket") if "StorageBucket" in k]
    return bucket_id


def _object_arns(bucket_id: str, prefix: str = "recordings") -> list[Any]:
    return [
        {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{suffix}/*"]]}
        for suffix in (prefix, "transcripts")
    ]


def _granted(grant: str, **options: Any) -> tuple[Template, iam.Grant]:
    stack = make_stack()
    recording = CallRecording(stack, "Recording", phone_numbers=["+12065550100"], **options)
    role = iam.Role(stack, "Officer", assumed_by=iam.AccountRootPrincipal())
    result: iam.Grant = getattr(recording, grant)(role)
    return Template.from_stack(stack), result


@pytest.fixture(scope="module")
def legal_hold() -> Template:
    return _granted("grant_legal_hold")[0]


@pytest.fixture(scope="module")
def erase() -> Template:
    return _granted("grant_erase")[0]


def test_legal_hold_grant_puts_and_reads_holds_on_recordings_and_transcripts_only(
    legal_hold: Template,
) -> None:
    statements = _policy_statements(legal_hold, "Officer")
    bucket_id = _bucket_id(legal_hold)
    holds = _with_action(statements, "s3:PutObjectLegalHold")
    assert _actions(holds) == {"s3:PutObjectLegalHold", "s3:GetObjectLegalHold"}
    assert holds["Resource"] == _object_arns(bucket_id)
    assert not [a for s in statements for a in _actions(s) if a.startswith("s3:Delete")]


@pytest.mark.parametrize("grant", ["legal_hold", "erase"])
def test_listing_versions_is_limited_to_the_call_prefixes(
    grant: str, request: pytest.FixtureRequest
) -> None:
    template: Template = request.getfixturevalue(grant)
    statements = _policy_statements(template, "Officer")
    bucket_id = _bucket_id(template)
    listing = _with_action(statements, "s3:ListBucketVersions")
    assert _actions(listing) == {"s3:ListBucketVersions"}
    assert listing["Resource"] == {"Fn::GetAtt": [bucket_id, "Arn"]}
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["recordings/*", "transcripts/*"]}}
    lock = _with_action(statements, "s3:GetBucketObjectLockConfiguration")
    assert _actions(lock) == {"s3:GetBucketObjectLockConfiguration"}
    assert lock["Resource"] == {"Fn::GetAtt": [bucket_id, "Arn"]}


def test_erase_grant_deletes_versions_after_reading_hold_and_retention(erase: Template) -> None:
    statements = _policy_statements(erase, "Officer")
    deletes = _with_action(statements, "s3:DeleteObjectVersion")
    assert _actions(deletes) == {
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:GetObjectLegalHold",
        "s3:GetObjectRetention",
    }
    assert deletes["Resource"] == _object_arns(_bucket_id(erase))
    assert "s3:PutObjectLegalHold" not in {a for s in statements for a in _actions(s)}


def _dynamodb_actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements for a in _actions(s) if a.startswith("dynamodb:")}


def test_erase_grant_deletes_the_call_s_transcribe_jobs(erase: Template) -> None:
    statements = _policy_statements(erase, "Officer")
    jobs = _with_action(statements, "transcribe:DeleteCallAnalyticsJob")
    assert _actions(jobs) == {
        "transcribe:DeleteCallAnalyticsJob",
        "transcribe:DeleteTranscriptionJob",
    }
    # No job resource type to scope Delete*Job to (as the transcription function's Start*Job).
    assert jobs["Resource"] == "*"


@pytest.mark.parametrize(
    ("grant", "expected"),
    [
        (
            "legal_hold",
            {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"},
        ),
        (
            "erase",
            {
                "dynamodb:Query",
                "dynamodb:GetItem",
                "dynamodb:UpdateItem",
                "dynamodb:PutItem",
                "dynamodb:DeleteItem",
            },
        ),
    ],
)
def test_call_recording_grants_add_only_the_catalog_actions_of_their_command(
    grant: str, expected: set[str], request: pytest.FixtureRequest
) -> None:
    template: Template = request.getfixturevalue(grant)
    statements = _policy_statements(template, "Officer")
    [table_id] = template.find_resources("AWS::DynamoDB::Table")
    assert _dynamodb_actions(statements) == expected
    writes = _with_action(statements, "dynamodb:UpdateItem")
    resources = writes["Resource"]
    assert {"Fn::GetAtt": [table_id, "Arn"]} in resources
    assert {"Fn::Join": ["", [{"Fn::GetAtt": [table_id, "Arn"]}, "/index/*"]]} in resources
    put_events = [s for s in statements if "events:PutEvents" in _actions(s)]
    if grant == "erase":
        [events] = put_events
        assert "default" in str(events["Resource"])
    else:
        assert put_events == []  # a hold role puts no event


def test_audit_records_grant_reads_and_puts_only() -> None:
    stack = make_stack()
    recording = CallRecording(stack, "Recording", phone_numbers=["+12065550100"])
    role = iam.Role(stack, "Officer", assumed_by=iam.AccountRootPrincipal())
    assert recording.catalog is not None
    recording.catalog.grant_audit_records(role)
    statements = _policy_statements(Template.from_stack(stack), "Officer")
    assert _dynamodb_actions(statements) == {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
    }
    assert not [a for s in statements for a in _actions(s) if not a.startswith("dynamodb:")]


def test_without_the_catalog_the_grant_is_storage_only() -> None:
    template, grant = _granted("grant_erase", catalog=False)
    statements = _policy_statements(template, "Officer")
    assert grant.success
    assert not [
        a for s in statements for a in _actions(s) if a.startswith(("dynamodb:", "events:"))
    ]
    assert _with_action(statements, "transcribe:DeleteTranscriptionJob")
    assert _with_action(statements, "s3:DeleteObjectVersion")


def test_grants_follow_the_recording_prefix() -> None:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage", recording_prefix="calls")
    role = iam.Role(stack, "Officer", assumed_by=iam.AccountRootPrincipal())
    storage.grant_legal_hold(role)
    template = Template.from_stack(stack)
    statements = _policy_statements(template, "Officer")
    holds = _with_action(statements, "s3:PutObjectLegalHold")
    assert holds["Resource"] == _object_arns(_bucket_id(template), "calls")
    listing = _with_action(statements, "s3:ListBucketVersions")
    assert listing["Condition"]["StringLike"]["s3:prefix"] == ["calls/*", "transcripts/*"]


def test_catalog_erase_records_grant_puts_on_its_own_bus() -> None:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage")
    bus = cdk.aws_events.EventBus(stack, "Bus")
    catalog = RecordingCatalog(stack, "Catalog", storage=storage, event_bus=bus)
    role = iam.Role(stack, "Officer", assumed_by=iam.AccountRootPrincipal())
    catalog.grant_erase_records(role)
    template = Template.from_stack(stack)
    statements = _policy_statements(template, "Officer")
    [bus_id] = template.find_resources("AWS::Events::EventBus")
    events = _with_action(statements, "events:PutEvents")
    assert events["Resource"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    outputs = template.find_outputs("*")
    [name] = [k for k in outputs if "CatalogEventBusName" in k]
    assert outputs[name]["Value"] == {"Ref": bus_id}


def test_nobody_may_hold_or_erase_by_default() -> None:
    stack = make_stack()
    CallRecording(stack, "Recording", phone_numbers=["+12065550100"])
    template = Template.from_stack(stack)
    allowed = {
        action
        for kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
        for policy in template.find_resources(kind).values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in _actions(statement)
    }
    assert allowed
    assert not allowed & {
        "s3:PutObjectLegalHold",
        "s3:GetObjectRetention",
        "s3:DeleteObjectVersion",
        "s3:ListBucketVersions",
        "transcribe:DeleteCallAnalyticsJob",
        "transcribe:DeleteTranscriptionJob",
        "dynamodb:DeleteItem",
    }
    outputs = template.find_outputs("*")
    [name] = [k for k in outputs if "CatalogEventBusName" in k]
    assert outputs[name]["Value"] == "default"
