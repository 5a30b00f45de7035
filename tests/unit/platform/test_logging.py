"""Structured logs: JSON off a terminal, ids bound, secrets masked."""

import json

import structlog

from phoihop.logging import bind_ids, configure_logging, get_logger, mask_secrets


def test_password_in_uri_is_masked():
    masked = mask_secrets("connect amqp://guest:s3cret@rabbit:5672/ now")

    assert "s3cret" not in masked
    assert "amqp://guest:***@rabbit:5672/" in masked


def test_json_line_carries_bound_ids_and_masks_secrets(capsys):
    configure_logging("intake", json=True, force=True)
    bind_ids(case_id="C-1", event_id="E-1", correlation_id="R-1")

    get_logger("t").info(
        "case_opened", uri="mongodb://admin:hunter2@db/", api_key="abc", channel="email"
    )

    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "case_opened"
    assert (line["case_id"], line["event_id"], line["correlation_id"]) == (
        "C-1",
        "E-1",
        "R-1",
    )
    assert line["service"] == "intake"
    assert "hunter2" not in line["uri"]
    assert line["api_key"] == "***"
    structlog.contextvars.clear_contextvars()


def test_vietnamese_text_is_kept_readable_in_json(capsys):
    configure_logging("intake", json=True, force=True)

    get_logger("t").info("report_received", title="Tin giả về dịch bệnh")

    assert "Tin giả về dịch bệnh" in capsys.readouterr().err
