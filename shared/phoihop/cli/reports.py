"""``phoihop report|log|projections``: periodic reports, the event log's
hash chain, and the projections rebuilt from the log.

``report generate`` asks the running reporting service (it emits
``report.generated``); ``log verify`` and ``projections rebuild`` work on
the reporting database directly, so that ops can check the log without
trusting the service and rebuild while it is stopped or running. All read
``deploy/config/reporting.yaml`` (``--config`` for another file), with the
usual environment overrides (AMQP_URI, MONGODB_URI, PHOIHOP_DB_PREFIX).
"""

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from phoihop.cli import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE
from phoihop.cli.tables import keep_whole
from phoihop.errors import ConfigError, PhoihopError, ServiceUnavailable
from phoihop.i18n import local_time, t
from phoihop.logging import mask_secrets

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

RPC_TIMEOUT_SECONDS = 900


def _config(path):
    from phoihop.config import load_service_config
    from phoihop.logging import configure_logging

    # Log lines go to stderr, warnings only: stdout carries the answer.
    configure_logging(level="WARNING")
    from services.reporting.service import ReportingSettings

    try:
        return load_service_config("reporting", ReportingSettings, path=path)
    except ConfigError as exc:
        errors.print(
            t("[red]Cấu hình không hợp lệ:[/] ", "[red]Invalid configuration:[/] ")
            + str(exc)
        )
        sys.exit(EXIT_USAGE)


def _database(config):
    from pymongo.errors import PyMongoError

    from phoihop.config import db_prefix, mongodb_uri
    from phoihop.store import database_name, get_database, make_client

    client = make_client(mongodb_uri(config), serverSelectionTimeoutMS=5000)
    try:
        client.admin.command("ping")
    except PyMongoError as exc:
        errors.print(
            t(
                "[red]Không kết nối được cơ sở dữ liệu[/] ",
                "[red]Cannot reach the database[/] ",
            )
            + mask_secrets(mongodb_uri(config))
            + f": {exc}"
        )
        sys.exit(EXIT_UNAVAILABLE)
    return get_database(client, database_name(db_prefix(config), "reporting"))


def _fail_usage(option, reason):
    errors.print(
        t(
            f"[red]Tham số {option} không hợp lệ:[/] {reason}",
            f"[red]Invalid {option}:[/] {reason}",
        )
    )
    sys.exit(EXIT_USAGE)


def period_arguments(period, month, quarter, week, year, first, last):
    """The ``kind``/``period``/``start``/``end`` of the RPC call, or exit 2
    naming the option that is missing."""
    values = {"month": month, "quarter": quarter, "week": week, "year": year}
    if period == "range":
        if not first or not last:
            _fail_usage(
                "--from/--to",
                t(
                    "khoảng thời gian cần cả ngày đầu và ngày cuối",
                    "a range needs its first and last day",
                ),
            )
        return {
            "kind": "range",
            "start": first.date().isoformat(),
            "end": last.date().isoformat(),
        }
    value = values[period]
    if not value:
        _fail_usage(
            f"--{period}",
            t(
                f"cần ghi rõ {period}, ví dụ 2026-11, 2026-Q4, 2026-W45 hoặc 2026",
                f"name the {period}, e.g. 2026-11, 2026-Q4, 2026-W45 or 2026",
            ),
        )
    return {"kind": period, "period": value}


@click.group("report")
def report():
    """Báo cáo định kỳ và báo cáo kết quả (Periodic and result reports)."""


