"""Options of post-call transcription, validated at synth, and the runtime's ``TRANSCRIPTION`` JSON.

Every setting is a keyword-only field, so a misspelled one is a ``TypeError`` in the app, never a
silent no-op; :meth:`TranscriptionOptions.from_mapping` (for ``cdk.json`` context) rejects unknown
keys and names the closest option. (An AWS user once lost redaction to ``contentRedaction`` spelt in
lower case: the service ignored the key.)

The language and entity lists below are the one place the library keeps them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from cdk_recording._defaults import TRANSCRIPTS_PREFIX
from cdk_recording._validation import Problems, is_token

__all__ = [
    "CALL_ANALYTICS_LANGUAGES",
    "DEFAULT_PII_ENTITY_TYPES",
    "PII_ENTITY_TYPES",
    "REDACTION_LANGUAGES",
    "STANDARD_LANGUAGES",
    "TranscriptionOptions",
]

#: Batch (``StartTranscriptionJob``) language codes: the ``LanguageCode`` enum of the botocore
#: ``transcribe`` 2017-10-26 model (botocore 1.44.8, read 2026-12-04; a test compares it with the
#: installed botocore). https://docs.aws.amazon.com/transcribe/latest/dg/supported-languages.html
STANDARD_LANGUAGES: frozenset[str] = frozenset(
    [
        "ab-GE",
        "af-ZA",
        "am-ET",
        "ar-AE",
        "ar-SA",
        "ast-ES",
        "az-AZ",
        "ba-RU",
        "be-BY",
        "bg-BG",
        "bn-IN",
        "bs-BA",
        "ca-ES",
        "ckb-IQ",
        "ckb-IR",
        "cs-CZ",
        "cy-GB",
        "cy-WL",
        "da-DK",
        "de-CH",
        "de-DE",
        "el-GR",
        "en-AB",
        "en-AU",
        "en-GB",
        "en-IE",
        "en-IN",
        "en-NZ",
        "en-US",
        "en-WL",
        "en-ZA",
        "es-ES",
        "es-MX",
        "es-US",
        "et-EE",
        "et-ET",
        "eu-ES",
        "fa-AF",
        "fa-IR",
        "fi-FI",
        "fr-CA",
        "fr-FR",
        "ga-IE",
        "gd-GB",
        "gl-ES",
        "gu-IN",
        "ha-NG",
        "he-IL",
        "hi-IN",
        "hr-HR",
        "ht-HT",
        "hu-HU",
        "hy-AM",
        "id-ID",
        "is-IS",
        "it-IT",
        "ja-JP",
        "jv-ID",
        "ka-GE",
        "kab-DZ",
        "kk-KZ",
        "km-KH",
        "kn-IN",
        "ko-KR",
        "ky-KG",
        "lg-IN",
        "lt-LT",
        "lv-LV",
        "mhr-RU",
        "mi-NZ",
        "mk-MK",
        "ml-IN",
        "mn-MN",
        "mr-IN",
        "ms-MY",
        "mt-MT",
        "my-MM",
        "ne-NP",
        "nl-NL",
        "no-NO",
        "or-IN",
        "pa-IN",
        "pl-PL",
        "ps-AF",
        "pt-BR",
        "pt-PT",
        "ro-RO",
        "ru-RU",
        "rw-RW",
        "si-LK",
        "sk-SK",
        "sl-SI",
        "so-SO",
        "sq-AL",
        "sr-RS",
        "su-ID",
        "sv-SE",
        "sw-BI",
        "sw-KE",
        "sw-RW",
        "sw-TZ",
        "sw-UG",
        "ta-IN",
        "te-IN",
        "th-TH",
        "tl-PH",
        "tr-TR",
        "tt-RU",
        "ug-CN",
        "uk-UA",
        "uz-UZ",
        "vi-VN",
        "wo-SN",
        "zh-CN",
        "zh-HK",
        "zh-TW",
        "zu-ZA",
    ]
)

#: Post-call Call Analytics (``StartCallAnalyticsJob``) languages: the "Call Analytics" column of
#: the supported-languages table, https://docs.aws.amazon.com/transcribe/latest/dg/supported-languages.html
#: (as published in awsdocs/amazon-transcribe-developer-guide ``doc_source/supported-languages.md``,
#: commit 18d081de, read 2026-12-04; the live page confirms ``ar-AE`` as post-call). A language
#: outside this list is transcribed with a standard job (catalog ``fallbackReason: language``).
CALL_ANALYTICS_LANGUAGES: frozenset[str] = frozenset(
    [
        "ar-AE",
        "de-CH",
        "de-DE",
        "en-AB",
        "en-AU",
        "en-GB",
        "en-IE",
        "en-IN",
        "en-US",
        "en-WL",
        "es-ES",
        "es-US",
        "fr-CA",
        "fr-FR",
        "hi-IN",
        "it-IT",
        "ja-JP",
        "ko-KR",
        "pt-BR",
        "pt-PT",
        "zh-CN",
    ]
)

#: Batch PII redaction covers US English and US Spanish only, and not with language
#: identification: https://docs.aws.amazon.com/transcribe/latest/dg/pii-redaction-batch.html
#: (read 2026-12-04). Post-call Call Analytics redaction languages are not confirmed beyond en-US.
REDACTION_LANGUAGES: frozenset[str] = frozenset({"en-US", "es-US"})

#: ``PiiEntityType`` enum of the botocore ``transcribe`` model (botocore 1.44.8, read 2026-12-04).
PII_ENTITY_TYPES: frozenset[str] = frozenset(
    [
        "ADDRESS",
        "AGE",
        "ALL",
        "AWS_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "BANK_ACCOUNT_NUMBER",
        "BANK_ROUTING",
        "CA_HEALTH_NUMBER",
        "CA_SOCIAL_INSURANCE_NUMBER",
        "CREDIT_DEBIT_CVV",
        "CREDIT_DEBIT_EXPIRY",
        "CREDIT_DEBIT_NUMBER",
        "DATE_TIME",
        "DRIVER_ID",
        "EMAIL",
        "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
        "IP_ADDRESS",
        "LICENSE_PLATE",
        "MAC_ADDRESS",
        "NAME",
        "PASSPORT_NUMBER",
        "PASSWORD",
        "PHONE",
        "PIN",
        "SSN",
        "SWIFT_CODE",
        "URL",
        "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
        "USERNAME",
        "VEHICLE_IDENTIFICATION_NUMBER",
    ]
)

#: The payment and identity types relevant to PCI DSS: card number, CVV, expiry, PIN, bank
#: account and routing numbers, and the US Social Security number.
DEFAULT_PII_ENTITY_TYPES: tuple[str, ...] = (
    "CREDIT_DEBIT_NUMBER",
    "CREDIT_DEBIT_CVV",
    "CREDIT_DEBIT_EXPIRY",
    "PIN",
    "BANK_ACCOUNT_NUMBER",
    "BANK_ROUTING",
    "SSN",
)

#: ``VocabularyName`` in the API model: 1-200 characters of ``[0-9a-zA-Z._-]``.
_VOCABULARY_NAME = re.compile(r"^[0-9a-zA-Z._-]{1,200}$")
#: Concurrent Call Analytics jobs: 100 by default per account and Region (quota, adjustable).
_MAX_BACKFILL_CONCURRENCY = 100


#: How many candidate languages identification takes (Transcribe asks for two or more and
#: advises against more than five; the runtime enforces the same).
_MIN_LANGUAGE_OPTIONS = 2
_MAX_LANGUAGE_OPTIONS = 5


@dataclass(frozen=True, kw_only=True)
class TranscriptionOptions:
    """How recordings are transcribed after delivery (Amazon Transcribe; it costs per audio minute).

    :param language_code: the language spoken. Default: ``en-US``. Set ``None`` with
        ``identify_language=True``.
    :param identify_language: let Transcribe identify the language (give ``language_options`` to
        narrow it). Default: false.
    :param language_options: candidate languages for identification: 2 to 5 with
        ``identify_language=True``, none otherwise. Default: none.
    :param call_analytics: use Call Analytics (agent/customer roles, sentiment, redacted audio)
        where the recording is stereo and the language is supported; otherwise a standard job.
        Default: true.
    :param redaction: redact PII from the transcript (and, with Call Analytics, the audio).
        Default: true.
    :param pii_entity_types: the entity types redacted. Default: the PCI set
        (:data:`DEFAULT_PII_ENTITY_TYPES`).
    :param serve_redacted: ``grant_read_transcripts`` serves only redacted output; false also
        serves the unredacted transcript (needs ``keep_unredacted=True``). Default: true.
    :param keep_unredacted: keep an unredacted transcript too (``redacted_and_unredacted``),
        readable only through ``grant_read_unredacted``. Default: false (only redacted output).
    :param vocabulary_name: a custom vocabulary of this account and Region. Default: none.
    :param summarization: generative call summary (Call Analytics only). Default: false.
    :param backfill_concurrency: recordings transcribed at once by the backfill state machine
        (1 to 100; the default quota is 100 concurrent Call Analytics jobs). Default: 50.
    """

    language_code: str | None = "en-US"
    identify_language: bool = False
    language_options: Sequence[str] = ()
    call_analytics: bool = True
    redaction: bool = True
    pii_entity_types: Sequence[str] = field(default=DEFAULT_PII_ENTITY_TYPES)
    serve_redacted: bool = True
    keep_unredacted: bool = False
    vocabulary_name: str | None = None
    summarization: bool = False
    backfill_concurrency: int = 50

    # -- construction from cdk.json context -----------------------------------------------------

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> TranscriptionOptions:
        """Options from a mapping (for example ``cdk.json`` context), keys as the field names.

        Unknown keys are an error naming each key and the closest option, so a misspelling can
        never switch a setting off silently. Values are validated as in the constructs.
        """
        names = [f.name for f in fields(cls)]
        problems = Problems()
        if not isinstance(mapping, Mapping):
            problems.add("transcription", mapping, "must be a mapping of option names to values")
            problems.raise_if_any("TranscriptionOptions.from_mapping")
        known: dict[str, Any] = {}
        for key, value in mapping.items():
            if key in names:
                known[key] = tuple(value) if isinstance(value, list) else value
                continue
            problems.add(str(key), value, f"is not an option; {_suggest(str(key), names)}")
        if problems:
            problems.raise_if_any("TranscriptionOptions.from_mapping")
        options = cls(**known)
        options.raise_if_invalid("TranscriptionOptions.from_mapping")
        return options

    # -- validation -------------------------------------------------------------------------------

    def raise_if_invalid(self, path: str, option: str = "transcription") -> None:
        """Raise :class:`RecordingConfigurationError` listing every problem of these options."""
        problems = Problems()
        self.validate(problems, option)
        problems.raise_if_any(path)

    def validate(self, problems: Problems, option: str = "transcription") -> None:
        """Add every problem with these options to ``problems`` (names prefixed ``option.``)."""

        def name(field_name: str) -> str:
            return f"{option}.{field_name}"

        for flag in (
            "identify_language",
            "call_analytics",
            "redaction",
            "serve_redacted",
            "keep_unredacted",
            "summarization",
        ):
            if not isinstance(getattr(self, flag), bool):
                problems.add(name(flag), getattr(self, flag), "must be True or False")
        language = self.language_code
        if (
            language is not None
            and not is_token(language)
            and (not isinstance(language, str) or language not in STANDARD_LANGUAGES)
        ):
            problems.add(
                name("language_code"),
                language,
                f"must be a batch language code of Amazon Transcribe, such as en-US or "
                f"es-US{_close(language, STANDARD_LANGUAGES)}",
            )
        if self.identify_language is True and language is not None:
            problems.add(
                name("language_code"),
                language,
                "conflicts with identify_language=True; set language_code=None",
            )
        if self.identify_language is False and language is None:
            problems.add(
                name("language_code"),
                None,
                "is required unless identify_language=True (a language code such as en-US)",
            )
        self._validate_language_options(problems, name("language_options"))
        self._validate_redaction(problems, name)
        vocabulary = self.vocabulary_name
        if (
            vocabulary is not None
            and not is_token(vocabulary)
            and (not isinstance(vocabulary, str) or not _VOCABULARY_NAME.match(vocabulary))
        ):
            problems.add(
                name("vocabulary_name"),
                vocabulary,
                "must be 1-200 characters of letters, digits, '.', '_' and '-' (^[0-9a-zA-Z._-]+$)",
            )
        if self.summarization is True and self.call_analytics is not True:
            problems.add(
                name("summarization"),
                True,
                "needs call_analytics=True (generative summaries exist only in Call Analytics)",
            )
        concurrency = self.backfill_concurrency
        if (
            isinstance(concurrency, bool)
            or not isinstance(concurrency, int)
            or not 1 <= concurrency <= _MAX_BACKFILL_CONCURRENCY
        ):
            problems.add(
                name("backfill_concurrency"),
                concurrency,
                f"must be a whole number from 1 to {_MAX_BACKFILL_CONCURRENCY} (the default "
                "quota of concurrent Call Analytics jobs is 100 per account and Region)",
            )

    def _validate_language_options(self, problems: Problems, option: str) -> None:
        candidates = self.language_options
        if isinstance(candidates, str) or not isinstance(candidates, Sequence):
            problems.add(option, candidates, "must be a list of language codes, such as ['en-US']")
            return
        if candidates and self.identify_language is not True:
            problems.add(option, list(candidates), "applies only with identify_language=True")
        count = len(candidates)
        if self.identify_language is True and not (
            _MIN_LANGUAGE_OPTIONS <= count <= _MAX_LANGUAGE_OPTIONS
        ):
            # Transcribe: "two or more language codes ... more than five is not recommended".
            problems.add(
                option,
                list(candidates),
                f"must list {_MIN_LANGUAGE_OPTIONS} to {_MAX_LANGUAGE_OPTIONS} language codes "
                f"with identify_language=True (it has {count})",
            )
        seen: set[str] = set()
        for index, code in enumerate(candidates):
            if is_token(code):
                continue
            if not isinstance(code, str) or code not in STANDARD_LANGUAGES:
                problems.add(
                    f"{option}[{index}]",
                    code,
                    f"must be a batch language code of Amazon Transcribe"
                    f"{_close(code, STANDARD_LANGUAGES)}",
                )
            elif code in seen:
                problems.add(f"{option}[{index}]", code, "is listed twice")
            if isinstance(code, str):
                seen.add(code)

    def _validate_redaction(self, problems: Problems, name: Callable[[str], str]) -> None:
        types = self.pii_entity_types
        if self.redaction is not True:
            if tuple(types) != DEFAULT_PII_ENTITY_TYPES:
                problems.add(
                    name("pii_entity_types"), list(types), "applies only with redaction=True"
                )
            if self.keep_unredacted is True:
                problems.add(name("keep_unredacted"), True, "applies only with redaction=True")
            if self.serve_redacted is False:
                problems.add(
                    name("serve_redacted"),
                    False,
                    "applies only with redaction=True (without redaction every transcript is "
                    "unredacted)",
                )
            return
        if isinstance(types, str) or not isinstance(types, Sequence):
            problems.add(
                name("pii_entity_types"), types, "must be a list of entity types, such as ['SSN']"
            )
        elif not types:
            problems.add(
                name("pii_entity_types"),
                [],
                "must name at least one entity type (['ALL'] redacts every type Transcribe knows)",
            )
        else:
            seen: set[str] = set()
            for index, entity in enumerate(types):
                if not isinstance(entity, str) or entity not in PII_ENTITY_TYPES:
                    problems.add(
                        f"{name('pii_entity_types')}[{index}]",
                        entity,
                        f"must be one of {', '.join(sorted(PII_ENTITY_TYPES))}"
                        f"{_close(entity, PII_ENTITY_TYPES)}",
                    )
                elif entity in seen:
                    problems.add(f"{name('pii_entity_types')}[{index}]", entity, "is listed twice")
                if isinstance(entity, str):
                    seen.add(entity)
            if "ALL" in seen and len(types) > 1:
                problems.add(
                    name("pii_entity_types"),
                    list(types),
                    "'ALL' already covers every type; give ['ALL'] alone",
                )
        if self.serve_redacted is False and self.keep_unredacted is not True:
            problems.add(
                name("serve_redacted"),
                False,
                "needs keep_unredacted=True (with redacted output only there is no unredacted "
                "transcript to serve)",
            )
        if self.identify_language is True:
            problems.add(
                name("identify_language"),
                True,
                "cannot be combined with redaction=True: batch PII redaction needs a fixed "
                "language (en-US or es-US)",
            )
        elif (
            isinstance(self.language_code, str)
            and not is_token(self.language_code)
            and self.language_code in STANDARD_LANGUAGES
            and self.language_code not in REDACTION_LANGUAGES
            and not (self.call_analytics is True and self.language_code in CALL_ANALYTICS_LANGUAGES)
        ):
            # Every job of such a language is a standard job, whose redaction fails at run time.
            problems.add(
                name("language_code"),
                self.language_code,
                "with redaction=True must be en-US or es-US (the languages batch PII redaction "
                "supports), or a Call Analytics language with call_analytics=True "
                f"({', '.join(sorted(CALL_ANALYTICS_LANGUAGES))}), or set redaction=False",
            )

    # -- what the constructs and the runtime read -------------------------------------------------

    def notes(self) -> list[str]:
        """Warnings about valid options that behave in a way worth knowing at synth."""
        found: list[str] = []
        language = self.language_code
        if (
            self.call_analytics
            and isinstance(language, str)
            and not is_token(language)
            and language in STANDARD_LANGUAGES
            and language not in CALL_ANALYTICS_LANGUAGES
        ):
            found.append(
                f"language_code={language!r} is not a post-call Call Analytics language: every "
                "recording gets a standard transcription job (no agent/customer roles, no "
                "redacted audio; catalog fallbackReason 'language')"
            )
        if (
            self.call_analytics
            and self.redaction
            and isinstance(language, str)
            and not is_token(language)
            and language in CALL_ANALYTICS_LANGUAGES
            and language not in REDACTION_LANGUAGES
        ):
            found.append(
                f"redaction with language_code={language!r}: recordings that fall back to a "
                "standard job (mono tracks, unknown agent/customer roles, files over 500 MB) "
                f"fail, since batch PII redaction supports only en-US and es-US, not "
                f"{language}; record both tracks of known legs or set redaction=False"
            )
        return found

    @property
    def redaction_output(self) -> str | None:
        """``RedactionOutput`` of the jobs: ``redacted``, ``redacted_and_unredacted`` or None."""
        if not self.redaction:
            return None
        return "redacted_and_unredacted" if self.keep_unredacted else "redacted"

    def to_config(self) -> dict[str, Any]:
        """The runtime's ``TRANSCRIPTION`` environment JSON (the transcription contract)."""
        output = self.redaction_output
        return {
            "languageCode": self.language_code,
            "identifyLanguage": self.identify_language,
            "languageOptions": list(self.language_options),
            "callAnalytics": self.call_analytics,
            "redaction": (
                None
                if output is None
                else {"entityTypes": list(self.pii_entity_types), "output": output}
            ),
            "vocabularyName": self.vocabulary_name,
            "summarization": self.summarization,
            "outputPrefix": TRANSCRIPTS_PREFIX,
        }


def _suggest(key: str, names: Sequence[str]) -> str:
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
    if snake in names:
        return f"did you mean {snake!r}?"
    close = difflib.get_close_matches(snake, names, n=1, cutoff=0.6) or difflib.get_close_matches(
        key.lower(), names, n=1, cutoff=0.5
    )
    if close:
        return f"did you mean {close[0]!r}?"
    return f"the options are {', '.join(names)}"


def _close(value: object, allowed: frozenset[str]) -> str:
    if not isinstance(value, str):
        return ""
    same = [a for a in sorted(allowed) if a.lower() == value.lower()]
    close = same or difflib.get_close_matches(value, sorted(allowed), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
