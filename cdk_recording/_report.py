"""Turn a CDK policy-validation report (``cdk.out/validation-report.json``) into a reviewer's page.

cdk-nag 3 runs each rule pack as a CDK policy-validation plugin. ``cdk synth`` writes every pack's
open findings (``violations``) and acknowledged findings (``suppressedViolations``, each with the
reason given to ``acknowledge``) to ``validation-report.json``. This module reads that file into
typed, read-only objects and renders them as Markdown or HTML: per pack, its conclusion, its open
findings (rule, severity, construct paths) and its acknowledgements with their reasons.

Every string from the report is escaped in both formats: reasons and construct ids are free text.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_REPORT_PATH",
    "Acknowledgement",
    "Finding",
    "PackReport",
    "ReportError",
    "ValidationReport",
    "load_report",
    "parse_report",
    "render_html",
    "render_markdown",
]

DEFAULT_REPORT_PATH = Path("cdk.out") / "validation-report.json"
_REPORT_FILE_NAME = DEFAULT_REPORT_PATH.name
_SUCCESS = "success"


class ReportError(ValueError):
    """The report file is missing, unreadable, not JSON, or not shaped like a validation report."""


@dataclass(frozen=True)
class Finding:
    """One open finding: a rule and the constructs that break it."""

    rule: str
    severity: str
    description: str
    construct_paths: tuple[str, ...]

    @property
    def count(self) -> int:
        """Findings this entry stands for: one per construct (one if the report names none)."""
        return max(1, len(self.construct_paths))


@dataclass(frozen=True)
class Acknowledgement:
    """A finding acknowledged in code, with the reason a reviewer reads."""

    rule: str
    severity: str
    description: str
    construct_paths: tuple[str, ...]
    reason: str
    acknowledged_id: str
    acknowledged_at: str

    @property
    def count(self) -> int:
        """Findings this acknowledgement covers: one per construct (one if the report names none)."""
        return max(1, len(self.construct_paths))


@dataclass(frozen=True)
class PackReport:
    """One rule pack (a policy-validation plugin) and what it concluded."""

    name: str
    conclusion: str
    findings: tuple[Finding, ...]
    acknowledgements: tuple[Acknowledgement, ...]

    @property
    def open_findings(self) -> int:
        """Open findings, one per rule and construct."""
        return sum(f.count for f in self.findings)

    @property
    def acknowledged(self) -> int:
        """Acknowledged findings, one per rule and construct."""
        return sum(a.count for a in self.acknowledgements)

    @property
    def passed(self) -> bool:
        """Whether the pack concluded success with nothing open."""
        return self.conclusion == _SUCCESS and not self.findings


@dataclass(frozen=True)
class ValidationReport:
    """A whole ``validation-report.json``."""

    title: str
    version: str
    packs: tuple[PackReport, ...]

    @property
    def open_findings(self) -> int:
        """Open findings across every pack."""
        return sum(p.open_findings for p in self.packs)

    @property
    def passed(self) -> bool:
        """Whether every pack passed.

        A report with no packs passes: CDK leaves out packs with nothing to report.
        """
        return all(p.passed for p in self.packs)


# -- parsing ---------------------------------------------------------------------------------------


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _object(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ReportError(f"{where}: expected an object, got {_type_name(value)}")
    return value


def _list(parent: Mapping[str, object], key: str, where: str, *, required: bool) -> list[object]:
    if key not in parent and not required:
        return []
    value = parent.get(key)
    if not isinstance(value, list):
        raise ReportError(f"{where}.{key}: expected a list, got {_type_name(value)}")
    return value


def _string(
    parent: Mapping[str, object], key: str, where: str, *, default: str | None = None
) -> str:
    if key not in parent and default is not None:
        return default
    value = parent.get(key)
    if not isinstance(value, str):
        raise ReportError(f"{where}.{key}: expected a string, got {_type_name(value)}")
    return value


def _construct_paths(violation: Mapping[str, object], where: str) -> tuple[str, ...]:
    constructs = _list(violation, "violatingConstructs", where, required=False)
    paths = []
    for index, raw in enumerate(constructs):
        at = f"{where}.violatingConstructs[{index}]"
        paths.append(_string(_object(raw, at), "constructPath", at))
    return tuple(paths)


def _finding(raw: object, where: str) -> Finding:
    violation = _object(raw, where)
    return Finding(
        rule=_string(violation, "ruleName", where),
        severity=_string(violation, "severity", where, default="unknown"),
        description=_string(violation, "description", where, default=""),
        construct_paths=_construct_paths(violation, where),
    )


def _acknowledgement(raw: object, where: str) -> Acknowledgement:
    violation = _object(raw, where)
    finding = _finding(violation, where)
    return Acknowledgement(
        rule=finding.rule,
        severity=finding.severity,
        description=finding.description,
        construct_paths=finding.construct_paths,
        reason=_string(violation, "reason", where, default=""),
        acknowledged_id=_string(violation, "acknowledgedId", where, default=finding.rule),
        acknowledged_at=_string(violation, "acknowledgedAt", where, default=""),
    )


def _pack(raw: object, where: str) -> PackReport:
    plugin = _object(raw, where)
    violations = _list(plugin, "violations", where, required=False)
    suppressed = _list(plugin, "suppressedViolations", where, required=False)
    return PackReport(
        name=_string(plugin, "pluginName", where),
        conclusion=_string(plugin, "conclusion", where),
        findings=tuple(_finding(v, f"{where}.violations[{i}]") for i, v in enumerate(violations)),
        acknowledgements=tuple(
            _acknowledgement(v, f"{where}.suppressedViolations[{i}]")
            for i, v in enumerate(suppressed)
        ),
    )


def parse_report(data: object) -> ValidationReport:
    """Read the decoded JSON of a validation report.

    Fields the renderers do not use (stack traces, construct types, library versions) are ignored;
    a missing description, severity or reason reads as empty, ``unknown`` and empty.

    :raises ReportError: naming the JSON path of the first field that has the wrong shape.
    """
    root = _object(data, "report")
    plugins = _list(root, "pluginReports", "report", required=True)
    return ValidationReport(
        title=_string(root, "title", "report", default="Validation Report"),
        version=_string(root, "version", "report", default=""),
        packs=tuple(_pack(p, f"report.pluginReports[{i}]") for i, p in enumerate(plugins)),
    )


def load_report(path: str | Path = DEFAULT_REPORT_PATH) -> ValidationReport:
    """Load a validation report from a file, or from a cloud assembly directory that holds one.

    :param path: the report, or the directory ``cdk synth`` wrote. Default:
        ``cdk.out/validation-report.json`` in the current directory.
    :raises ReportError: when the file is missing, unreadable, not JSON, or not a report.
    """
    path = Path(path)
    if path.is_dir():
        path = path / _REPORT_FILE_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(
            f"{path}: no such file; run `cdk synth` with cdk-nag packs applied to write it"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ReportError(f"{path}: cannot read: {error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReportError(
            f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    try:
        return parse_report(data)
    except ReportError as error:
        raise ReportError(f"{path}: not a validation report: {error}") from None


# -- shared wording --------------------------------------------------------------------------------


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _verdict(report: ValidationReport) -> str:
    if not report.packs:
        # CDK lists only the packs that have a finding or an acknowledgement to report.
        return "Passed: no rule pack reported a finding or an acknowledgement."
    packs = len(report.packs)
    if report.passed:
        return f"Passed: no open findings in {_plural(packs, 'rule pack')} reported."
    failing = sum(not p.passed for p in report.packs)
    return (
        f"Failed: {_plural(report.open_findings, 'open finding')}; "
        f"{failing} of {_plural(packs, 'rule pack')} reported did not pass."
    )


def _pack_line(pack: PackReport) -> str:
    return (
        f"Conclusion: {pack.conclusion}. Open findings: {pack.open_findings} "
        f"({_plural(len(pack.findings), 'rule')}). Acknowledged: {pack.acknowledged}."
    )


def _text(value: str) -> str:
    """Collapse whitespace so free text cannot break the page's structure."""
    return " ".join(value.split())


