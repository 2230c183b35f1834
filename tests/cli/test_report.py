"""The validation-report renderer, on reports written by real ``cdk synth`` runs (tests/cli/data)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from cdk_recording._report import (
    ReportError,
    load_report,
    parse_report,
    render_html,
    render_markdown,
)
from tests.cli.conftest import DATA, report_data

FIXTURES = ["example", "findings", "empty"]
PAGE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "section", "h1", "h2", "h3", "h4", "p",
    "strong", "code", "ul", "li", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


def plain(markdown: str) -> str:
    """What a reader sees of Markdown text: backslash escapes removed."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def one_line(text: str) -> str:
    return " ".join(text.split())


class PageReader(HTMLParser):
    """Collects an HTML page's tags and text, the way a browser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, _attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def read_page(page: str) -> PageReader:
    reader = PageReader()
    reader.feed(page)
    reader.close()
    return reader


def findings(data: dict[str, Any], key: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (plugin["pluginName"], violation)
        for plugin in data["pluginReports"]
        for violation in plugin.get(key, [])
    ]


# -- parsing real reports -----------------------------------------------------------------------------


def test_example_report_parses_every_pack_and_acknowledgement() -> None:
    data = report_data("example")
    report = load_report(DATA / "example-report.json")
    assert [p.name for p in report.packs] == [p["pluginName"] for p in data["pluginReports"]]
    assert sum(len(p.acknowledgements) for p in report.packs) == len(
        findings(data, "suppressedViolations")
    )
    assert report.version == data["version"]


def test_findings_report_counts_one_finding_per_rule_and_construct() -> None:
    report = load_report(DATA / "findings-report.json")
    aws_solutions, serverless = report.packs
    assert (aws_solutions.conclusion, aws_solutions.open_findings) == ("failure", 1)
    assert aws_solutions.findings[0].construct_paths == ("FixtureStack/Queue/Resource",)
    assert (serverless.conclusion, serverless.open_findings, serverless.acknowledged) == (
        "success",
        0,
        1,
    )
    assert not report.passed


def test_empty_report_passes() -> None:
    report = load_report(DATA / "empty-report.json")
    assert report.packs == ()
    assert report.passed


def test_pack_that_concluded_failure_without_findings_does_not_pass() -> None:
    data = report_data("empty")
    data["pluginReports"] = [{"pluginName": "Custom", "conclusion": "failure", "violations": []}]
    report = parse_report(data)
    assert report.open_findings == 0
    assert not report.passed


# -- Markdown -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_markdown_names_every_pack_with_its_conclusion(name: str) -> None:
    data = report_data(name)
    markdown = plain(render_markdown(load_report(DATA / f"{name}-report.json")))
    for plugin in data["pluginReports"]:
        assert f"## {plugin['pluginName']}\n" in markdown
        assert f"| {plugin['pluginName']} | {plugin['conclusion']} |" in markdown


@pytest.mark.parametrize("name", FIXTURES)
def test_markdown_lists_every_open_finding_with_severity_and_constructs(name: str) -> None:
    data = report_data(name)
    markdown = plain(render_markdown(load_report(DATA / f"{name}-report.json")))
    for _, violation in findings(data, "violations"):
        assert f"#### `{violation['ruleName']}` ({violation['severity']})" in markdown
        for construct in violation["violatingConstructs"]:
            assert f"- `{construct['constructPath']}`" in markdown


@pytest.mark.parametrize("name", FIXTURES)
def test_markdown_gives_every_acknowledgement_reason(name: str) -> None:
    data = report_data(name)
    markdown = plain(render_markdown(load_report(DATA / f"{name}-report.json")))
    for _, acknowledged in findings(data, "suppressedViolations"):
        assert f"Reason: {one_line(acknowledged['reason'])}\n" in markdown
        assert f"Acknowledged at `{acknowledged['acknowledgedAt']}`" in markdown


def test_markdown_open_findings_sit_under_their_pack() -> None:
    markdown = render_markdown(load_report(DATA / "findings-report.json"))
    aws_solutions, serverless = markdown.split("\n## ")[1:]
    assert "AwsSolutions-SQS4" in aws_solutions
    assert "AwsSolutions-SQS4" not in serverless
    assert "### Open findings\n\nNone." in serverless


def test_markdown_states_the_verdict() -> None:
    failing = render_markdown(load_report(DATA / "findings-report.json"))
    assert "**Failed: 1 open finding; 1 of 2 rule packs reported did not pass.**" in failing
    empty = render_markdown(load_report(DATA / "empty-report.json"), source="cdk.out")
    assert "Passed: no rule pack reported a finding or an acknowledgement." in empty
    assert "Source: `cdk.out` (report version 55.0.0)" in empty


def test_markdown_escapes_html_in_reasons() -> None:
    markdown = render_markdown(load_report(DATA / "findings-report.json"))
    assert "<b>" not in markdown
    assert "<for>" not in markdown
    assert r"\<b\>by design\</b\>" in markdown


def test_markdown_keeps_hostile_text_inside_its_line() -> None:
    data = report_data("findings")
    plugin = data["pluginReports"][0]
    plugin["pluginName"] = "Pack|with|pipes"
    plugin["suppressedViolations"][0]["reason"] = "first line\n# Injected heading\n- injected item"
    plugin["violations"][0]["violatingConstructs"][0]["constructPath"] = "Stack/`tick`/Resource"
    markdown = render_markdown(parse_report(data))
    lines = markdown.splitlines()
    assert "# Injected heading" not in lines
    assert "- injected item" not in lines
    assert "Reason: first line # Injected heading - injected item\n" in markdown
    assert r"| Pack\|with\|pipes | failure | 1 | 1 |" in lines
    assert "- `` Stack/`tick`/Resource ``" not in lines  # padding only when a tick is at an end
    assert "- ``Stack/`tick`/Resource``" in lines


def test_markdown_flags_an_acknowledgement_without_a_reason() -> None:
    data = report_data("findings")
    del data["pluginReports"][0]["suppressedViolations"][0]["reason"]
    assert "Reason: **none given**" in render_markdown(parse_report(data))


# -- HTML ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_html_shows_every_pack_finding_and_reason(name: str) -> None:
    data = report_data(name)
    page = read_page(render_html(load_report(DATA / f"{name}-report.json")))
    text = one_line(" ".join(page.text))
    for plugin in data["pluginReports"]:
        assert plugin["pluginName"] in text
    for _, violation in findings(data, "violations"):
        assert violation["ruleName"] in text
        for construct in violation["violatingConstructs"]:
            assert construct["constructPath"] in text
    for _, acknowledged in findings(data, "suppressedViolations"):
        assert f"Reason: {one_line(acknowledged['reason'])}" in text


@pytest.mark.parametrize("name", FIXTURES)
def test_html_contains_only_the_page_own_tags(name: str) -> None:
    page = read_page(render_html(load_report(DATA / f"{name}-report.json")))
    assert page.tags <= PAGE_TAGS


def test_html_escapes_reasons_paths_and_names() -> None:
    data = report_data("findings")
    plugin = data["pluginReports"][0]
    plugin["pluginName"] = "<script>alert(1)</script>"
    plugin["violations"][0]["violatingConstructs"][0]["constructPath"] = 'Stack/"><img src=x>'
    page = render_html(parse_report(data), source="<source>")
    assert "&lt;for&gt; the &quot;handler&quot; &amp; has none" in page
    assert "&lt;b&gt;by design&lt;/b&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Stack/&quot;&gt;&lt;img src=x&gt;" in page
    assert "<code>&lt;source&gt;</code>" in page
    assert read_page(page).tags <= PAGE_TAGS


# -- bad input ----------------------------------------------------------------------------------------


def test_missing_file_is_a_report_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no such file"):
        load_report(tmp_path / "validation-report.json")


def test_directory_without_a_report_is_a_report_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"validation-report\.json: no such file"):
        load_report(tmp_path)


def test_malformed_json_is_a_report_error(tmp_path: Path) -> None:
    path = tmp_path / "validation-report.json"
    path.write_text('{"pluginReports": [', encoding="utf-8")
    with pytest.raises(ReportError, match=r"not valid JSON \(line 1, column 20"):
        load_report(path)


def test_undecodable_file_is_a_report_error(tmp_path: Path) -> None:
    path = tmp_path / "validation-report.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ReportError, match="cannot read"):
        load_report(path)


@pytest.mark.parametrize(
    ("damage", "where"),
    [
        (
            lambda d: d.clear() or d.update({"title": "x"}),
            r"report\.pluginReports: expected a list",
        ),
        (lambda d: d.update({"pluginReports": {}}), r"report\.pluginReports: expected a list"),
        (lambda d: d["pluginReports"].append("AwsSolutions"), r"pluginReports\[2\]: expected an"),
        (lambda d: d["pluginReports"][0].pop("pluginName"), r"\[0\]\.pluginName: expected a str"),
        (lambda d: d["pluginReports"][1].update({"conclusion": True}), r"conclusion: expected a"),
        (
            lambda d: d["pluginReports"][0]["violations"][0].update({"violatingConstructs": {}}),
            r"violations\[0\]\.violatingConstructs: expected a list, got dict",
        ),
        (
            lambda d: d["pluginReports"][0]["violations"][0]["violatingConstructs"][0].pop(
                "constructPath"
            ),
            r"violatingConstructs\[0\]\.constructPath: expected a string, got null",
        ),
        (
            lambda d: d["pluginReports"][1]["suppressedViolations"][0].update({"reason": 7}),
            r"suppressedViolations\[0\]\.reason: expected a string, got int",
        ),
    ],
)
def test_wrong_shape_names_the_field(damage: Any, where: str) -> None:
    data = report_data("findings")
    damage(data)
    with pytest.raises(ReportError, match=where):
        parse_report(data)


def test_top_level_must_be_an_object() -> None:
    with pytest.raises(ReportError, match="report: expected an object, got list"):
        parse_report([])
