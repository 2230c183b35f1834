"""The ``TRANSCRIPTION`` JSON and the environment: every problem named, nothing ignored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from recording_processor.transcription._options import (
    DEFAULT_PII_ENTITY_TYPES,
    PII_ENTITY_TYPES,
    OptionsError,
    Redaction,
    TranscriptionConfig,
    TranscriptionOptions,
    parse_options,
)

from tests.transcription.conftest import ROLE

#: The construct's JSON for its defaults plus redaction (the contract's shape).
CONSTRUCT_JSON = {
    "languageCode": "en-US",
    "identifyLanguage": False,
    "languageOptions": [],
    "callAnalytics": True,
    "redaction": {"entityTypes": list(DEFAULT_PII_ENTITY_TYPES), "output": "redacted"},
    "vocabularyName": None,
    "summarization": False,
    "outputPrefix": "transcripts",
}


def parse(**values: Any) -> TranscriptionOptions:
    return parse_options(json.dumps(values))


def test_reads_the_constructs_json() -> None:
    options = parse_options(json.dumps(CONSTRUCT_JSON))
    assert options == TranscriptionOptions(
        redaction=Redaction(entity_types=DEFAULT_PII_ENTITY_TYPES, output="redacted")
    )


@pytest.mark.parametrize("text", [None, "", "  "])
def test_absent_json_is_refused_not_read_as_no_redaction(text: str | None) -> None:
    # The runtime's defaults have no redaction, the construct's redact: fail closed.
    with pytest.raises(OptionsError, match=r"^TRANSCRIPTION is .*; allowed: the transcription"):
        parse_options(text)


def test_empty_object_means_every_default() -> None:
    assert parse_options("{}") == TranscriptionOptions()


@pytest.mark.parametrize("value", [None, "", " "])
def test_environment_without_transcription_is_refused(value: str | None) -> None:
    environ = {k: v for k, v in ENVIRON.items() if k != "TRANSCRIPTION"}
    if value is not None:
        environ["TRANSCRIPTION"] = value
    with pytest.raises(OptionsError, match="TRANSCRIPTION is"):
        TranscriptionConfig.from_environ(environ)


def test_defaults_are_en_us_call_analytics_without_redaction() -> None:
    options = TranscriptionOptions()
    assert (options.language_code, options.call_analytics, options.redaction) == (
        "en-US",
        True,
        None,
    )
    assert options.output_prefix == "transcripts"


def test_default_entity_types_are_the_pci_set_and_in_the_api_enum() -> None:
    assert set(DEFAULT_PII_ENTITY_TYPES) == {
        "CREDIT_DEBIT_NUMBER",
        "CREDIT_DEBIT_CVV",
        "CREDIT_DEBIT_EXPIRY",
        "PIN",
        "BANK_ACCOUNT_NUMBER",
        "BANK_ROUTING",
        "SSN",
    }
    assert set(DEFAULT_PII_ENTITY_TYPES) <= PII_ENTITY_TYPES


def test_entity_type_list_matches_the_botocore_model() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("transcribe")
    assert set(model.shape_for("PiiEntityType").enum) == PII_ENTITY_TYPES


def test_redaction_without_entity_types_takes_the_defaults() -> None:
    options = parse(redaction={"output": "redacted_and_unredacted"})
    assert options.redaction == Redaction(DEFAULT_PII_ENTITY_TYPES, "redacted_and_unredacted")
    assert options.redaction.keeps_unredacted


def test_misspelt_key_is_rejected_not_ignored() -> None:
    with pytest.raises(OptionsError) as raised:
        parse(contentRedaction={"output": "redacted"})
    message = str(raised.value)
    assert "TRANSCRIPTION.contentRedaction" in message
    assert "no such option" in message
    assert "redaction" in message


def test_misspelt_redaction_key_is_rejected() -> None:
    with pytest.raises(OptionsError, match=r"TRANSCRIPTION\.redaction\.entitytypes"):
        parse(redaction={"entitytypes": ["SSN"], "output": "redacted"})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param({"languageCode": "english"}, "languageCode is 'english'", id="language"),
        pytest.param(
            {"identifyLanguage": "yes"},
            "identifyLanguage is 'yes'; allowed: true or false",
            id="flag",
        ),
        pytest.param({"callAnalytics": 1}, "callAnalytics is 1", id="flag-number"),
        pytest.param(
            {"languageCode": None},
            "languageCode is None; allowed: a language code unless",
            id="null-language",
        ),
        pytest.param(
            {"identifyLanguage": True, "languageCode": "en-US"},
            "null when identifyLanguage",
            id="both",
        ),
        pytest.param(
            {"languageOptions": ["en-US", "es-US"]},
            "[] unless identifyLanguage",
            id="options-alone",
        ),
        pytest.param(
            {"identifyLanguage": True, "languageOptions": ["en-US", "en-US"]},
            "without repetitions",
            id="repeated-option",
        ),
        pytest.param(
            {
                "identifyLanguage": True,
                "languageOptions": ["en-US", "es-US", "fr-FR", "de-DE", "it-IT", "ja-JP"],
            },
            "2 to 5 language codes when identifyLanguage is true",
            id="too-many",
        ),
        pytest.param(
            {"identifyLanguage": True},
            "languageOptions is []; allowed: 2 to 5 language codes when identifyLanguage is true",
            id="identify-without-options",
        ),
        pytest.param(
            {"identifyLanguage": True, "languageOptions": ["en-US"]},
            "languageOptions is ['en-US']; allowed: 2 to 5 language codes",
            id="identify-one-option",
        ),
        pytest.param(
            {"vocabularyName": "my vocabulary"},
            "vocabularyName is 'my vocabulary'",
            id="vocabulary",
        ),
        pytest.param(
            {"identifyLanguage": True, "vocabularyName": "v1"},
            "a vocabulary is of one language",
            id="vocabulary-identify",
        ),
        pytest.param(
            {"callAnalytics": False, "summarization": True},
            "standard jobs have no summary",
            id="summary",
        ),
        pytest.param(
            {"redaction": {"output": "masked"}},
            "redaction.output is 'masked'; allowed: 'redacted' or 'redacted_and_unredacted'",
            id="output",
        ),
        pytest.param(
            {"redaction": {"entityTypes": ["CREDIT_CARD"]}},
            "redaction.entityTypes is ['CREDIT_CARD']",
            id="entity",
        ),
        pytest.param({"redaction": {"entityTypes": []}}, "a non-empty list", id="no-entities"),
        pytest.param(
            {"redaction": {"entityTypes": ["ALL", "SSN"]}}, "['ALL'] alone", id="all-and-more"
        ),
        pytest.param({"redaction": "on"}, "redaction is 'on'", id="redaction-string"),
        pytest.param(
            {"identifyLanguage": True, "redaction": {"output": "redacted"}},
            "needs a fixed language",
            id="redaction-identify",
        ),
        pytest.param(
            {"outputPrefix": "/transcripts/"}, "outputPrefix is '/transcripts/'", id="prefix"
        ),
        pytest.param(
            {"categories": ["billing"]},
            "categories is ['billing']; allowed: no such option",
            id="categories-sent-nowhere",
        ),
    ],
)
def test_invalid_value_is_named_with_what_is_allowed(values: dict[str, Any], expected: str) -> None:
    with pytest.raises(OptionsError) as raised:
        parse(**values)
    assert expected in str(raised.value)


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(OptionsError) as raised:
        parse(languageCode="english", vocabularyName="a b", colour="blue")
    message = str(raised.value)
    assert all(name in message for name in ("languageCode", "vocabularyName", "colour"))


@pytest.mark.parametrize("text", ["{", "[]", '"en-US"'])
def test_json_that_is_not_an_object_is_rejected(text: str) -> None:
    with pytest.raises(OptionsError, match="TRANSCRIPTION"):
        parse_options(text)


def test_categories_are_not_an_option() -> None:
    # Sent nowhere (account-level resources): accepting them would promise what is not done.
    assert not hasattr(TranscriptionOptions(), "categories")
    with pytest.raises(OptionsError, match=r"TRANSCRIPTION\.categories is .*no such option"):
        parse(categories=[])


def test_identified_languages_must_all_be_call_analytics_languages() -> None:
    assert parse(identifyLanguage=True, languageOptions=["en-US", "es-US"]).call_analytics_language
    assert not parse(
        identifyLanguage=True, languageOptions=["en-US", "nl-NL"]
    ).call_analytics_language
    assert not parse(languageCode="nl-NL").call_analytics_language


ENVIRON = {
    "CATALOG_TABLE": "catalog",
    "RECORDING_BUCKET": "recordings",
    "DATA_ACCESS_ROLE_ARN": ROLE,
    "RECORDING_PREFIX": "/calls/",
    "TRANSCRIPTION": json.dumps(CONSTRUCT_JSON),
}


def test_environment_is_read() -> None:
    cfg = TranscriptionConfig.from_environ({**ENVIRON, "OUTPUT_KMS_KEY_ID": "alias/recordings"})
    assert (cfg.catalog_table, cfg.recording_bucket, cfg.recording_prefix) == (
        "catalog",
        "recordings",
        "calls",
    )
    assert cfg.event_bus == "default"
    assert cfg.output_kms_key_id == "alias/recordings"
    assert cfg.options.redaction is not None


def test_environment_problems_are_named_together() -> None:
    environ = {"TRANSCRIPTION": '{"languagecode": "en-US"}', "DATA_ACCESS_ROLE_ARN": "role"}
    with pytest.raises(OptionsError) as raised:
        TranscriptionConfig.from_environ(environ)
    message = str(raised.value)
    assert "CATALOG_TABLE is not set" in message
    assert "RECORDING_BUCKET is not set" in message
    assert "DATA_ACCESS_ROLE_ARN is 'role'; allowed: an IAM role ARN" in message
    assert "TRANSCRIPTION.languagecode" in message