# -- Markdown --------------------------------------------------------------------------------------

_MD_INLINE = re.compile(r"([\\`*_\[\]<>&|~])")
_MD_BLOCK_START = re.compile(r"^([#+\-=>]|\d+(?=[.)]))")


def _md(value: str) -> str:
    """Escape free text for use inside a Markdown line, tables included."""
    return _MD_INLINE.sub(r"\\\1", _text(value))


def _md_paragraph(value: str) -> str:
    """Escape free text that starts a Markdown line (so it cannot become a heading or a list)."""
    escaped = _md(value)
    match = _MD_BLOCK_START.match(escaped)
    if match is None:
        return escaped
    if match.group(1).isdigit():
        end = match.end()
        return f"{escaped[:end]}\\{escaped[end:]}"
    return f"\\{escaped}"


def _md_code(value: str) -> str:
    """A code span that holds ``value`` verbatim, backticks included."""
    value = _text(value)
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    if value.startswith("`") or value.endswith("`"):
        value = f" {value} "
    return f"{fence}{value}{fence}"


def _md_paths(paths: Sequence[str]) -> Iterable[str]:
    if not paths:
        yield "- (the report names no construct)"
    for path in paths:
        yield f"- {_md_code(path)}"


def render_markdown(report: ValidationReport, *, source: str | None = None) -> str:
    """Render ``report`` as Markdown (CommonMark, with a GitHub-flavoured summary table).

    :param source: where the report was read from, shown under the title. Default: not shown.
    """
    lines = [f"# {_md(report.title) or 'Validation Report'}", ""]
    if source is not None:
        version = f" (report version {_md(report.version)})" if report.version else ""
        lines += [f"Source: {_md_code(source)}{version}", ""]
    lines += [f"**{_md(_verdict(report))}**", ""]
    if report.packs:
        lines += [
            "| Rule pack | Conclusion | Open findings | Acknowledged |",
            "|---|---|---:|---:|",
        ]
        lines += [
            f"| {_md(p.name)} | {_md(p.conclusion)} | {p.open_findings} | {p.acknowledged} |"
            for p in report.packs
        ]
        lines.append("")
    for pack in report.packs:
        lines += [f"## {_md(pack.name)}", "", _md_paragraph(_pack_line(pack)), ""]
        lines += ["### Open findings", ""]
        if not pack.findings:
            lines += ["None.", ""]
        for finding in pack.findings:
            lines += [f"#### {_md_code(finding.rule)} ({_md(finding.severity)})", ""]
            if finding.description:
                lines += [_md_paragraph(finding.description), ""]
            lines += [*_md_paths(finding.construct_paths), ""]
        lines += ["### Acknowledgements", ""]
        if not pack.acknowledgements:
            lines += ["None.", ""]
        for ack in pack.acknowledgements:
            reason = _md(ack.reason) if ack.reason.strip() else "**none given**"
            lines += [
                f"#### {_md_code(ack.rule)} ({_md(ack.severity)})",
                "",
                f"Reason: {reason}",
                "",
            ]
            if ack.description:
                lines += [_md_paragraph(ack.description), ""]
            if ack.acknowledged_at:
                lines += [f"Acknowledged at {_md_code(ack.acknowledged_at)}, for:", ""]
            else:
                lines += ["Acknowledged for:", ""]
            lines += [*_md_paths(ack.construct_paths), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


# -- HTML ------------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
  line-height: 1.45; color: #1b1b1b; }
table { border-collapse: collapse; }
th, td { border: 1px solid #c8c8c8; padding: 0.3rem 0.6rem; text-align: left; }
td.number { text-align: right; }
code { font-size: 0.9em; overflow-wrap: anywhere; }
.verdict.failed { color: #a40000; }
.verdict.passed { color: #0a6b0a; }
.description { color: #444; }
"""


def _h(value: str) -> str:
    return html.escape(_text(value), quote=True)


def _html_paths(paths: Sequence[str]) -> str:
    if not paths:
        return "<ul><li>(the report names no construct)</li></ul>"
    items = "".join(f"<li><code>{_h(path)}</code></li>" for path in paths)
    return f"<ul>{items}</ul>"


def render_html(report: ValidationReport, *, source: str | None = None) -> str:
    """Render ``report`` as a standalone HTML page; every string from the report is escaped.

    :param source: where the report was read from, shown under the title. Default: not shown.
    """
    title = _h(report.title) or "Validation Report"
    verdict_class = "passed" if report.passed else "failed"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        f"<title>{title}</title>",
        f"<style>{_STYLE}</style></head>",
        "<body>",
        f"<h1>{title}</h1>",
    ]
    if source is not None:
        version = f" (report version {_h(report.version)})" if report.version else ""
        parts.append(f"<p>Source: <code>{_h(source)}</code>{version}</p>")
    parts.append(f'<p class="verdict {verdict_class}"><strong>{_h(_verdict(report))}</strong></p>')
    if report.packs:
        rows = "".join(
            f"<tr><td>{_h(p.name)}</td><td>{_h(p.conclusion)}</td>"
            f'<td class="number">{p.open_findings}</td><td class="number">{p.acknowledged}</td></tr>'
            for p in report.packs
        )
        parts.append(
            "<table><thead><tr><th>Rule pack</th><th>Conclusion</th><th>Open findings</th>"
            f"<th>Acknowledged</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    for pack in report.packs:
        parts += ["<section>", f"<h2>{_h(pack.name)}</h2>", f"<p>{_h(_pack_line(pack))}</p>"]
        parts.append("<h3>Open findings</h3>")
        if not pack.findings:
            parts.append("<p>None.</p>")
        for finding in pack.findings:
            parts.append(f"<h4><code>{_h(finding.rule)}</code> ({_h(finding.severity)})</h4>")
            if finding.description:
                parts.append(f'<p class="description">{_h(finding.description)}</p>')
            parts.append(_html_paths(finding.construct_paths))
        parts.append("<h3>Acknowledgements</h3>")
        if not pack.acknowledgements:
            parts.append("<p>None.</p>")
        for ack in pack.acknowledgements:
            reason = _h(ack.reason) if ack.reason.strip() else "<strong>none given</strong>"
            at = f" at <code>{_h(ack.acknowledged_at)}</code>" if ack.acknowledged_at else ""
            parts += [
                f"<h4><code>{_h(ack.rule)}</code> ({_h(ack.severity)})</h4>",
                f"<p><strong>Reason:</strong> {reason}</p>",
            ]
            if ack.description:
                parts.append(f'<p class="description">{_h(ack.description)}</p>')
            parts += [
                f"<p>Acknowledged{at}, for:</p>",
                _html_paths(ack.construct_paths),
            ]
        parts.append("</section>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"
