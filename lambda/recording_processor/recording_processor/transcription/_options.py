"""The transcription function's configuration: the ``TRANSCRIPTION`` JSON and the environment.

``TRANSCRIPTION`` (written by the construct's ``TranscriptionOptions``)::

    {"languageCode": "en-US" | null, "identifyLanguage": false, "languageOptions": [],
     "callAnalytics": true,
     "redaction": {"entityTypes": ["CREDIT_DEBIT_NUMBER", ...],
                   "output": "redacted" | "redacted_and_unredacted"} | null,
     "vocabularyName": null, "summarization": false,
     "outputPrefix": "transcripts"}

Unknown keys are an error, never ignored: a misspelt ``contentRedaction`` once cost an AWS user
their redaction (reference post-call.md §2.1). Every problem is named in one :class:`OptionsError`
with the option, the value and what is allowed.

There is no ``categories`` option (an unknown key, so an error): Call Analytics categories are
account-level resources (``CreateCallAnalyticsCategory``) that Transcribe applies to every Call
Analytics job started after they exist; ``StartCallAnalyticsJob`` has no per-job category setting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from recording_processor._config import (
    DEFAULT_APPLICATION,
    DEFAULT_BUS,
    DEFAULT_NAMESPACE,
    retention_from_environ,
)
from recording_processor._keys import recording_folder
from recording_processor._retention import RetentionPolicy

__all__ = [
    "CALL_ANALYTICS_LANGUAGES",
    "DEFAULT_PII_ENTITY_TYPES",
    "PII_ENTITY_TYPES",
    "REDACTION_OUTPUTS",
    "OptionsError",
    "Redaction",
    "TranscriptionConfig",
    "TranscriptionOptions",
    "parse_options",
]

#: Post-call Call Analytics languages: the "Call Analytics" column of
#: https://docs.aws.amazon.com/transcribe/latest/dg/supported-languages.html (read 2026-12-04).
#: A language outside it gets a standard job (``fallbackReason: "language"``).
CALL_ANALYTICS_LANGUAGES: Final = frozenset(
    {
        "ar-AE", "de-CH", "de-DE", "en-AB", "en-AU", "en-GB", "en-IE", "en-IN", "en-US", "en-WL",
        "es-ES", "es-US", "fr-CA", "fr-FR", "hi-IN", "it-IT", "ja-JP", "ko-KR", "pt-BR", "pt-PT",
        "zh-CN",
    }
)  # fmt: skip

#: ``PiiEntityType`` of the botocore ``transcribe`` 2017-10-26 model (botocore 1.44.8).
PII_ENTITY_TYPES: Final = frozenset(
    {
        "BANK_ACCOUNT_NUMBER", "BANK_ROUTING", "CREDIT_DEBIT_NUMBER", "CREDIT_DEBIT_CVV",
        "CREDIT_DEBIT_EXPIRY", "PIN", "EMAIL", "ADDRESS", "NAME", "PHONE", "SSN", "DATE_TIME",
        "PASSPORT_NUMBER", "DRIVER_ID", "URL", "AGE", "USERNAME", "PASSWORD", "AWS_ACCESS_KEY",
        "AWS_SECRET_KEY", "IP_ADDRESS", "MAC_ADDRESS", "LICENSE_PLATE",
        "VEHICLE_IDENTIFICATION_NUMBER", "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
        "CA_HEALTH_NUMBER", "CA_SOCIAL_INSURANCE_NUMBER", "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
        "SWIFT_CODE", "ALL",
    }
)  # fmt: skip

#: The payment and identity types relevant to PCI DSS: card number, CVV, expiry, PIN, bank
#: account and routing numbers, US Social Security number.
DEFAULT_PII_ENTITY_TYPES: Final = (
    "CREDIT_DEBIT_NUMBER",
    "CREDIT_DEBIT_CVV",
    "CREDIT_DEBIT_EXPIRY",
    "PIN",
    "BANK_ACCOUNT_NUMBER",
    "BANK_ROUTING",
    "SSN",
)
#: ``RedactionOutput`` values of the API model.
REDACTION_OUTPUTS: Final = ("redacted", "redacted_and_unredacted")

_KEYS: Final = (
    "languageCode",
    "identifyLanguage",
    "languageOptions",
    "callAnalytics",
    "redaction",
    "vocabularyName",
    "summarization",
    "outputPrefix",
)
_REDACTION_KEYS: Final = ("entityTypes", "output")
_LANGUAGE = re.compile(r"[a-z]{2,3}-[A-Z]{2}")
#: ``VocabularyName`` in the API model.
_NAME = re.compile(r"[0-9a-zA-Z._-]{1,200}")
#: Characters ``OutputKey`` allows, minus ``/`` at either end (the runtime adds the slashes).
_PREFIX = re.compile(r"[a-zA-Z0-9\-_.!*'()]+(?:/[a-zA-Z0-9\-_.!*'()]+)*")
_ROLE_ARN = re.compile(
    r"arn:(aws|aws-cn|aws-us-gov|aws-iso-?[a-z]?):iam::[0-9]{0,63}:role/[A-Za-z0-9:_/+=,@.-]{0,1024}"
)
_MIN_LANGUAGE_OPTIONS = 2
_MAX_LANGUAGE_OPTIONS = 5
_LANGUAGE_OPTIONS: Final = range(_MIN_LANGUAGE_OPTIONS, _MAX_LANGUAGE_OPTIONS + 1)
_DEFAULT_LANGUAGE = "en-US"
_DEFAULT_PREFIX = "transcripts"


class OptionsError(ValueError):
    """The configuration is invalid; the message names every problem."""


@dataclass(frozen=True)
class Redaction:
    """``ContentRedaction`` of the jobs: PII entity types and what is written."""

    entity_types: tuple[str, ...] = DEFAULT_PII_ENTITY_TYPES
    output: str = "redacted"

    @property
    def keeps_unredacted(self) -> bool:
        return self.output == "redacted_and_unredacted"

    def request(self) -> dict[str, Any]:
        """The API's ``ContentRedaction`` structure."""
        return {
            "RedactionType": "PII",
            "RedactionOutput": self.output,
            "PiiEntityTypes": list(self.entity_types),
        }

    def as_item(self) -> dict[str, Any]:
        """The catalog's ``redaction`` map."""
        return {"entityTypes": list(self.entity_types), "output": self.output}


