"""The intake commands against a running intake service."""

import json

import pytest
from click.testing import CliRunner

from phoihop.cli import main


@pytest.fixture
def run(intake, service_config, monkeypatch):
    monkeypatch.setenv("AMQP_URI", service_config["AMQP_URI"])
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, ["--lang", "en", *args], catch_exceptions=False)

    return invoke


def test_import_prints_a_summary_and_a_second_import_adds_nothing(run, tmp_path):
    path = tmp_path / "batch.csv"
    path.write_text(
        "nội dung,link\nTin đồn sập cầu ở Kiến An,\n,https://x.com/a/status/1\n,\n",
        encoding="utf-8",
    )

    first = run("import", str(path), "--json")
    second = run("import", str(path), "--json")

    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)["summary"]
    assert (summary["opened"], summary["quarantined"], summary["total"]) == (2, 1, 3)
    assert json.loads(second.stdout)["summary"]["duplicate"] == 3


def test_submit_an_email_then_confirm_its_triage(run, samples):
    submitted = run(
        "submit",
        str(samples / "email" / "thunderbird_sample01.eml"),
        "--channel",
        "email",
        "--json",
    )
    case_id = json.loads(submitted.stdout)["results"][0]["case_id"]

    confirmed = run(
        "triage",
        "confirm",
        case_id,
        "--category",
        "false_information",
        "--severity",
        "low",
        "--officer",
        "Nguyễn Văn An",
    )

    assert submitted.exit_code == 0
    assert confirmed.exit_code == 0, confirmed.output
    assert f"Triaged {case_id}" in confirmed.output


def test_bad_input_is_quarantined_listed_and_shown(run, tmp_path):
    bad = tmp_path / "bomb.xml"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "a">]><x>&a;</x>')

    submitted = run("submit", str(bad), "--channel", "edxml")
    listed = run("quarantine", "list")
    quarantine_id = listed.output.split("q-", 1)[1].split()[0]
    shown = run("quarantine", "show", "q-" + quarantine_id)

    assert submitted.exit_code == 1
    assert "DTD" in listed.output
    assert "DTD" in shown.output


def test_triage_with_an_unknown_category_exits_with_bad_input(run):
    result = run(
        "triage", "confirm", "case-missing", "--category", "x", "--severity", "low"
    )
    assert result.exit_code == 2


def test_shown_entry_says_which_report_its_resubmission_became(run, tmp_path):
    bad, fixed = tmp_path / "bad.json", tmp_path / "fixed.json"
    bad.write_text('{"from": "0900123456", "text": "   "}')
    fixed.write_text('{"from": "0900123456", "text": "S 0911222999 quảng cáo rác"}')

    run("submit", str(bad), "--channel", "sms")
    quarantine_id = "q-" + run("quarantine", "list").output.split("q-", 1)[1].split()[0]
    resubmitted = run("quarantine", "resubmit", quarantine_id, str(fixed))
    shown = run("quarantine", "show", quarantine_id)

    assert resubmitted.exit_code == 0, resubmitted.output
    report_id = shown.output.split("rpt-", 1)[1].split()[0]
    assert f"rpt-{report_id}" in resubmitted.output
