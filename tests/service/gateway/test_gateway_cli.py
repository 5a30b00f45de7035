"""``phoihop credentials`` and ``phoihop cases`` against a running gateway:
a key created on the command line works on the API until it is revoked,
and the case commands show the API's answers and refusals with exit codes
scripts can use."""

import json

import gateway_peers as peers
import pytest
from click.testing import CliRunner

from phoihop.cli import EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_USAGE, main


@pytest.fixture
def cli(gateway_config, monkeypatch):
    monkeypatch.setenv("MONGODB_URI", gateway_config["MONGODB_URI"])
    monkeypatch.setenv("PHOIHOP_DB_PREFIX", gateway_config["DB_PREFIX"])
    monkeypatch.setenv(
        "PHOIHOP_API_URL", f"http://{gateway_config['WEB_SERVER_ADDRESS']}"
    )
    monkeypatch.setenv("PHOIHOP_LANG", "vi")
    runner = CliRunner()

    def run(*args, key=None):
        env = {"PHOIHOP_API_KEY": key} if key else {}
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)

    return run


def create_key(cli, agency, *roles, clearance="internal"):
    args = [
        "credentials",
        "create",
        "--agency",
        agency,
        "--officer",
        "Trần Văn B",
        "--clearance",
        clearance,
        "--json",
    ]
    for role in roles:
        args += ["--role", role]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_key_created_on_the_command_line_works_until_revoked(gateway, cli):
    record = create_key(cli, "police", "focal_point")

    listed = cli("cases", "list", "--json", key=record["api_key"])
    revoked = cli(
        "credentials", "revoke", record["key_id"], "--reason", "chuyển công tác"
    )
    refused = cli("cases", "list", key=record["api_key"])
    shown = cli("credentials", "list", "--all", "--agency", "police", "--json")

    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout.splitlines()[0])["case_id"] == peers.CASE_ID
    assert revoked.exit_code == 0 and "Đã thu hồi" in revoked.output
    assert refused.exit_code == EXIT_FAILED
    assert "Chưa xác thực" in refused.output
    listed_records = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [(r["key_id"], r["status"]) for r in listed_records] == [
        (record["key_id"], "revoked")
    ]
    assert record["api_key"].split("_", 2)[2] not in shown.output


def test_credential_with_a_lead_only_role_for_another_agency_is_refused(cli):
    result = cli(
        "credentials",
        "create",
        "--agency",
        "police",
        "--officer",
        "A",
        "--role",
        "dic_inspector",
    )

    assert result.exit_code == EXIT_USAGE
    assert "roles" in result.output


def test_cases_show_prints_the_case_and_its_timeline(gateway, cli):
    key = create_key(cli, "dic", "dic_inspector")["api_key"]

    result = cli("cases", "show", peers.CASE_ID, key=key)

    assert result.exit_code == 0, result.output
    assert "Tin giả về dịch bệnh ở Hồng Bàng" in result.output
    assert "case.opened" in result.output
    assert "Đã phân công" in result.output
    assert "adapter.delivered" not in result.output
    assert "Ẩn 1 xác nhận" in result.output
    every = cli("cases", "show", peers.CASE_ID, "--all", key=key)
    assert "adapter.delivered" in every.output


def test_cases_act_sends_the_body_and_reports_refusals(gateway, cli):
    inspector = create_key(cli, "dic", "dic_inspector")["api_key"]
    officer = create_key(cli, "journalists", "officer")["api_key"]

    done = cli(
        "cases",
        "act",
        peers.CASE_ID,
        "reopen",
        "--data",
        '{"reason": "có chứng cứ mới"}',
        key=inspector,
    )
    bad = cli("cases", "act", peers.CASE_ID, "reopen", "--data", "{}", key=inspector)
    refused = cli(
        "cases",
        "act",
        peers.CASE_ID,
        "reopen",
        "--data",
        '{"reason": "x"}',
        key=officer,
    )

    assert done.exit_code == 0, done.output
    assert peers.calls[-1][0] == "reopen_case"
    assert bad.exit_code == EXIT_USAGE and "reason" in bad.output
    assert refused.exit_code == EXIT_FAILED and "Bị từ chối" in refused.output


def test_cases_command_without_a_gateway_exits_3(cli, monkeypatch):
    monkeypatch.setenv("PHOIHOP_API_URL", "http://127.0.0.1:9")

    result = cli("cases", "list", key="phk_0123456789abcdef_x")

    assert result.exit_code == EXIT_UNAVAILABLE
