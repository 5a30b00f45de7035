"""Intake from the command line: submit a file of any channel, import a CSV
or XLSX batch with progress, work the quarantine, confirm a triage or a merge.

    phoihop submit <file> --channel email|mbox|sms|phone|post|edxml|misp|stix|api
    phoihop import <file.csv|file.xlsx>
    phoihop quarantine list|show|resubmit
    phoihop triage confirm <case>
    phoihop merges list|confirm|dismiss
"""

import base64
import hashlib
import json
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from phoihop.cli import EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_USAGE
from phoihop.cli.tables import keep_whole
from phoihop.constants import CLASSIFICATIONS
from phoihop.errors import PhoihopError
from phoihop.i18n import local_time, t
from phoihop.reports import SEVERITIES
from phoihop.stack import amqp_uri

console = Console()
errors = Console(stderr=True)

RPC_TIMEOUT_SECONDS = 120
BATCH_ROWS = 200
FILE_CHANNELS = (
    "api",
    "email",
    "mbox",
    "sms",
    "phone",
    "post",
    "edxml",
    "misp",
    "stix",
    "csv",
    "xlsx",
)
TEXT_CHANNELS = ("api", "sms", "phone", "post", "misp", "stix")
OUTCOME_LABELS = {
    "opened": ("Mở vụ việc mới", "New case"),
    "attached": ("Gộp vào vụ việc đang mở", "Joined an open case"),
    "duplicate": ("Đã nhận trước đó", "Already received"),
    "quarantined": ("Cách ly", "Quarantined"),
    "proposed": ("Đề xuất gộp", "Merge proposed"),
}


def _actor_options(command):
    command = click.option("--officer", default=None, help="cán bộ (officer)")(command)
    return click.option(
        "--agency", default="dic", show_default=True, help="mã cơ quan (agency code)"
    )(command)


@contextmanager
def intake_rpc():
    """An RPC proxy to the intake service; errors become exit codes."""
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ClusterRpcProxy

    try:
        with ClusterRpcProxy(
            {"AMQP_URI": amqp_uri()}, timeout=RPC_TIMEOUT_SECONDS
        ) as proxy:
            yield proxy.intake
    except PhoihopError as exc:
        errors.print(t("[red]Bị từ chối:[/] ", "[red]Refused:[/] ") + exc.message)
        for key, reason in exc.fields.items():
            errors.print(f"  {key}: {reason}")
        sys.exit(EXIT_USAGE if exc.code == "validation_error" else EXIT_FAILED)
    except RemoteError as exc:
        errors.print(
            t("[red]Dịch vụ tiếp nhận gặp lỗi:[/] ", "[red]Intake failed:[/] ")
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
                    "[red]Dịch vụ tiếp nhận không trả lời[/] (phoihop dev status?)",
                    "[red]The intake service did not answer[/] (phoihop dev status?)",
                )
            )
            sys.exit(EXIT_UNAVAILABLE)
        raise


def _read(path):
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        errors.print(
            t(
                f"[red]Không đọc được tệp {path}:[/] {exc}",
                f"[red]Cannot read {path}:[/] {exc}",
            )
        )
        sys.exit(EXIT_USAGE)


def _print_results(results):
    table = Table(title=t("Kết quả tiếp nhận", "Intake results"))
    for column in (
        t("Kết quả", "Outcome"),
        t("Báo cáo", "Report"),
        t("Vụ việc", "Case"),
        t("Ghi chú", "Note"),
    ):
        table.add_column(column)
    for result in results:
        outcome = result.get("outcome", "")
        vi, en = OUTCOME_LABELS.get(outcome, (outcome, outcome))
        note = result.get("reason") or result.get("quarantine_id") or ""
        if result.get("merge_proposals"):
            note = t("đề xuất gộp với ", "merge proposed with ") + ", ".join(
                p["candidate_case_id"] for p in result["merge_proposals"]
            )
        table.add_row(
            t(vi, en),
            result.get("report_id") or "-",
            result.get("case_id") or "-",
            note,
        )
    console.print(keep_whole(table, 1, 2))


