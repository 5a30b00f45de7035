"""A scripted run of 200 cases through the real bus into the reporting
service: the log holds each event once, the rebuilt board equals the live
one, and the monthly report's numbers are those of the log.

The run is published once for the module (about 3,000 events and 1,400
per-agency copies); the tests read it. The test that tampers with the log
comes last.
"""

import base64
import hashlib
import re
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from nameko.testing.services import entrypoint_hook
from openpyxl import load_workbook

from phoihop.cli import main as cli
from phoihop.errors import Forbidden, NotFound, ValidationError
from phoihop.stream import REDACTED
from services.reporting import labels
from services.reporting.eventlog import META_COLLECTION
from services.reporting.fold import fold_text
from services.reporting.periods import local_midnight_utc, parse_period
from services.reporting.projections import CURRENT_ID, Projector
from services.reporting.projections import META_COLLECTION as PROJECTION_META
from services.reporting.simulation import simulate, start_of_month
from services.reporting.workbook import read_table

DIC = {"agency": "dic", "officer": "Phạm Thị Thanh Tra"}
NOVEMBER = parse_period("month", "2026-11")


@pytest.fixture(scope="module")
def events():
    november = simulate(200, start_of_month(2026, 11), days=29, seed=5)
    october = simulate(
        12,
        local_midnight_utc(datetime(2026, 10, 28).date()),
        days=3,
        seed=9,
        first_index=5000,
    )
    return sorted(november + october, key=lambda item: item.occurred_at)


@pytest.fixture(scope="module")
def run(reporting, producer, reporting_db, events):
    """Publish the scripted run and wait until it is logged and projected."""
    started = time.monotonic()
    published = producer.publish(events)
    assert published == len(events) + sum(len(item.agencies) for item in events)
    sent = time.monotonic()
    assert wait_for(
        lambda: logged_count(reporting_db) >= len(events), timeout=300, interval=1.0
    ), logged_count(reporting_db)
    logged_at = time.monotonic()
    projector = Projector(reporting_db)
    assert wait_for(lambda: projector.lag() == 0, timeout=120, interval=0.5)
    print(
        f"published {published} messages in {sent - started:.1f}s, logged "
        f"{len(events)} events after {logged_at - started:.1f}s, projected after "
        f"{time.monotonic() - started:.1f}s"
    )
    return reporting