@report.command("generate")
@click.option(
    "--period",
    "period",
    required=True,
    type=click.Choice(["week", "month", "quarter", "year", "range"]),
)
@click.option("--month", default=None, help="YYYY-MM")
@click.option("--quarter", default=None, help="YYYY-Qn")
@click.option("--week", default=None, help="YYYY-Www")
@click.option("--year", default=None, help="YYYY")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option(
    "--agency",
    default=None,
    help="an agency's result report (Art. 7.6.c); default: the City report",
)
@click.option(
    "--as-agency",
    "actor_agency",
    default="dic",
    show_default=True,
    help="the agency compiling the report",
)
@click.option("--officer", default=None, help="the officer compiling the report")
@click.option("--json", "as_json", is_flag=True, help="print the report record as JSON")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
def generate(
    period,
    month,
    quarter,
    week,
    year,
    first,
    last,
    agency,
    actor_agency,
    officer,
    as_json,
    config_path,
):
    """Lập báo cáo (Generate a report): Word và Excel."""
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ClusterRpcProxy

    arguments = period_arguments(period, month, quarter, week, year, first, last)
    config = _config(config_path)
    actor = {"agency": actor_agency, "officer": officer}
    try:
        with ClusterRpcProxy(
            {"AMQP_URI": config["AMQP_URI"]}, timeout=RPC_TIMEOUT_SECONDS
        ) as proxy:
            record = proxy.reporting.generate_report(
                agency=agency, actor=actor, **arguments
            )
    except PhoihopError as exc:
        errors.print(
            t("[red]Không lập được báo cáo:[/] ", "[red]Report refused:[/] ")
            + exc.message
        )
        for key, reason in exc.fields.items():
            errors.print(f"  {key}: {reason}")
        sys.exit(EXIT_USAGE if exc.code == "validation_error" else EXIT_FAILED)
    except RemoteError as exc:
        errors.print(
            t("[red]Dịch vụ báo cáo gặp lỗi:[/] ", "[red]Reporting failed:[/] ")
            + str(exc)
        )
        sys.exit(EXIT_FAILED)
    except (OSError, ConnectionError) as exc:
        errors.print(
            t(
                "[red]Không kết nối được RabbitMQ:[/] ",
                "[red]Cannot reach RabbitMQ:[/] ",
            )
            + str(exc)
        )
        sys.exit(EXIT_UNAVAILABLE)
    except Exception as exc:
        if "Timeout" in type(exc).__name__:
            errors.print(
                t(
                    "[red]Dịch vụ báo cáo không trả lời[/] (phoihop dev status?)",
                    "[red]The reporting service did not answer[/] "
                    "(phoihop dev status?)",
                )
            )
            sys.exit(EXIT_UNAVAILABLE)
        raise

    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        sys.exit(EXIT_OK)
    console.print(
        t(
            f"Đã lập báo cáo {record['period']['label']}",
            f"Report generated for {record['period']['label']}",
        )
    )
    table = Table()
    for column in (t("Định dạng", "Format"), t("Tệp", "File"), "SHA-256"):
        table.add_column(column)
    for item in record["files"]:
        table.add_row(item["format"], item["path"], item["sha256"])
    # The path is what the officer opens next; the hash may wrap.
    table.columns[2].overflow = "fold"
    console.print(keep_whole(table, 1))


@report.command("list")
@click.option("--agency", default=None)
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
def list_reports(agency, limit, config_path):
    """Các báo cáo đã lập (Reports generated)."""
    db = _database(_config(config_path))
    query = {"agency": agency} if agency else {}
    table = Table(title=t("Báo cáo đã lập", "Reports generated"))
    # The short hash is what an officer compares with a printed report, so
    # it never wraps; a long path folds instead.
    table.add_column(t("Thời điểm", "When"))
    table.add_column(t("Kỳ", "Period"))
    table.add_column(t("Cơ quan", "Agency"))
    table.add_column("SHA-256 (.docx)", no_wrap=True, min_width=17)
    table.add_column(t("Tệp", "File"), overflow="fold")
    for doc in db.reports.find(query).sort("generated_at", -1).limit(limit):
        table.add_row(
            local_time(doc["generated_at"]),
            doc["period"]["label"],
            doc.get("agency") or "ubnd-tp",
            doc["sha256"][:16] + "…",
            doc["files"][0]["path"],
        )
    console.print(table)