def _summary_table(summary, title):
    table = Table(title=title)
    table.add_column(t("Kết quả", "Outcome"))
    table.add_column(t("Số lượng", "Count"), justify="right")
    for key in ("opened", "attached", "duplicate", "quarantined", "proposed"):
        vi, en = OUTCOME_LABELS[key]
        table.add_row(t(vi, en), str(summary.get(key, 0)))
    table.add_row(t("Tổng số dòng", "Total rows"), str(summary.get("total", 0)))
    console.print(table)


@click.command("submit")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--channel",
    required=True,
    type=click.Choice(FILE_CHANNELS),
    help="kênh tiếp nhận (channel)",
)
@click.option(
    "--idempotency-key", default=None, help="khóa chống trùng (idempotency key)"
)
@click.option("--json", "as_json", is_flag=True, help="JSON output")
@_actor_options
def submit(file, channel, idempotency_key, as_json, agency, officer):
    """Gửi một tệp qua kênh của nó (Submit a file through its channel)."""
    if channel in ("csv", "xlsx"):
        _import(file, channel, agency, officer, as_json)
        return
    data = _read(file)
    actor = {"agency": agency, "officer": officer}
    with intake_rpc() as intake:
        if channel in TEXT_CHANNELS:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                answer = intake.submit_input(
                    channel,
                    base64.b64encode(data).decode(),
                    actor,
                    encoding="base64",
                    idempotency_key=idempotency_key,
                )
            else:
                answer = intake.submit_input(
                    channel, text, actor, idempotency_key=idempotency_key
                )
        else:
            answer = intake.submit_input(
                channel,
                base64.b64encode(data).decode(),
                actor,
                encoding="base64",
                idempotency_key=idempotency_key,
            )
    if as_json:
        click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
    else:
        _print_results(answer["results"])
    if answer["summary"]["quarantined"]:
        sys.exit(EXIT_FAILED)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="JSON summary")
@_actor_options
def import_file(file, as_json, agency, officer):
    """Nhập lô CSV hoặc XLSX (Import a CSV or XLSX batch)."""
    channel = "xlsx" if file.lower().endswith((".xlsx", ".xlsm")) else "csv"
    _import(file, channel, agency, officer, as_json)