def wait_for(predicate, timeout=60.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def logged_count(db):
    head = db[META_COLLECTION].find_one({"_id": "head"})
    return head["seq"] if head else 0


def rpc(container, method, *args, **kwargs):
    with entrypoint_hook(container, method) as call:
        return call(*args, **kwargs)


def logged(db, kind, period=NOVEMBER):
    return list(
        db.event_log.find(
            {
                "type": kind,
                "occurred_at": {"$gte": period.start_utc, "$lt": period.end_utc},
            }
        )
    )


def states_at_end(db, period=NOVEMBER):
    """Each case opened in the period, with its state at the period's end,
    read from the log alone."""
    opened = {entry["case_id"] for entry in logged(db, "case.opened", period)}
    state = {}
    for entry in db.event_log.find({"occurred_at": {"$lt": period.end_utc}}):
        if entry["case_id"] in opened:
            state.setdefault(entry["case_id"], [])
            moved = entry["event"]["payload"].get("state")
            if moved:
                state[entry["case_id"]].append(
                    (entry["occurred_at"], entry["_id"], moved)
                )
    return {case: sorted(moves)[-1][2] for case, moves in state.items()}


@pytest.fixture(scope="module")
def month_report(run):
    return rpc(run, "generate_report", "month", period="2026-11", actor=DIC)


@pytest.fixture(scope="module")
def workbook(month_report):
    path = next(
        item["path"] for item in month_report["files"] if item["format"] == "xlsx"
    )
    return load_workbook(path)


def test_every_event_is_logged_once_although_agency_copies_arrive_too(
    run, reporting_db, events
):
    ids = [doc["event_id"] for doc in reporting_db.event_log.find({}, {"event_id": 1})]
    scripted = {item.envelope["id"] for item in events}

    assert len(ids) == len(set(ids))
    assert scripted <= set(ids)
    assert rpc(run, "verify_log")["ok"] is True


def test_rebuilt_board_is_the_same_as_the_live_board(run, reporting_db):
    result = Projector(reporting_db).rebuild(switch=False, compare=True)

    assert result.differences == []
    assert result.cases == reporting_db[
        f"proj{_generation(run)}_board"
    ].count_documents({})
    assert result.cases >= 200


def _generation(container):
    return rpc(container, "log_status")["projection"]["generation"]


def test_switching_to_a_rebuilt_board_serves_the_same_cases(run, reporting_db):
    before = rpc(run, "list_cases", {"page_size": 500})
    summary = rpc(run, "board_summary")
    generation = _generation(run)

    result = Projector(reporting_db).rebuild(switch=True)

    assert result.switched
    assert _generation(run) == result.generation != generation
    assert rpc(run, "list_cases", {"page_size": 500}) == before
    after = rpc(run, "board_summary")
    for key in ("total", "by_state", "by_category", "by_agency", "overdue_count"):
        assert after[key] == summary[key]


def test_month_report_receipts_match_the_log(month_report, workbook, reporting_db):
    opened = logged(reporting_db, "case.opened")
    by_channel = Counter(entry["event"]["payload"]["channel"] for entry in opened)
    _, rows, total = read_table(workbook, "received_by_channel")

    assert total[1] == len(opened) == month_report["totals"]["cases_received"]
    assert {row[0]: row[1] for row in rows} == {
        labels.channel(code): count for code, count in by_channel.items()
    }


def test_month_report_categories_are_the_confirmed_ones(workbook, reporting_db):
    opened = {e["case_id"] for e in logged(reporting_db, "case.opened")}
    confirmed = {}
    for entry in logged(reporting_db, "case.triaged"):
        confirmed[entry["case_id"]] = entry["event"]["payload"]["categories"]
    expected = Counter()
    for case_id in opened:
        for code in confirmed.get(case_id) or ["uncategorised"]:
            expected[code] += 1
    _, rows, _ = read_table(workbook, "received_by_category")

    assert {row[0]: row[1] for row in rows} == {
        "Chưa phân loại" if code == "uncategorised" else labels.category(code): n
        for code, n in expected.items()
    }
    assert expected["uncategorised"] > 0


def test_month_report_states_at_the_end_of_the_month_match_the_log(
    workbook, reporting_db
):
    expected = Counter(
        labels.state(state) for state in states_at_end(reporting_db).values()
    )
    _, rows, total = read_table(workbook, "cases_by_state")

    assert {row[0]: row[1] for row in rows} == expected
    assert total[1] == sum(expected.values())


def test_month_report_appraisals_measures_and_results_match_the_log(
    workbook, reporting_db, month_report
):
    outcomes = Counter(
        entry["event"]["payload"]["outcome"]
        for entry in logged(reporting_db, "case.appraised")
    )
    measures = Counter(
        measure["kind"]
        for entry in logged(reporting_db, "case.decided")
        for measure in entry["event"]["payload"]["measures"]
    )
    results = Counter(
        entry["event"]["payload"]["result"]
        for entry in logged(reporting_db, "measure.reported")
    )
    difficulties = [
        entry
        for entry in logged(reporting_db, "measure.reported")
        if entry["event"]["payload"]["difficulties"]
    ]

    _, rows, _ = read_table(workbook, "appraisal_outcomes")
    assert {row[0]: row[1] for row in rows if row[1]} == {
        labels.outcome(code): count for code, count in outcomes.items()
    }
    _, rows, _ = read_table(workbook, "measures_by_kind")
    assert {row[0]: row[1] for row in rows if row[1]} == {
        labels.measure(code): count for code, count in measures.items()
    }
    _, _, total = read_table(workbook, "handling_results")
    assert total[1:] == [
        results["done"],
        results["partly_done"],
        results["not_possible"],
        sum(results.values()),
    ]
    totals = month_report["totals"]
    assert totals["escalations"] == len(logged(reporting_db, "case.escalated"))
    assert totals["difficulties"] == len(difficulties) > 0
    _, listed, _ = read_table(workbook, "difficulties")
    assert len(listed) == len(difficulties)


def test_month_report_initial_information_matches_the_log(workbook, reporting_db):
    given = {}
    for entry in reporting_db.event_log.find({"type": "press.statement_distributed"}):
        record = entry["event"]["payload"].get("initial_info")
        if record:
            given[record["deadline_id"]] = record
    due = [
        entry["event"]["payload"]
        for entry in reporting_db.event_log.find({"type": "press.initial_info_due"})
        if NOVEMBER.contains(
            datetime.fromisoformat(entry["event"]["payload"]["due_at"])
        )
    ]
    on_time = sum(
        1
        for item in due
        if item["deadline_id"] in given
        and given[item["deadline_id"]]["given_at"] <= item["due_at"]
    )
    late = sum(1 for item in due if item["deadline_id"] in given) - on_time

    _, _, total = read_table(workbook, "initial_info")
    assert total[1:5] == [len(due), on_time, late, len(due) - on_time - late]
    assert on_time > 0 and late > 0


def test_month_report_opens_as_word_with_vietnamese_text_and_charts(month_report):
    path = next(
        item["path"] for item in month_report["files"] if item["format"] == "docx"
    )
    document = Document(path)
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    header = " ".join(
        " ".join(cell.text.split())
        for row in document.tables[0].rows
        for cell in row.cells
    )

    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in header
    assert "Độc lập - Tự do - Hạnh phúc" in header
    assert "SỞ THÔNG TIN VÀ TRUYỀN THÔNG" in header
    assert "Kết quả phối hợp theo dõi, phát hiện, xử lý thông tin xấu, độc" in text
    assert "tháng 11 năm 2026" in text
    assert len(document.inline_shapes) >= 3
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert digest == month_report["sha256"]


def test_report_generated_event_is_logged_with_the_document_hash(
    month_report, reporting_db
):
    assert wait_for(
        lambda: reporting_db.event_log.find_one(
            {
                "type": "report.generated",
                "event.payload.report_id": month_report["report_id"],
            }
        ),
        timeout=30,
    )
    entry = reporting_db.event_log.find_one(
        {
            "type": "report.generated",
            "event.payload.report_id": month_report["report_id"],
        }
    )
    payload = entry["event"]["payload"]

    assert payload["sha256"] == month_report["sha256"]
    assert payload["period"]["code"] == "2026-11"
    assert payload["log_head"]["seq"] >= 3000
    assert entry["event"]["actor"] == DIC


def test_report_file_is_served_with_its_hash(run, month_report):
    served = rpc(run, "get_report_file", month_report["report_id"], "xlsx")
    content = base64.b64decode(served["content_base64"])

    assert served["intact"] is True
    assert hashlib.sha256(content).hexdigest() == served["sha256"]
    assert [item["report_id"] for item in rpc(run, "list_reports")][0] == (
        month_report["report_id"]
    )


def test_agency_reports_its_own_results_only(run):
    police = {"agency": "police", "officer": "Đại úy Hoàng"}
    record = rpc(
        run, "generate_report", "month", period="2026-11", agency="police", actor=police
    )

    assert record["report_kind"] == "agency_results"
    assert record["issuer"] == "Công an thành phố"
    with pytest.raises(Forbidden):
        rpc(
            run,
            "generate_report",
            "month",
            period="2026-11",
            agency="dept-health",
            actor=police,
        )
    with pytest.raises(Forbidden):
        rpc(run, "generate_report", "month", period="2026-11", actor=police)


def test_bad_report_request_names_the_field(run):
    with pytest.raises(ValidationError) as refused:
        rpc(run, "generate_report", "month", period="2026-13", actor=DIC)
    assert "period" in refused.value.fields

    with pytest.raises(ValidationError) as refused:
        rpc(run, "generate_report", "fortnight", period="2026-11", actor=DIC)
    assert "request.kind" in refused.value.fields


def test_classified_case_shows_metadata_unless_the_viewer_is_cleared(run, events):
    secret = next(
        item.envelope
        for item in events
        if item.envelope["classification"] == "secret"
        and item.envelope["type"] == "case.opened"
    )
    case = rpc(run, "get_case", secret["case_id"])
    opened = next(item for item in case["timeline"] if item["type"] == "case.opened")

    assert case["title"] is None
    assert case["classified"] is True
    assert opened["redacted"] is True
    assert opened["payload"]["title"] == REDACTED
    assert opened["payload"]["channel"] == secret["payload"]["channel"]

    cleared = rpc(run, "get_case", secret["case_id"], include_classified=True)
    opened = next(item for item in cleared["timeline"] if item["type"] == "case.opened")
    assert opened["payload"]["title"] == secret["payload"]["title"]
    assert cleared["title"] is None


def test_case_list_filters_combine(run, reporting_db):
    closed = rpc(run, "list_cases", {"state": "closed", "page_size": 500})
    police_scams = rpc(
        run,
        "list_cases",
        {"agency": "police", "category": "fraud_scam", "page_size": 500},
    )
    by_text = rpc(run, "list_cases", {"text": "gia mao ngan hang", "page_size": 500})

    assert closed["total"] == len(closed["items"]) > 0
    assert {item["state"] for item in closed["items"]} == {"closed"}
    assert police_scams["total"] > 0
    for item in police_scams["items"]:
        assert "police" in item["agency_codes"]
        assert "fraud_scam" in (item["categories"] or item["suggested_categories"])
    assert by_text["total"] > 0
    assert all(
        "giả mạo ngân hàng" in item["title"].lower() for item in by_text["items"]
    )


@pytest.mark.parametrize(
    ("filters", "field"),
    [({"agency": "polise"}, "agency"), ({"category": "fraud"}, "category")],
)
def test_unknown_agency_or_category_is_refused_not_an_empty_board(run, filters, field):
    with pytest.raises(ValidationError) as refused:
        rpc(run, "list_cases", filters)

    assert field in refused.value.fields


@pytest.mark.parametrize(
    "text", ["gia mao ngan hang", "Giả mạo ngân", "ngân hàng", "an hang", "ZZ"]
)
def test_text_search_misses_no_case_the_phrase_starts_a_word_in(
    run, reporting_db, text
):
    board = Projector(reporting_db).projection().board
    phrase = fold_text(text).strip()
    expected = {
        doc["_id"]
        for doc in board.find({}, {"search": 1})
        if re.search(rf"(?:^|[^a-z0-9]){re.escape(phrase)}", doc["search"])
    }

    found = rpc(run, "list_cases", {"text": text, "page_size": 500})

    assert {item["case_id"] for item in found["items"]} == expected
    assert found["total"] == len(expected)


def test_board_folded_before_search_words_gets_them_at_start(run, reporting_db):
    board = Projector(reporting_db).projection().board
    before = rpc(run, "list_cases", {"text": "ngan hang", "page_size": 500})
    board.update_many({}, {"$unset": {"search_words": ""}})
    board.drop_index("search_words")
    # As a board folded by the version before search words looks.
    reporting_db[PROJECTION_META].update_one(
        {"_id": CURRENT_ID}, {"$unset": {"shape": ""}}
    )

    completed = Projector(reporting_db).upgrade()
    again = Projector(reporting_db).upgrade()
    after = rpc(run, "list_cases", {"text": "ngan hang", "page_size": 500})

    assert completed == board.count_documents({})
    assert again == 0
    assert "search_words" in board.index_information()
    assert after == before


def test_case_list_pages_and_period(run):
    first = rpc(run, "list_cases", {"page": 1, "page_size": 20})
    second = rpc(run, "list_cases", {"page": 2, "page_size": 20})
    october = rpc(
        run,
        "list_cases",
        {"period": {"start": "2026-10-01", "end": "2026-10-31"}, "page_size": 500},
    )

    assert first["total"] == second["total"] >= 200
    assert not {item["case_id"] for item in first["items"]} & {
        item["case_id"] for item in second["items"]
    }
    assert 0 < october["total"] <= 12


def test_bad_case_filters_are_refused_naming_the_field(run):
    with pytest.raises(ValidationError) as refused:
        rpc(run, "list_cases", {"state": "lost", "page_size": 0})

    assert any(key.startswith("filters.state") for key in refused.value.fields)
    assert "filters.page_size" in refused.value.fields
    with pytest.raises(NotFound):
        rpc(run, "get_case", "HP-none")


def test_board_summary_and_workload_agree_with_the_log(run, reporting_db):
    summary = rpc(run, "board_summary")
    assigned = defaultdict(set)
    for entry in reporting_db.event_log.find({"type": "case.assigned"}):
        for item in entry["event"]["payload"]["agencies"]:
            assigned[item["agency"]].add(entry["case_id"])
    workload = {item["agency"]: item for item in rpc(run, "agency_workload")}

    assert sum(summary["by_state"].values()) == summary["total"]
    assert summary["total"] == reporting_db.event_log.count_documents(
        {"type": "case.opened"}
    )
    assert workload["police"]["cases"] == len(assigned["police"])
    assert summary["by_agency"]["police"]["cases"] == len(assigned["police"])
    assert workload["police"]["name"] == "Công an thành phố"
    assert summary["overdue_count"] >= 1


def test_deadline_compliance_counts_the_two_hour_clock(run, workbook):
    compliance = rpc(run, "deadline_compliance", "month", period="2026-11")
    _, _, total = read_table(workbook, "initial_info")

    assert compliance["initial_info"]["total"]["due"] == total[1]
    assert compliance["initial_info"]["total"]["on_time"] == total[2]
    assert compliance["total"]["due"] >= compliance["initial_info"]["total"]["due"]


def cli_env(config):
    return {
        "AMQP_URI": config["AMQP_URI"],
        "MONGODB_URI": config["MONGODB_URI"],
        "PHOIHOP_DB_PREFIX": config["DB_PREFIX"],
        "PHOIHOP_EXCHANGE": config["EVENTS_EXCHANGE"],
        "PHOIHOP_REPORTS_DIR": config["reporting"]["reports_dir"],
    }


def test_report_command_generates_through_the_service(run, reporting_config):
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "generate",
            "--period",
            "range",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-15",
            "--json",
        ],
        env=cli_env(reporting_config),
    )

    assert result.exit_code == 0, result.output
    assert '"granularity": "range"' in result.output