@click.group("log")
def event_log():
    """Nhật ký sự kiện (The event log)."""


@event_log.command("verify")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="SEQ:HASH",
    help="an entry's hash recorded elsewhere, e.g. in a printed report",
)
@click.option("--json", "as_json", is_flag=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
def verify_log(anchors, as_json, config_path):
    """Kiểm tra chuỗi băm (Verify the hash chain)."""
    from services.reporting.eventlog import verify

    db = _database(_config(config_path))
    pairs = []
    for anchor in anchors:
        seq, _, value = anchor.partition(":")
        if not seq.isdigit() or len(value) != 64:
            _fail_usage(
                "--anchor",
                t(
                    "dạng SEQ:HASH (mã băm 64 ký tự)",
                    "the form is SEQ:HASH (a 64-digit hash)",
                ),
            )
        pairs.append((int(seq), value.lower()))
    pairs += [
        (doc["log_head"]["seq"], doc["log_head"]["hash"])
        for doc in db.reports.find({"log_head.seq": {"$gt": 0}}, {"log_head": 1})
    ]
    result = verify(db, anchors=pairs)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        sys.exit(EXIT_OK if result.ok else EXIT_FAILED)
    if result.ok:
        console.print(
            t(
                f"[green]Nhật ký nguyên vẹn:[/] {result.checked} mục, mục cuối "
                f"{result.head.seq} ({result.head.hash}).",
                f"[green]The log is intact:[/] {result.checked} entries, last "
                f"{result.head.seq} ({result.head.hash}).",
            )
        )
        sys.exit(EXIT_OK)
    first = result.first
    console.print(
        t(
            f"[red]Nhật ký bị thay đổi.[/] Mục hỏng đầu tiên: số {first.seq}",
            f"[red]The log was tampered with.[/] First broken entry: {first.seq}",
        )
        + (f" ({first.event_type} {first.event_id})" if first.event_id else "")
    )
    for problem in result.problems:
        fields = f" [{', '.join(problem.fields)}]" if problem.fields else ""
        console.print(f"  - {problem.seq}: {problem.message}{fields}")
    sys.exit(EXIT_FAILED)


@click.group("projections")
def projections():
    """Bảng vụ việc và số liệu dựng từ nhật ký (Projections of the log)."""


@projections.command("rebuild")
@click.option(
    "--check",
    is_flag=True,
    help="build aside and compare with the live projections, change nothing",
)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
def rebuild(check, config_path):
    """Dựng lại từ nhật ký (Rebuild from the event log)."""
    from services.reporting.projections import Projector

    db = _database(_config(config_path))
    projector = Projector(db)
    try:
        if check:
            projector.catch_up()
        result = projector.rebuild(switch=not check, compare=check)
    except ServiceUnavailable as exc:
        errors.print(str(exc))
        sys.exit(EXIT_UNAVAILABLE)
    console.print(
        t(
            f"Đã dựng {result.cases} vụ việc, {result.deadlines} thời hạn từ "
            f"{result.entries} mục nhật ký trong {result.seconds:.1f} giây.",
            f"Built {result.cases} cases and {result.deadlines} deadlines from "
            f"{result.entries} log entries in {result.seconds:.1f} s.",
        )
    )
    if not check:
        console.print(
            t(
                f"Đang dùng thế hệ {result.generation}.",
                f"Now serving generation {result.generation}.",
            )
        )
        sys.exit(EXIT_OK)
    if result.differences:
        console.print(
            t(
                "[red]Khác với bảng đang dùng:[/]",
                "[red]Differs from the live projections:[/]",
            )
        )
        for line in result.differences:
            console.print(f"  - {line}")
        sys.exit(EXIT_FAILED)
    console.print(
        t(
            "[green]Giống hệt bảng đang dùng.[/]",
            "[green]Identical to the live projections.[/]",
        )
    )
    sys.exit(EXIT_OK)


commands = (report, event_log, projections)
