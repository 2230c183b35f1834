"""RecordingCatalog: the table, the three paths into it, and who may do what."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from recording_processor.schema import create_table_arguments

from cdk_recording import (
    CallRecording,
    RecordingCatalog,
    RecordingConfigurationError,
    RecordingEncryption,
    RecordingStorage,
)
from tests.constructs.conftest import make_stack


def _recording(**options: Any) -> tuple[Template, CallRecording]:
    stack = make_stack()
    recording = CallRecording(stack, "Recording", phone_numbers=["+12065550100"], **options)
    return Template.from_stack(stack), recording


@pytest.fixture(scope="module")
def default() -> Template:
    return _recording()[0]


@pytest.fixture(scope="module")
def kms_encrypted() -> Template:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage", encryption=RecordingEncryption.KMS)
    CallRecording(stack, "Recording", storage=storage)
    return Template.from_stack(stack)


def _one(template: Template, resource_type: str, props: Any = None) -> dict[str, Any]:
    found = template.find_resources(resource_type, {"Properties": props} if props else None)
    assert len(found) == 1, sorted(found)
    return next(iter(found.values()))


def _logical_id(template: Template, resource_type: str, fragment: str) -> str:
    ids = [k for k in template.find_resources(resource_type) if fragment in k]
    assert len(ids) == 1, ids
    return ids[0]


def _policy_statements(template: Template, fragment: str) -> list[dict[str, Any]]:
    policy_id = _logical_id(template, "AWS::IAM::ManagedPolicy", fragment)
    policy = template.find_resources("AWS::IAM::ManagedPolicy")[policy_id]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def _by_sid(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements}


# -- the table -------------------------------------------------------------------------------------


def test_table_matches_the_runtime_schema(default: Template) -> None:
    table = _one(default, "AWS::DynamoDB::Table")
    props = table["Properties"]
    expected = create_table_arguments("ignored")
    assert props["KeySchema"] == expected["KeySchema"]
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        expected["AttributeDefinitions"], key=lambda a: a["AttributeName"]
    )
    indexes = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}
    assert indexes == {i["IndexName"]: i for i in expected["GlobalSecondaryIndexes"]}
    assert props["BillingMode"] == "PAY_PER_REQUEST"


def test_table_is_recoverable_and_retained(default: Template) -> None:
    table = _one(default, "AWS::DynamoDB::Table")
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True
    }
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_table_and_facts_queue_use_the_recording_key_when_storage_uses_kms(
    kms_encrypted: Template,
) -> None:
    key_id = _logical_id(kms_encrypted, "AWS::KMS::Key", "StorageKey")
    table = _one(kms_encrypted, "AWS::DynamoDB::Table")
    assert table["Properties"]["SSESpecification"] == {
        "KMSMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
        "SSEEnabled": True,
        "SSEType": "KMS",
    }
    facts = kms_encrypted.find_resources("AWS::SQS::Queue")
    for logical_id, queue in facts.items():
        if "Facts" in logical_id:
            assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    # The handler may encrypt facts with the key, only through SQS.
    handler = _by_sid(_policy_statements(kms_encrypted, "HandlerRolePolicy"))
    assert handler["EncryptCallFacts"]["Condition"]["StringEquals"]["kms:ViaService"] == (
        "sqs.us-east-1.amazonaws.com"
    )


def test_queues_are_encrypted_and_tls_only_without_a_key(default: Template) -> None:
    queues = default.find_resources("AWS::SQS::Queue")
    assert len(queues) == 4
    for queue in queues.values():
        assert queue["Properties"].get("SqsManagedSseEnabled") is True
    policies = default.find_resources("AWS::SQS::QueuePolicy")
    assert len(policies) == 4
    for policy in policies.values():
        denies = [
            s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"
        ]
        assert denies
        assert denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# -- arrival -----------------------------------------------------------------------------------------


def test_bucket_sends_events_to_eventbridge_without_a_custom_resource(default: Template) -> None:
    bucket_id = _logical_id(default, "AWS::S3::Bucket", "StorageBucket")
    bucket = default.find_resources("AWS::S3::Bucket")[bucket_id]
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    assert not default.find_resources("Custom::S3BucketNotifications")


def test_arrival_rule_selects_created_recordings_under_the_prefix(default: Template) -> None:
    bucket_id = _logical_id(default, "AWS::S3::Bucket", "StorageBucket")
    rule = _one(default, "AWS::Events::Rule", {"EventPattern": Match.any_value()})
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [{"Ref": bucket_id}]},
            "object": {"key": [{"prefix": "recordings/"}]},
        },
    }
    [target] = rule["Properties"]["Targets"]
    queue_id = _logical_id(default, "AWS::SQS::Queue", "ArrivalQueue")
    dlq_id = _logical_id(default, "AWS::SQS::Queue", "ArrivalDeadLetters")
    assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}}


@pytest.mark.parametrize("name", ["ArrivalQueue", "FactsQueue"])
def test_queues_redrive_to_a_dead_letter_queue_after_five_receives(
    default: Template, name: str
) -> None:
    queue_id = _logical_id(default, "AWS::SQS::Queue", name)
    queue = default.find_resources("AWS::SQS::Queue")[queue_id]
    policy = queue["Properties"]["RedrivePolicy"]
    assert policy["maxReceiveCount"] == 5
    assert "DeadLetters" in json.dumps(policy["deadLetterTargetArn"])
    # At least six times the function's timeout, as AWS recommends for SQS event sources.
    function_name = name.removesuffix("Queue")
    function_id = _logical_id(default, "AWS::Lambda::Function", f"Catalog{function_name}Function")
    function = default.find_resources("AWS::Lambda::Function")[function_id]
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * function["Properties"]["Timeout"]


def test_event_sources_report_partial_batch_failures(default: Template) -> None:
    mappings = default.find_resources("AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 2
    for mapping in mappings.values():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


# -- permissions ----------------------------------------------------------------------------------


def test_arrival_reads_only_recordings_and_writes_only_its_table_and_bus(
    default: Template,
) -> None:
    bucket_id = _logical_id(default, "AWS::S3::Bucket", "StorageBucket")
    table_id = _logical_id(default, "AWS::DynamoDB::Table", "CatalogTable")
    statements = _by_sid(_policy_statements(default, "ArrivalRolePolicy"))
    read = statements["ReadRecordings"]
    assert sorted(_actions(read)) == ["s3:GetObject", "s3:GetObjectVersion"]
    assert read["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/recordings/*"]]
    }
    items = statements["CatalogItems"]
    assert sorted(_actions(items)) == [
        "dynamodb:ConditionCheckItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
    ]
    assert items["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}
    put = statements["PutCatalogEvents"]
    assert _actions(put) == ["events:PutEvents"]
    assert put["Condition"] == {"StringEquals": {"events:source": "cdk-recording"}}
    assert "event-bus/default" in json.dumps(put["Resource"])


def test_facts_and_sweep_have_no_s3_access(default: Template) -> None:
    for fragment in ("FactsRolePolicy", "SweepRolePolicy"):
        for statement in _policy_statements(default, fragment):
            assert not any(a.startswith("s3:") for a in _actions(statement)), statement


def test_facts_consumer_writes_only_the_table_itself(default: Template) -> None:
    table_id = _logical_id(default, "AWS::DynamoDB::Table", "CatalogTable")
    items = _by_sid(_policy_statements(default, "FactsRolePolicy"))["CatalogItems"]
    assert sorted(_actions(items)) == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ]
    assert items["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}


def test_sweep_queries_only_the_pending_index(default: Template) -> None:
    statements = _by_sid(_policy_statements(default, "SweepRolePolicy"))
    query = statements["OverdueRecordings"]
    assert _actions(query) == ["dynamodb:Query"]
    assert "/index/byPending" in json.dumps(query["Resource"])


def test_nothing_in_the_stack_may_delete_recordings(default: Template) -> None:
    documents = [
        p["Properties"]["PolicyDocument"]
        for kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
        for p in default.find_resources(kind).values()
    ]
    allowed = [
        action
        for document in documents
        for statement in document["Statement"]
        if statement["Effect"] == "Allow"
        for action in _actions(statement)
    ]
    assert allowed, "no policies found"
    assert not [a for a in allowed if a.startswith("s3:Delete") or a in ("s3:*", "*")]


def test_catalog_roles_have_no_inline_policies(default: Template) -> None:
    for logical_id, policy in default.find_resources("AWS::IAM::Policy").items():
        roles = json.dumps(policy["Properties"].get("Roles", []))
        assert "Catalog" not in roles, logical_id


def test_handler_may_only_send_call_facts(default: Template) -> None:
    queue_id = _logical_id(default, "AWS::SQS::Queue", "FactsQueue")
    statements = _policy_statements(default, "HandlerRolePolicy")
    send = _by_sid(statements)["SendCallFacts"]
    assert _actions(send) == ["sqs:SendMessage"]
    assert send["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert not [s for s in statements for a in _actions(s) if a.startswith(("s3:", "dynamodb:"))]
    handler_id = _logical_id(default, "AWS::Lambda::Function", "HandlerFunction")
    handler = default.find_resources("AWS::Lambda::Function")[handler_id]
    variables = handler["Properties"]["Environment"]["Variables"]
    assert variables["SMA_RECORDING_FACTS_QUEUE_URL"] == {"Ref": queue_id}


def test_functions_get_their_configuration(default: Template) -> None:
    table_id = _logical_id(default, "AWS::DynamoDB::Table", "CatalogTable")
    bucket_id = _logical_id(default, "AWS::S3::Bucket", "StorageBucket")
    handlers = {
        "recording_processor.handler.handler",
        "recording_processor.handler.facts_handler",
        "recording_processor.handler.sweep_handler",
    }
    seen = set()
    for function in default.find_resources("AWS::Lambda::Function").values():
        if function["Properties"].get("Handler") not in handlers:
            continue
        seen.add(function["Properties"]["Handler"])
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["CATALOG_TABLE"] == {"Ref": table_id}
        assert variables["RECORDING_BUCKET"] == {"Ref": bucket_id}
        assert variables["RECORDING_PREFIX"] == "recordings"
        assert variables["EVENT_BUS"] == "default"
        assert variables["GRACE_MINUTES"] == "15"
        assert variables["MAX_CALL_HOURS"] == "24"
        assert variables["APPLICATION"] == "TestStack/Recording/Handler"
    assert seen == handlers


def test_sweep_runs_on_a_schedule(default: Template) -> None:
    rule = _one(default, "AWS::Events::Rule", {"ScheduleExpression": Match.any_value()})
    assert rule["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    sweep_id = _logical_id(default, "AWS::Lambda::Function", "SweepFunction")
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [sweep_id, "Arn"]}


def test_catalog_table_name_is_a_stack_output(default: Template) -> None:
    outputs = default.find_outputs("*")
    names = [k for k in outputs if "CatalogTableName" in k]
    assert len(names) == 1


# -- options ----------------------------------------------------------------------------------------


def test_catalog_can_be_turned_off() -> None:
    template, recording = _recording(catalog=False)
    assert recording.catalog is None
    assert not template.find_resources("AWS::DynamoDB::Table")
    assert not template.find_resources("AWS::SQS::Queue")
    bucket_id = _logical_id(template, "AWS::S3::Bucket", "StorageBucket")
    bucket = template.find_resources("AWS::S3::Bucket")[bucket_id]
    assert "NotificationConfiguration" not in bucket["Properties"]
    handler_id = _logical_id(template, "AWS::Lambda::Function", "HandlerFunction")
    handler = template.find_resources("AWS::Lambda::Function")[handler_id]
    assert "SMA_RECORDING_FACTS_QUEUE_URL" not in handler["Properties"]["Environment"]["Variables"]


def test_catalog_options_without_the_catalog_are_an_error() -> None:
    with pytest.raises(RecordingConfigurationError, match=r"missing_after.*catalog=True"):
        _recording(catalog=False, missing_after=cdk.Duration.minutes(30))


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("missing_after", cdk.Duration.seconds(30), "whole number of minutes, 1 to 1440"),
        ("missing_after", cdk.Duration.days(2), "whole number of minutes, 1 to 1440"),
        ("max_call_duration", cdk.Duration.minutes(90), "whole number of hours, 1 to 48"),
        ("max_call_duration", cdk.Duration.hours(72), "whole number of hours, 1 to 48"),
    ],
    ids=["30s", "2d", "90min", "72h"],
)
def test_durations_are_checked_at_synth(option: str, value: cdk.Duration, message: str) -> None:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage")
    with pytest.raises(RecordingConfigurationError, match=rf"{option}.*{message}"):
        RecordingCatalog(stack, "Catalog", storage=storage, **{option: value})


def test_missing_after_reaches_the_functions() -> None:
    template, _ = _recording(missing_after=cdk.Duration.minutes(45))
    sweep_id = _logical_id(template, "AWS::Lambda::Function", "SweepFunction")
    sweep = template.find_resources("AWS::Lambda::Function")[sweep_id]
    assert sweep["Properties"]["Environment"]["Variables"]["GRACE_MINUTES"] == "45"


def test_events_go_to_the_bus_given() -> None:
    stack = make_stack()
    bus = events.EventBus(stack, "Bus", event_bus_name="calls")
    CallRecording(stack, "Recording", event_bus=bus)
    template = Template.from_stack(stack)
    bus_id = _logical_id(template, "AWS::Events::EventBus", "Bus")
    put = _by_sid(_policy_statements(template, "ArrivalRolePolicy"))["PutCatalogEvents"]
    assert put["Resource"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    arrival_id = _logical_id(template, "AWS::Lambda::Function", "ArrivalFunction")
    arrival = template.find_resources("AWS::Lambda::Function")[arrival_id]
    assert arrival["Properties"]["Environment"]["Variables"]["EVENT_BUS"] == {"Ref": bus_id}


def test_an_imported_bucket_gets_a_warning_to_turn_on_eventbridge() -> None:
    stack = make_stack()
    bucket = s3.Bucket.from_bucket_name(stack, "Imported", "existing-recordings")
    storage = RecordingStorage(stack, "Storage", bucket=bucket)
    RecordingCatalog(stack, "Catalog", storage=storage)
    warnings = Annotations.from_stack(stack).find_warning(
        "/TestStack/Storage", Match.string_like_regexp("EventBridge notifications")
    )
    assert len(warnings) == 1


def test_a_bucket_of_the_app_passed_in_gets_eventbridge_on() -> None:
    stack = make_stack()
    bucket = s3.Bucket(stack, "Mine", versioned=True)
    storage = RecordingStorage(stack, "Storage", bucket=bucket)
    RecordingCatalog(stack, "Catalog", storage=storage)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {"NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}},
    )


@pytest.mark.parametrize("role", ["ArrivalRolePolicy", "FactsRolePolicy", "SweepRolePolicy"])
def test_every_catalog_function_may_use_the_table_key_through_dynamodb_only(
    kms_encrypted: Template, role: str
) -> None:
    key_id = _logical_id(kms_encrypted, "AWS::KMS::Key", "StorageKey")
    statement = _by_sid(_policy_statements(kms_encrypted, role))["CatalogKey"]
    assert sorted(_actions(statement)) == [
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey",
    ]
    assert statement["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert statement["Condition"] == {
        "StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}
    }


def test_no_key_statement_without_a_customer_key(default: Template) -> None:
    for role in ("ArrivalRolePolicy", "FactsRolePolicy", "SweepRolePolicy"):
        assert "CatalogKey" not in _by_sid(_policy_statements(default, role))


def test_arrival_takes_one_recording_per_invocation(default: Template) -> None:
    queue_id = _logical_id(default, "AWS::SQS::Queue", "ArrivalQueue")
    mapping = _one(
        default,
        "AWS::Lambda::EventSourceMapping",
        {"EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]}},
    )
    assert mapping["Properties"]["BatchSize"] == 1


def test_a_bucket_with_cdk_notifications_gets_eventbridge_through_them() -> None:
    """aws-cdk-lib's notifications resource rewrites the whole configuration after deploy."""
    from aws_cdk import aws_s3_notifications as notifications
    from aws_cdk import aws_sqs as sqs

    stack = make_stack()
    bucket = s3.Bucket(stack, "Mine", versioned=True)
    bucket.add_event_notification(
        s3.EventType.OBJECT_REMOVED, notifications.SqsDestination(sqs.Queue(stack, "Removed"))
    )
    storage = RecordingStorage(stack, "Storage", bucket=bucket)
    RecordingCatalog(stack, "Catalog", storage=storage)
    template = Template.from_stack(stack)
    [notification] = template.find_resources("Custom::S3BucketNotifications").values()
    assert notification["Properties"]["NotificationConfiguration"]["EventBridgeConfiguration"] == {}


def test_a_handler_of_your_own_gets_no_facts_queue_or_permission() -> None:
    """The wrapper sends no call facts, so it gets neither the variable nor SendMessage."""
    from aws_cdk import aws_lambda as lambda_

    stack = make_stack()
    function = lambda_.Function(
        stack,
        "Mine",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): return {}"),
    )
    CallRecording(stack, "Recording", handler=function)
    template = Template.from_stack(stack)
    mine = _one(
        template,
        "AWS::Lambda::Function",
        {"Handler": "index.handler", "Code": {"ZipFile": Match.any_value()}},
    )
    assert "SMA_RECORDING_FACTS_QUEUE_URL" not in mine["Properties"]["Environment"]["Variables"]
    assert "sqs:SendMessage" not in json.dumps(template.find_resources("AWS::IAM::Policy"))