@dataclass(frozen=True)
class TranscriptionOptions:
    """What the ``TRANSCRIPTION`` JSON asks for (see the module docstring for its keys)."""

    language_code: str | None = _DEFAULT_LANGUAGE
    identify_language: bool = False
    language_options: tuple[str, ...] = ()
    call_analytics: bool = True
    redaction: Redaction | None = None
    vocabulary_name: str | None = None
    summarization: bool = False
    output_prefix: str = _DEFAULT_PREFIX

    @property
    def call_analytics_language(self) -> bool:
        """Whether every language a job may be in is a post-call Call Analytics language."""
        if self.identify_language:
            return all(code in CALL_ANALYTICS_LANGUAGES for code in self.language_options)
        return self.language_code in CALL_ANALYTICS_LANGUAGES


def parse_options(text: str | None) -> TranscriptionOptions:
    """Read the ``TRANSCRIPTION`` JSON.

    Absent or empty is refused, never read as the defaults: the runtime's defaults have no
    redaction, the construct's redact, so a lost variable would silently transcribe unredacted.
    ``{}`` asks for the runtime's defaults explicitly.

    :raises OptionsError: absent or empty, not JSON, not an object, an unknown key or an
        invalid value.
    """
    if text is None or not text.strip():
        raise OptionsError(
            f"TRANSCRIPTION is {text!r}; allowed: the transcription options as a JSON object "
            "(the construct sets it; an absent variable is not read as no redaction)"
        )
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise OptionsError(f"TRANSCRIPTION is not JSON: {error}") from None
    if not isinstance(raw, dict):
        raise OptionsError(f"TRANSCRIPTION is {type(raw).__name__}; allowed: a JSON object")
    problems: list[str] = []

    def problem(option: str, value: object, allowed: str) -> None:
        problems.append(f"TRANSCRIPTION.{option} is {value!r}; allowed: {allowed}")

    for key in sorted(set(raw) - set(_KEYS)):
        problem(key, raw[key], f"no such option (the options are {', '.join(_KEYS)})")
    identify = _flag(raw, "identifyLanguage", False, problem)
    call_analytics = _flag(raw, "callAnalytics", True, problem)
    summarization = _flag(raw, "summarization", False, problem)
    language = raw.get("languageCode", None if identify else _DEFAULT_LANGUAGE)
    if language is not None and (
        not isinstance(language, str) or not _LANGUAGE.fullmatch(language)
    ):
        problem("languageCode", language, "a language code such as 'en-US', or null")
        language = None
    if identify and language is not None:
        problem("languageCode", language, "null when identifyLanguage is true")
    if not identify and language is None and "languageCode" in raw:
        problem("languageCode", None, "a language code unless identifyLanguage is true")
    before = len(problems)
    options = _names(raw, "languageOptions", _LANGUAGE, "language codes such as 'en-US'", problem)
    if options and not identify:
        problem("languageOptions", list(options), "[] unless identifyLanguage is true")
    if identify and len(problems) == before and len(options) not in _LANGUAGE_OPTIONS:
        # Transcribe: "two or more language codes ... more than five is not recommended".
        problem(
            "languageOptions",
            list(options),
            f"{_MIN_LANGUAGE_OPTIONS} to {_MAX_LANGUAGE_OPTIONS} language codes when "
            "identifyLanguage is true",
        )
    vocabulary = raw.get("vocabularyName")
    if vocabulary is not None and (
        not isinstance(vocabulary, str) or not _NAME.fullmatch(vocabulary)
    ):
        problem("vocabularyName", vocabulary, "1-200 characters of [0-9a-zA-Z._-], or null")
        vocabulary = None
    if vocabulary is not None and identify:
        problem(
            "vocabularyName",
            vocabulary,
            "null when identifyLanguage is true (a vocabulary is of one language)",
        )
    if summarization and not call_analytics:
        problem(
            "summarization",
            True,
            "false unless callAnalytics is true (standard jobs have no summary)",
        )
    redaction = _redaction(raw.get("redaction"), problem)
    if redaction is not None and identify:
        problem(
            "redaction",
            redaction.as_item(),
            "null when identifyLanguage is true (batch redaction needs a fixed language)",
        )
    prefix = raw.get("outputPrefix", _DEFAULT_PREFIX)
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        problem(
            "outputPrefix", prefix, "a key prefix of [a-zA-Z0-9-_.!*'()] segments separated by '/'"
        )
        prefix = _DEFAULT_PREFIX
    if problems:
        raise OptionsError("; ".join(problems))
    return TranscriptionOptions(
        language_code=language,
        identify_language=identify,
        language_options=options,
        call_analytics=call_analytics,
        redaction=redaction,
        vocabulary_name=vocabulary,
        summarization=summarization,
        output_prefix=prefix,
    )


