"""``phoihop adapters``: listing from the configuration, and clear refusals."""

import json

from click.testing import CliRunner

from phoihop.cli import main


def test_list_shows_every_configured_adapter_with_its_queue_and_keys():
    result = CliRunner().invoke(main, ["adapters", "list", "--json"])

    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    by_name = {row["name"]: row for row in listed["adapters"]}
    assert by_name["police"]["queue"] == "adapter.police"
    assert "agency.police.case.assigned" in by_name["police"]["bindings"]
    assert "case.escalated" in by_name["city"]["bindings"]
    assert by_name["dept-health"]["agency_name"] == "Sở Y tế"
    assert listed["broken"] == {}


def test_list_table_is_in_vietnamese():
    result = CliRunner().invoke(main, ["adapters", "list"])

    assert result.exit_code == 0, result.output
    assert "Bộ chuyển đổi" in result.output
    assert "Công an" in result.output
    assert "Hàng đợi" in result.output


def test_list_with_a_bad_configuration_names_the_key(tmp_path):
    config = tmp_path / "adapters.yaml"
    config.write_text("adapters:\n  retention_days: never\n", encoding="utf-8")

    result = CliRunner().invoke(main, ["adapters", "list", "--config", str(config)])

    assert result.exit_code == 2
    assert "adapters.retention_days" in result.output


def test_provision_refuses_an_agency_not_in_the_registry():
    result = CliRunner().invoke(main, ["adapters", "provision", "nobody"])

    assert result.exit_code == 2
    assert "nobody" in result.output


def test_run_names_the_missing_setting_of_an_agency_configuration(tmp_path):
    config = tmp_path / "agency.yaml"
    config.write_text(
        "AMQP_URI: amqp://u:p@127.0.0.1:5672/\n"
        "adapters:\n  instances:\n    police: {}\n",
        encoding="utf-8",
    )

    result = CliRunner().invoke(
        main,
        [
            "adapters",
            "run",
            "police",
            "--config",
            str(config),
            "--state",
            str(tmp_path / "s.db"),
        ],
    )

    assert result.exit_code == 2
    assert "run: remote" in result.output