def test_report_list_command_shows_the_reports(month_report, reporting_config):
    result = CliRunner().invoke(
        cli, ["--lang", "en", "report", "list"], env=cli_env(reporting_config)
    )

    assert result.exit_code == 0, result.output
    assert month_report["sha256"][:16] in result.output


def test_report_command_names_a_missing_period_option(reporting_config):
    result = CliRunner().invoke(
        cli, ["report", "generate", "--period", "month"], env=cli_env(reporting_config)
    )

    assert result.exit_code == 2
    assert "--month" in result.output


def test_projection_check_command_finds_no_difference(run, reporting_config):
    result = CliRunner().invoke(
        cli, ["projections", "rebuild", "--check"], env=cli_env(reporting_config)
    )

    assert result.exit_code == 0, result.output


def test_tampered_entry_is_named_by_verify(run, reporting_db, reporting_config):
    runner = CliRunner()
    env = cli_env(reporting_config)
    assert runner.invoke(cli, ["log", "verify"], env=env).exit_code == 0

    target = reporting_db.event_log.find_one({"type": "case.appraised"})
    reporting_db.event_log.update_one(
        {"_id": target["_id"]}, {"$set": {"event.payload.outcome": "does_not_violate"}}
    )

    result = rpc(run, "verify_log")
    assert result["ok"] is False
    assert result["first_problem"]["seq"] == target["_id"]
    assert result["first_problem"]["fields"] == ["event.payload.outcome"]
    command = runner.invoke(cli, ["log", "verify"], env=env)
    assert command.exit_code == 1
    assert str(target["_id"]) in command.output
    assert "event.payload.outcome" in command.output