@dataclass(frozen=True)
class TranscriptionConfig:
    """Where the transcription function reads and writes, and what it asks Transcribe for.

    :param catalog_table: the catalog table (``CATALOG_TABLE``, required).
    :param recording_bucket: the recording bucket; outputs go there too (``RECORDING_BUCKET``,
        required).
    :param data_access_role_arn: the role Transcribe assumes to read the recording and write the
        outputs; passing it is what makes jobs queue past the concurrency quota instead of failing
        (``DATA_ACCESS_ROLE_ARN``, required).
    :param recording_prefix: the recordings' key prefix (``RECORDING_PREFIX``). Default: empty,
        the service's default folder.
    :param event_bus: bus of the ``Transcript Available`` / ``Transcription Failed`` events
        (``EVENT_BUS``). Default: ``default``.
    :param metrics_namespace: EMF namespace (``METRICS_NAMESPACE``). Default: ``CdkRecording``.
    :param application: the ``Application`` metric dimension (``APPLICATION``). Default:
        ``cdk-recording``.
    :param output_kms_key_id: ``OutputEncryptionKMSKeyId`` of the jobs (``OUTPUT_KMS_KEY_ID``):
        set it to the bucket's key for an SSE-KMS bucket, because without it Transcribe writes its
        outputs SSE-S3. Default: none.
    :param options: the ``TRANSCRIPTION`` JSON (required in the environment). Default: every
        default.
    :param retention: the arrival processor's Object Lock policy (``RETENTION``, the same JSON):
        its mode locks each transcript like its recording. Default: none, transcripts are not
        locked or tagged.
    """

    catalog_table: str
    recording_bucket: str
    data_access_role_arn: str
    recording_prefix: str = ""
    event_bus: str = DEFAULT_BUS
    metrics_namespace: str = DEFAULT_NAMESPACE
    application: str = DEFAULT_APPLICATION
    output_kms_key_id: str | None = None
    options: TranscriptionOptions = TranscriptionOptions()
    retention: RetentionPolicy | None = None

    @property
    def folder(self) -> str:
        return recording_folder(self.recording_prefix)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> TranscriptionConfig:
        """Read the environment; every problem is named in one :class:`OptionsError`."""
        problems = [
            f"{name} is not set"
            for name in ("CATALOG_TABLE", "RECORDING_BUCKET", "DATA_ACCESS_ROLE_ARN")
            if not environ.get(name, "").strip()
        ]
        role = environ.get("DATA_ACCESS_ROLE_ARN", "").strip()
        if role and not _ROLE_ARN.fullmatch(role):
            problems.append(f"DATA_ACCESS_ROLE_ARN is {role!r}; allowed: an IAM role ARN")
        try:
            options = parse_options(environ.get("TRANSCRIPTION"))
        except OptionsError as error:
            problems.append(str(error))
            options = TranscriptionOptions()
        retention = retention_from_environ(environ, problems)
        if problems:
            raise OptionsError("; ".join(problems))
        return cls(
            catalog_table=environ["CATALOG_TABLE"].strip(),
            recording_bucket=environ["RECORDING_BUCKET"].strip(),
            data_access_role_arn=role,
            recording_prefix=environ.get("RECORDING_PREFIX", "").strip().strip("/"),
            event_bus=environ.get("EVENT_BUS", "").strip() or DEFAULT_BUS,
            metrics_namespace=environ.get("METRICS_NAMESPACE", "").strip() or DEFAULT_NAMESPACE,
            application=environ.get("APPLICATION", "").strip() or DEFAULT_APPLICATION,
            output_kms_key_id=environ.get("OUTPUT_KMS_KEY_ID", "").strip() or None,
            options=options,
            retention=retention,
        )


