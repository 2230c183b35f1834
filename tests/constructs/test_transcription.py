"""Post-call transcription: options validation, the function, roles, rule, outputs and grants."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from hypothesis import given
from hypothesis import strategies as st

from cdk_recording import (
    CallRecording,
    RecordingCatalog,
    RecordingConfigurationError,
    RecordingEncryption,
    RecordingStorage,
    RecordingTranscription,
    TranscriptionOptions,
)
from cdk_recording._transcription_options import (
    CALL_ANALYTICS_LANGUAGES,
    DEFAULT_PII_ENTITY_TYPES,
    PII_ENTITY_TYPES,
    STANDARD_LANGUAGES,
)
from tests.constructs.conftest import ACCOUNT, make_stack

# -- options ------------------------------------------------------------------------------------------


def _problems(options: TranscriptionOptions) -> str:
    with pytest.raises(RecordingConfigurationError) as raised:
        options.raise_if_invalid("Test")
    return str(raised.value)


def test_default_options_are_valid_and_redact_the_pci_set() -> None:
    options = TranscriptionOptions()
    options.raise_if_invalid("Test")
    assert options.to_config() == {
        "languageCode": "en-US",
        "identifyLanguage": False,
        "languageOptions": [],
        "callAnalytics": True,
        "redaction": {
            "entityTypes": [
                "CREDIT_DEBIT_NUMBER",
                "CREDIT_DEBIT_CVV",
                "CREDIT_DEBIT_EXPIRY",
                "PIN",
                "BANK_ACCOUNT_NUMBER",
                "BANK_ROUTING",
                "SSN",
            ],
            "output": "redacted",
        },
        "vocabularyName": None,
        "summarization": False,
        "outputPrefix": "transcripts",
    }


def test_keep_unredacted_asks_for_both_outputs() -> None:
    config = TranscriptionOptions(keep_unredacted=True).to_config()
    assert config["redaction"]["output"] == "redacted_and_unredacted"


def test_redaction_off_sends_no_redaction() -> None:
    assert TranscriptionOptions(redaction=False).to_config()["redaction"] is None


def test_unknown_language_names_option_value_and_a_close_match() -> None:
    message = _problems(TranscriptionOptions(language_code="en-us"))
    assert "transcription.language_code='en-us'" in message
    assert "batch language code" in message
    assert "did you mean 'en-US'" in message


def test_identify_language_conflicts_with_a_language_code() -> None:
    message = _problems(TranscriptionOptions(identify_language=True, redaction=False))
    assert "transcription.language_code='en-US': conflicts with identify_language=True" in message


def test_no_language_and_no_identification_is_an_error() -> None:
    message = _problems(TranscriptionOptions(language_code=None))
    assert "language_code=None: is required unless identify_language=True" in message


def test_language_options_need_identification_and_valid_codes() -> None:
    message = _problems(TranscriptionOptions(language_options=["en-US", "xx-XX"]))
    assert "transcription.language_options=['en-US', 'xx-XX']: applies only with" in message
    assert "transcription.language_options[1]='xx-XX'" in message


@pytest.mark.parametrize(
    ("candidates", "shown"),
    [
        ([], "[]"),
        (["en-US"], "['en-US']"),
        (
            ["en-US", "es-US", "fr-FR", "de-DE", "it-IT", "ja-JP"],
            "['en-US', 'es-US', 'fr-FR', 'de-DE', 'it-IT', 'ja-JP']",
        ),
    ],
)
def test_identification_needs_two_to_five_language_options(
    candidates: list[str], shown: str
) -> None:
    message = _problems(
        TranscriptionOptions(
            language_code=None,
            identify_language=True,
            language_options=candidates,
            redaction=False,
        )
    )
    assert (
        f"transcription.language_options={shown}: must list 2 to 5 language codes with "
        f"identify_language=True (it has {len(candidates)})"
    ) in message


def test_identification_with_redaction_is_refused() -> None:
    message = _problems(
        TranscriptionOptions(language_code=None, identify_language=True, language_options=["en-US"])
    )
    assert "transcription.identify_language=True: cannot be combined with redaction=True" in message


def test_identification_without_redaction_is_valid() -> None:
    TranscriptionOptions(
        language_code=None,
        identify_language=True,
        language_options=["en-US", "es-US"],
        redaction=False,
    ).raise_if_invalid("Test")


def test_entity_types_come_from_the_api_enum() -> None:
    message = _problems(TranscriptionOptions(pii_entity_types=["CREDIT_CARD", "SSN", "SSN"]))
    assert "transcription.pii_entity_types[0]='CREDIT_CARD': must be one of" in message
    assert "transcription.pii_entity_types[2]='SSN': is listed twice" in message


def test_all_must_stand_alone_and_an_empty_list_is_refused() -> None:
    assert "give ['ALL'] alone" in _problems(TranscriptionOptions(pii_entity_types=["ALL", "SSN"]))
    assert "at least one entity type" in _problems(TranscriptionOptions(pii_entity_types=[]))


def test_redaction_settings_without_redaction_are_errors() -> None:
    message = _problems(
        TranscriptionOptions(redaction=False, pii_entity_types=["SSN"], keep_unredacted=True)
    )
    assert "transcription.pii_entity_types=['SSN']: applies only with redaction=True" in message
    assert "transcription.keep_unredacted=True: applies only with redaction=True" in message


def test_serving_unredacted_needs_an_unredacted_output() -> None:
    message = _problems(TranscriptionOptions(serve_redacted=False))
    assert "transcription.serve_redacted=False: needs keep_unredacted=True" in message
    TranscriptionOptions(serve_redacted=False, keep_unredacted=True).raise_if_invalid("Test")


def test_standard_redaction_is_limited_to_its_languages() -> None:
    message = _problems(TranscriptionOptions(call_analytics=False, language_code="de-DE"))
    assert "transcription.language_code='de-DE': with redaction=True must be en-US or es-US" in (
        message
    )


def test_redaction_in_a_language_no_job_can_redact_is_refused() -> None:
    # nl-NL has no Call Analytics: every job is a standard job, whose redaction would fail.
    message = _problems(TranscriptionOptions(language_code="nl-NL"))
    assert "transcription.language_code='nl-NL': with redaction=True must be en-US or es-US" in (
        message
    )
    TranscriptionOptions(language_code="nl-NL", redaction=False).raise_if_invalid("Test")


@pytest.mark.parametrize("language", sorted(CALL_ANALYTICS_LANGUAGES - {"en-US", "es-US"}))
def test_redaction_in_a_call_analytics_language_warns_of_the_failing_fallbacks(
    language: str,
) -> None:
    options = TranscriptionOptions(language_code=language)
    options.raise_if_invalid("Test")
    (note,) = [n for n in options.notes() if n.startswith("redaction with")]
    assert f"language_code={language!r}" in note
    for fallback in ("mono tracks", "unknown agent/customer roles", "files over 500 MB"):
        assert fallback in note


@pytest.mark.parametrize("language", ["en-US", "es-US"])
def test_redaction_in_a_batch_redaction_language_needs_no_warning(language: str) -> None:
    assert TranscriptionOptions(language_code=language).notes() == []
    TranscriptionOptions(language_code=language, call_analytics=False).raise_if_invalid("Test")


@pytest.mark.parametrize("name", ["bad name", "", "x" * 201, "ünicode"])
def test_vocabulary_name_follows_the_api_pattern(name: str) -> None:
    message = _problems(TranscriptionOptions(vocabulary_name=name))
    assert f"transcription.vocabulary_name={name!r}: must be 1-200 characters" in message


def test_summarization_needs_call_analytics() -> None:
    message = _problems(TranscriptionOptions(call_analytics=False, summarization=True))
    assert "transcription.summarization=True: needs call_analytics=True" in message


@pytest.mark.parametrize("value", [0, 101, 2.5, True])
def test_backfill_concurrency_is_1_to_100(value: Any) -> None:
    message = _problems(TranscriptionOptions(backfill_concurrency=value))
    assert (
        f"transcription.backfill_concurrency={value!r}: must be a whole number from 1 to 100"
        in (message)
    )


def test_all_problems_are_reported_together() -> None:
    message = _problems(
        TranscriptionOptions(language_code="xx", vocabulary_name="a b", backfill_concurrency=0)
    )
    assert message.count("\n  - ") == 3


def test_misspelt_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="contentRedaction"):
        TranscriptionOptions(contentRedaction=True)  # type: ignore[call-arg]


def test_options_are_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError):
        TranscriptionOptions("en-US")  # type: ignore[misc]
    options = TranscriptionOptions()
    with pytest.raises(AttributeError):
        options.redaction = False  # type: ignore[misc]


def test_from_mapping_rejects_unknown_keys_with_a_suggestion() -> None:
    with pytest.raises(RecordingConfigurationError) as raised:
        TranscriptionOptions.from_mapping({"contentRedaction": False, "languageCode": "en-GB"})
    message = str(raised.value)
    assert "contentRedaction=False: is not an option; did you mean 'redaction'?" in message
    assert "languageCode='en-GB': is not an option; did you mean 'language_code'?" in message


def test_from_mapping_builds_and_validates_options() -> None:
    options = TranscriptionOptions.from_mapping(
        {"language_code": "en-GB", "pii_entity_types": ["SSN", "PIN"], "keep_unredacted": True}
    )
    assert options.language_code == "en-GB"
    assert options.pii_entity_types == ("SSN", "PIN")
    with pytest.raises(RecordingConfigurationError, match="backfill_concurrency=500"):
        TranscriptionOptions.from_mapping({"backfill_concurrency": 500})


def test_language_and_entity_lists_match_the_installed_botocore_model() -> None:
    model = botocore.session.get_session().get_service_model("transcribe")
    assert set(model.shape_for("LanguageCode").enum) == STANDARD_LANGUAGES
    assert set(model.shape_for("PiiEntityType").enum) == PII_ENTITY_TYPES
    assert CALL_ANALYTICS_LANGUAGES <= STANDARD_LANGUAGES
    assert set(DEFAULT_PII_ENTITY_TYPES) <= PII_ENTITY_TYPES


def test_language_call_analytics_lacks_is_a_synth_warning() -> None:
    notes = TranscriptionOptions(language_code="nl-NL", redaction=False).notes()
    assert any("is not a post-call Call Analytics language" in n for n in notes)
    assert TranscriptionOptions().notes() == []


# -- the construct ------------------------------------------------------------------------------------


def _build(**options: Any) -> tuple[Template, CallRecording]:
    stack = make_stack()
    recording = CallRecording(stack, "Recording", **options)
    return Template.from_stack(stack), recording


@pytest.fixture(scope="module")
def built() -> tuple[Template, CallRecording]:
    return _build(transcription=TranscriptionOptions(keep_unredacted=True))


@pytest.fixture(scope="module")
def template(built: tuple[Template, CallRecording]) -> Template:
    return built[0]


def _logical_id(template: Template, resource_type: str, fragment: str) -> str:
    ids = [k for k in template.find_resources(resource_type) if fragment in k]
    assert len(ids) == 1, ids
    return ids[0]


def _managed_statements(template: Template, fragment: str) -> dict[str, dict[str, Any]]:
    policy_id = _logical_id(template, "AWS::IAM::ManagedPolicy", fragment)
    policy = template.find_resources("AWS::IAM::ManagedPolicy")[policy_id]
    return {s.get("Sid", ""): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def test_transcription_is_off_by_default() -> None:
    template, recording = _build()
    assert recording.transcription is None
    machines = template.find_resources("AWS::StepFunctions::StateMachine")
    assert not [k for k in machines if "Transcription" in k]


def test_transcription_needs_the_catalog() -> None:
    with pytest.raises(RecordingConfigurationError, match=r"transcription='TranscriptionOptions'"):
        CallRecording(
            make_stack(), "Recording", catalog=False, transcription=TranscriptionOptions()
        )


def test_call_recording_validates_the_options_with_the_other_options() -> None:
    with pytest.raises(RecordingConfigurationError) as raised:
        CallRecording(
            make_stack(),
            "Recording",
            phone_numbers=["12065550100"],
            transcription=TranscriptionOptions(vocabulary_name="a b"),
        )
    assert "phone_numbers[0]" in str(raised.value)
    assert "transcription.vocabulary_name='a b'" in str(raised.value)


def test_function_runs_the_contract_handler_with_its_configuration(template: Template) -> None:
    function_id = _logical_id(template, "AWS::Lambda::Function", "TranscriptionFunction")
    function = template.find_resources("AWS::Lambda::Function")[function_id]["Properties"]
    assert function["Handler"] == "recording_processor.transcription.handler.handler"
    assert function["TracingConfig"] == {"Mode": "Active"}
    variables = function["Environment"]["Variables"]
    assert set(variables) == {
        "TRANSCRIPTION",
        "DATA_ACCESS_ROLE_ARN",
        "CATALOG_TABLE",
        "RECORDING_BUCKET",
        "RECORDING_PREFIX",
        "EVENT_BUS",
        "METRICS_NAMESPACE",
        "APPLICATION",
    }
    assert (
        json.loads(variables["TRANSCRIPTION"])
        == TranscriptionOptions(keep_unredacted=True).to_config()
    )
    assert variables["RECORDING_PREFIX"] == "recordings"
    assert "DataAccessRole" in variables["DATA_ACCESS_ROLE_ARN"]["Fn::GetAtt"][0]


def test_function_shares_the_catalog_processor_asset(template: Template) -> None:
    functions = template.find_resources("AWS::Lambda::Function")
    keys = {
        f["Properties"]["Code"]["S3Key"]
        for k, f in functions.items()
        if "Catalog" in k or "Transcription" in k
    }
    assert len(keys) == 1


def test_data_access_role_is_for_transcribe_in_this_account_only(template: Template) -> None:
    role_id = _logical_id(template, "AWS::IAM::Role", "TranscriptionDataAccessRole")
    role = template.find_resources("AWS::IAM::Role")[role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            "Effect": "Allow",
            "Principal": {"Service": "transcribe.amazonaws.com"},
        }
    ]
    assert "Policies" not in role


def test_data_access_role_reads_recordings_and_writes_only_transcripts(
    template: Template,
) -> None:
    statements = _managed_statements(template, "TranscriptionDataAccessRolePolicy")
    assert set(statements) == {"ReadRecordings", "WriteTranscripts", "ListRecordingsAndTranscripts"}
    assert statements["ReadRecordings"]["Action"] == "s3:GetObject"
    assert statements["ReadRecordings"]["Resource"]["Fn::Join"][1][1] == "/recordings/*"
    assert statements["WriteTranscripts"]["Action"] == "s3:PutObject"
    assert statements["WriteTranscripts"]["Resource"]["Fn::Join"][1][1] == "/transcripts/*"
    assert statements["ListRecordingsAndTranscripts"]["Condition"] == {
        "StringLike": {"s3:prefix": ["recordings/*", "transcripts/*"]}
    }
    for statement in statements.values():
        assert "Delete" not in json.dumps(statement["Action"])


def test_function_may_start_and_read_jobs_pass_only_the_data_role_and_write_the_catalog(
    template: Template,
) -> None:
    statements = _managed_statements(template, "TranscriptionFunctionRolePolicy")
    assert statements["TranscribeJobs"]["Action"] == [
        "transcribe:StartCallAnalyticsJob",
        "transcribe:StartTranscriptionJob",
        "transcribe:GetCallAnalyticsJob",
        "transcribe:GetTranscriptionJob",
        "transcribe:DeleteCallAnalyticsJob",
        "transcribe:DeleteTranscriptionJob",
    ]
    assert statements["TranscribeJobs"]["Resource"] == "*"
    assert statements["PassDataAccessRole"]["Action"] == "iam:PassRole"
    assert statements["PassDataAccessRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "transcribe.amazonaws.com"}
    }
    assert "DataAccessRole" in statements["PassDataAccessRole"]["Resource"]["Fn::GetAtt"][0]
    assert statements["CatalogItems"]["Action"] == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    assert statements["PutTranscriptionEvents"]["Condition"] == {
        "StringEquals": {"events:source": "cdk-recording"}
    }
    assert not any(a.startswith("s3:") for s in statements.values() for a in _actions(s))


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def test_kms_storage_adds_key_statements_through_s3_and_dynamodb_only() -> None:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage", encryption=RecordingEncryption.KMS)
    CallRecording(stack, "Recording", storage=storage, transcription=TranscriptionOptions())
    template = Template.from_stack(stack)
    data = _managed_statements(template, "TranscriptionDataAccessRolePolicy")
    assert data["RecordingKey"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert data["RecordingKey"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    }
    function = _managed_statements(template, "TranscriptionFunctionRolePolicy")
    assert function["CatalogKey"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}
    }
    assert function["TranscriptKey"]["Action"] == [
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:DescribeKey",
    ]
    function_id = _logical_id(template, "AWS::Lambda::Function", "TranscriptionFunction")
    variables = template.find_resources("AWS::Lambda::Function")[function_id]["Properties"][
        "Environment"
    ]["Variables"]
    assert "StorageKey" in variables["OUTPUT_KMS_KEY_ID"]["Fn::GetAtt"][0]


def test_rule_starts_the_machine_for_recording_available_of_this_bucket(
    template: Template,
) -> None:
    rule_id = _logical_id(template, "AWS::Events::Rule", "TranscriptionTriggerRule")
    rule = template.find_resources("AWS::Events::Rule")[rule_id]["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["cdk-recording"]
    assert pattern["detail-type"] == ["Recording Available"]
    assert "StorageBucket" in pattern["detail"]["bucket"][0]["Ref"]
    target = rule["Targets"][0]
    assert target["InputPath"] == "$.detail"
    assert "TranscriptionStateMachine" in target["Arn"]["Ref"]
    assert "TriggerDeadLetters" in target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert "TriggerRole" in target["RoleArn"]["Fn::GetAtt"][0]
    statements = _managed_statements(template, "TranscriptionTriggerRolePolicy")
    assert statements["StartTranscription"]["Action"] == "states:StartExecution"
    assert "TranscriptionStateMachine" in statements["StartTranscription"]["Resource"]["Ref"]


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("TranscriptionStateMachineArn", "TranscriptionStateMachine"),
        ("TranscriptionBackfillStateMachineArn", "TranscriptionBackfillStateMachine"),
    ],
)
def test_state_machine_arns_are_stack_outputs(template: Template, name: str, fragment: str) -> None:
    outputs = template.find_outputs("*")
    keys = [k for k in outputs if name in k]
    assert len(keys) == 1
    assert fragment in outputs[keys[0]]["Value"]["Ref"]


def test_grant_read_transcripts_serves_redacted_output_only() -> None:
    stack = make_stack()
    recording = CallRecording(
        stack, "Recording", transcription=TranscriptionOptions(keep_unredacted=True)
    )
    transcription = recording.transcription
    assert transcription is not None
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    unredacted = iam.Role(stack, "UnredactedReader", assumed_by=iam.AccountRootPrincipal())
    transcription.grant_read_transcripts(reader)
    transcription.grant_read_unredacted(unredacted)
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")

    def resources(fragment: str) -> list[str]:
        policy = next(p for k, p in policies.items() if k.startswith(fragment))
        statement = policy["Properties"]["PolicyDocument"]["Statement"][0]
        assert statement["Action"] == "s3:GetObject"
        return [statement["Resource"]["Fn::Join"][1][1]]

    assert resources("ReaderDefaultPolicy") == ["/transcripts/*/redacted-*"]
    assert resources("UnredactedReaderDefaultPolicy") == ["/transcripts/*"]


def test_without_redaction_the_served_transcripts_are_all_outputs() -> None:
    stack = make_stack()
    recording = CallRecording(
        stack, "Recording", transcription=TranscriptionOptions(redaction=False)
    )
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    assert recording.transcription is not None
    recording.transcription.grant_read_transcripts(reader)
    policy = next(
        p
        for k, p in Template.from_stack(stack).find_resources("AWS::IAM::Policy").items()
        if k.startswith("ReaderDefaultPolicy")
    )
    statement = policy["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Resource"]["Fn::Join"][1][1] == "/transcripts/*"


def test_standalone_construct_refuses_a_catalog_of_other_storage() -> None:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage")
    other = RecordingStorage(stack, "Other", recording_prefix="elsewhere")
    catalog = RecordingCatalog(stack, "Catalog", storage=other)
    with pytest.raises(RecordingConfigurationError, match=r"catalog='TestStack/Catalog': catalogs"):
        RecordingTranscription(
            stack, "Transcription", storage=storage, catalog=catalog, options=TranscriptionOptions()
        )


def test_language_fallback_is_a_synth_warning() -> None:
    stack = make_stack()
    CallRecording(
        stack,
        "Recording",
        transcription=TranscriptionOptions(language_code="nl-NL", redaction=False),
    )
    warnings = [
        m
        for m in stack.node.find_child("Recording").node.find_child("Transcription").node.metadata
        if m.type == "aws:cdk:warning"
    ]
    assert any("not a post-call Call Analytics language" in str(w.data) for w in warnings)


def test_configuration_is_what_the_runtime_accepts_and_lists_agree() -> None:
    """The runtime parses the TRANSCRIPTION JSON strictly (unknown keys are errors)."""
    runtime = pytest.importorskip("recording_processor.transcription._options")
    for options in (
        TranscriptionOptions(),
        TranscriptionOptions(keep_unredacted=True, summarization=True, vocabulary_name="v1"),
        TranscriptionOptions(
            language_code=None,
            identify_language=True,
            language_options=["en-US", "es-US"],
            redaction=False,
        ),
    ):
        runtime.parse_options(json.dumps(options.to_config()))
    assert runtime.CALL_ANALYTICS_LANGUAGES == CALL_ANALYTICS_LANGUAGES
    assert runtime.PII_ENTITY_TYPES == PII_ENTITY_TYPES


_FIELDS = set(TranscriptionOptions.__dataclass_fields__)


@given(
    key=st.text(
        alphabet=st.characters(categories=["L", "N", "Pc"]), min_size=1, max_size=30
    ).filter(lambda k: k not in _FIELDS),
    value=st.one_of(st.booleans(), st.integers(), st.text(max_size=10)),
)
def test_from_mapping_never_accepts_an_unknown_key(key: str, value: object) -> None:
    with pytest.raises(RecordingConfigurationError) as raised:
        TranscriptionOptions.from_mapping({key: value, "redaction": True})
    assert f"{key}={value!r}: is not an option; " in str(raised.value)