def _import(file, channel, agency, officer, as_json):
    from services.intake.channels import ParseError, batch

    data = _read(file)
    digest = hashlib.sha256(data).hexdigest()
    reader = batch.read_xlsx if channel == "xlsx" else batch.read_csv
    try:
        rows = list(reader(data))
    except ParseError as exc:
        errors.print(
            t("[red]Tệp không đọc được:[/] ", "[red]The file cannot be read:[/] ")
            + exc.reason
        )
        # The file itself still goes to the quarantine, with the reason.
        with intake_rpc() as intake:
            intake.submit_input(
                channel,
                base64.b64encode(data).decode(),
                {"agency": agency, "officer": officer},
                encoding="base64",
            )
        sys.exit(EXIT_USAGE)

    actor = {"agency": agency, "officer": officer}
    totals = {}
    quarantined = []
    with (
        intake_rpc() as intake,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=as_json,
        ) as progress,
    ):
        task = progress.add_task(t("Đang nhập", "Importing"), total=len(rows))
        for start in range(0, len(rows), BATCH_ROWS):
            chunk = rows[start : start + BATCH_ROWS]
            items = [
                {
                    "number": r.number,
                    "raw": r.raw,
                    "reason": r.reason,
                    "fields": r.fields,
                }
                if isinstance(r, batch.RowError)
                else {"number": r.number, "raw": r.raw, "report": r.report}
                for r in chunk
            ]
            answer = intake.submit_batch(
                channel, items, actor, filename=Path(file).name, file_sha256=digest
            )
            for key, value in answer["summary"].items():
                totals[key] = totals.get(key, 0) + value
            quarantined += [
                r for r in answer["results"] if r["outcome"] == "quarantined"
            ]
            progress.advance(task, len(chunk))

    if as_json:
        click.echo(
            json.dumps(
                {"summary": totals, "quarantined": quarantined},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    _summary_table(
        totals,
        t(f"Tổng kết nhập {Path(file).name}", f"Import summary of {Path(file).name}"),
    )
    for result in quarantined[:20]:
        console.print(
            t(f"  dòng {result.get('row')}: ", f"  row {result.get('row')}: ")
            + result["reason"]
        )


@click.group("quarantine")
def quarantine():
    """Đầu vào bị cách ly (Quarantined inputs)."""


@quarantine.command("list")
@click.option(
    "--status",
    type=click.Choice(["open", "resubmitted"]),
    default="open",
    show_default=True,
)
@click.option("--channel", default=None)
@click.option("--limit", default=100, show_default=True)
def quarantine_list(status, channel, limit):
    """Liệt kê (List)."""
    with intake_rpc() as intake:
        entries = intake.list_quarantine(status=status, channel=channel, limit=limit)
    table = Table(title=t("Đầu vào bị cách ly", "Quarantined inputs"))
    for column in (
        "ID",
        t("Kênh", "Channel"),
        t("Thời điểm", "Received"),
        t("Kích thước", "Bytes"),
        t("Lý do", "Reason"),
    ):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            entry["quarantine_id"],
            entry["channel"],
            local_time(entry["received_at"]),
            str(entry["size_bytes"]),
            entry["reason"][:200],
        )
    console.print(keep_whole(table, 0))
    console.print(t(f"Tổng cộng: {len(entries)}", f"Total: {len(entries)}"))


@quarantine.command("show")
@click.argument("quarantine_id")
@click.option(
    "--raw",
    "raw_to",
    type=click.Path(dir_okay=False),
    default=None,
    help="ghi nguyên bản vào tệp (write the raw bytes to a file)",
)
def quarantine_show(quarantine_id, raw_to):
    """Xem chi tiết (Show one entry)."""
    with intake_rpc() as intake:
        entry = intake.get_quarantine(quarantine_id, include_raw=True)
    console.print(
        f"[bold]{entry['quarantine_id']}[/] ({entry['channel']}, {entry['status']})"
    )
    console.print(t("Lý do: ", "Reason: ") + entry["reason"])
    for key, reason in (entry.get("fields") or {}).items():
        console.print(f"  {key}: {reason}")
    console.print(t("Nhận lúc: ", "Received: ") + local_time(entry["received_at"]))
    if entry.get("resubmitted_as"):
        console.print(
            t("Đã gửi lại, thành báo cáo: ", "Resubmitted as reports: ")
            + ", ".join(entry["resubmitted_as"])
        )
    if raw_to:
        Path(raw_to).write_bytes(base64.b64decode(entry["raw_base64"]))
        console.print(
            t(f"Đã ghi nguyên bản vào {raw_to}", f"Raw bytes written to {raw_to}")
        )
    else:
        console.print(entry.get("raw_preview", "")[:2000], markup=False)


@quarantine.command("resubmit")
@click.argument("quarantine_id")
@click.argument("corrected", type=click.Path(exists=True, dir_okay=False))
@_actor_options
def quarantine_resubmit(quarantine_id, corrected, agency, officer):
    """Gửi lại sau khi sửa (Resubmit after correction)."""
    data = _read(corrected)
    with intake_rpc() as intake:
        answer = intake.resubmit_quarantined(
            quarantine_id,
            base64.b64encode(data).decode(),
            {"agency": agency, "officer": officer},
            encoding="base64",
        )
    if answer["outcome"] == "quarantined":
        errors.print(
            t("[red]Vẫn không đọc được:[/] ", "[red]Still unreadable:[/] ")
            + answer["reason"]
        )
        sys.exit(EXIT_FAILED)
    _print_results(answer["results"])


@click.group("triage")
def triage():
    """Phân loại vụ việc (Triage)."""


@triage.command("show")
@click.argument("case_id")
def triage_show(case_id):
    """Xem gợi ý phân loại (Show the suggestions)."""
    with intake_rpc() as intake:
        case = intake.get_case(case_id)
    console.print(f"[bold]{case['case_id']}[/] {case['title']}")
    console.print(t("Trạng thái: ", "State: ") + case["state"])
    table = Table(
        title=t("Gợi ý (chưa phải quyết định)", "Suggestions (not a decision)")
    )
    for column in (
        t("Phân loại", "Category"),
        t("Quy tắc", "Rule"),
        t("Khớp", "Matched"),
        t("Căn cứ pháp lý", "Legal basis"),
    ):
        table.add_column(column)
    for suggestion in case.get("suggestions") or []:
        table.add_row(
            suggestion["category"],
            suggestion["rule"],
            suggestion["matched"],
            ", ".join(suggestion["legal_basis"]),
        )
    console.print(table)
    console.print(
        t("Lĩnh vực gợi ý: ", "Suggested sector: ")
        + str(case.get("suggested_sector") or "-")
    )
    console.print(
        t("Địa bàn gợi ý: ", "Suggested locality: ")
        + str(case.get("suggested_locality") or "-")
    )


@triage.command("confirm")
@click.argument("case_id")
@click.option(
    "--category",
    "categories",
    multiple=True,
    required=True,
    help="phân loại (repeat for several)",
)
@click.option("--severity", type=click.Choice(SEVERITIES), required=True)
@click.option(
    "--classification",
    type=click.Choice(CLASSIFICATIONS),
    default="internal",
    show_default=True,
)
@click.option("--sector", default=None)
@click.option("--locality", default=None)
@click.option("--incident/--no-incident", default=False, show_default=True)
@click.option("--journalists/--no-journalists", default=False, show_default=True)
@click.option("--posted-at", default=None, help="thời điểm đăng (ISO 8601)")
@_actor_options
def triage_confirm(
    case_id,
    categories,
    severity,
    classification,
    sector,
    locality,
    incident,
    journalists,
    posted_at,
    agency,
    officer,
):
    """Xác nhận phân loại (Confirm the triage)."""
    with intake_rpc() as intake:
        result = intake.confirm_triage(
            case_id,
            list(categories),
            sector,
            locality,
            incident,
            journalists,
            severity,
            classification,
            posted_at,
            {"agency": agency, "officer": officer},
        )
    console.print(
        t(f"Đã phân loại {case_id}", f"Triaged {case_id}")
        + f" ({result['classification']})"
    )
    if result["legal_basis_suggested"]:
        console.print(
            t("Căn cứ pháp lý gợi ý: ", "Suggested legal basis: ")
            + ", ".join(result["legal_basis_suggested"])
        )


@click.group("merges")
def merges():
    """Đề xuất gộp vụ việc trùng (Merge proposals)."""


@merges.command("list")
@click.option("--status", default="proposed", show_default=True)
def merges_list(status):
    """Liệt kê (List)."""
    with intake_rpc() as intake:
        proposals = intake.list_merge_proposals(status=status)
    table = Table(title=t("Đề xuất gộp", "Merge proposals"))
    for column in (
        "ID",
        t("Vụ việc", "Case"),
        t("Trùng với", "Candidate"),
        t("Độ tương đồng", "Similarity"),
    ):
        table.add_column(column)
    for proposal in proposals:
        table.add_row(
            proposal["proposal_id"],
            proposal["case_id"],
            proposal["candidate_case_id"],
            f"{proposal['similarity']:.2f}",
        )
    console.print(keep_whole(table, 0, 1, 2))


@merges.command("confirm")
@click.argument("case_id")
@click.argument("into_case_id")
@click.option("--reason", default="")
@_actor_options
def merges_confirm(case_id, into_case_id, reason, agency, officer):
    """Gộp CASE_ID vào INTO_CASE_ID (Merge)."""
    with intake_rpc() as intake:
        result = intake.confirm_merge(
            case_id, into_case_id, {"agency": agency, "officer": officer}, reason
        )
    console.print(
        t(
            f"Đã gộp {case_id} vào {into_case_id} ({result['reports_moved']} báo cáo)",
            f"Merged {case_id} into {into_case_id} ({result['reports_moved']} reports)",
        )
    )


@merges.command("dismiss")
@click.argument("proposal_id")
@click.option("--reason", default="")
@_actor_options
def merges_dismiss(proposal_id, reason, agency, officer):
    """Bỏ qua đề xuất (Dismiss a proposal)."""
    with intake_rpc() as intake:
        intake.dismiss_merge_proposal(
            proposal_id, {"agency": agency, "officer": officer}, reason
        )
    console.print(t(f"Đã bỏ qua {proposal_id}", f"Dismissed {proposal_id}"))


commands = (submit, import_file, quarantine, triage, merges)