def _flag(raw: Mapping[str, Any], option: str, default: bool, problem: Any) -> bool:
    value = raw.get(option, default)
    if not isinstance(value, bool):
        problem(option, value, "true or false")
        return default
    return value


def _names(
    raw: Mapping[str, Any], option: str, pattern: re.Pattern[str], what: str, problem: Any
) -> tuple[str, ...]:
    value = raw.get(option)
    if value is None:
        return ()
    if not isinstance(value, list):
        problem(option, value, f"a list of {what}")
        return ()
    bad = [v for v in value if not isinstance(v, str) or not pattern.fullmatch(v)]
    if bad:
        problem(option, value, f"a list of {what}")
        return ()
    if len(set(value)) != len(value):
        problem(option, value, "a list without repetitions")
        return ()
    return tuple(value)


def _redaction(value: object, problem: Any) -> Redaction | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problem("redaction", value, "null or an object with entityTypes and output")
        return None
    for key in sorted(set(value) - set(_REDACTION_KEYS)):
        problem(
            f"redaction.{key}",
            value[key],
            f"no such option (the options are {', '.join(_REDACTION_KEYS)})",
        )
    output = value.get("output", "redacted")
    if output not in REDACTION_OUTPUTS:
        problem("redaction.output", output, " or ".join(repr(o) for o in REDACTION_OUTPUTS))
        output = "redacted"
    types = value.get("entityTypes", list(DEFAULT_PII_ENTITY_TYPES))
    if not isinstance(types, list) or not types:
        problem(
            "redaction.entityTypes", types, "a non-empty list of PII entity types such as 'SSN'"
        )
        return None
    unknown = [t for t in types if not isinstance(t, str) or t not in PII_ENTITY_TYPES]
    if unknown:
        problem(
            "redaction.entityTypes",
            unknown,
            f"entity types of {', '.join(sorted(PII_ENTITY_TYPES))}",
        )
        return None
    if len(set(types)) != len(types):
        problem("redaction.entityTypes", types, "a list without repetitions")
        return None
    if "ALL" in types and len(types) > 1:
        problem("redaction.entityTypes", types, "['ALL'] alone (ALL covers every type)")
        return None
    return Redaction(entity_types=tuple(types), output=str(output))
