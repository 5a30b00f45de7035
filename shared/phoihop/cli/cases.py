"""``phoihop cases list|show|act``: the case board and actions on a case,
through the public API with the officer's own API key.

    phoihop cases list [--state verifying] [--agency police] [--text ...]
    phoihop cases show <case id> [--json]
    phoihop cases act <case id> <action> [--data '{...}' | --file body.json]

The key is read from ``PHOIHOP_API_KEY`` (or ``--api-key``) and the address
from ``PHOIHOP_API_URL``; what the caller may see and do is the gateway's
decision, so a refusal is shown with its reason. Exit codes: 0 done, 1
refused, 2 bad input, 3 the API could not be reached.
"""

import json
import sys
from pathlib import Path

import click
import yaml
from rich.console import Console
from rich.table import Table

from phoihop.cases import LABELS, STATES
from phoihop.cli import EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_USAGE
from phoihop.cli.tables import keep_whole
from phoihop.client import ApiError, ApiUnreachable, PhoihopClient
from phoihop.i18n import local_time, t
from services.reporting import labels

console = Console()
errors = Console(stderr=True)

# Actions on a case: the path under /api/v1/cases/<case id>, and what the
# body holds (see /api/docs for every field).
ACTIONS = {
    "triage": ("triage", "categories, sector, locality, incident, severity, ..."),
    "merge": ("merge", "into_case_id, reason"),
    "add-agency": ("agencies", "agency, reason"),
    "remove-agency": ("agencies/{agency}/removal", "reason (and --agency)"),
    "transfer-lead": ("lead", "to_agency, reason"),
    "escalate": ("escalations", "to (city|ministry), reason, article"),
    "open-round": ("rounds", "question, invited, due_at"),
    "convene-meeting": ("meetings", "agenda, starts_at, place|link, invited"),
    "appraise": ("appraisal", "outcome, legal_basis, art_4_2_consideration"),
    "decide": ("decision", "measures, legal_basis"),
    "report-result": ("measures/{measure}/result", "result, evidence, note"),
    "draft-statement": ("statements", "kind, leadership_position, first_measures"),
    "results-notice": ("results-notice", "facts, title, body"),
    "close": ("close", "reason"),
    "reopen": ("reopen", "reason"),
}


def _client(api_key):
    return PhoihopClient(api_key=api_key)


STATUS_LEADS = {
    400: ("Dữ liệu không hợp lệ", "Invalid input"),
    404: ("Không tìm thấy", "Not found"),
    409: ("Không thực hiện được ở trạng thái hiện tại", "Not allowed in this state"),
    429: ("Quá nhiều yêu cầu, thử lại sau", "Too many requests, try later"),
    503: ("Dịch vụ tạm thời chưa sẵn sàng, thử lại sau", "Service busy, try later"),
}


def _fail(exc):
    """Print an API error with its fields and leave with the right code."""
    if isinstance(exc, ApiUnreachable):
        errors.print(
            t(
                f"[red]Không kết nối được API:[/] {exc.message}",
                f"[red]API unreachable:[/] {exc.message}",
            )
        )
        sys.exit(EXIT_UNAVAILABLE)
    if exc.status == 403:
        errors.print(
            t(f"[red]Bị từ chối:[/] {exc.message}", f"[red]Refused:[/] {exc.message}")
        )
    elif exc.status == 401:
        errors.print(
            t(
                f"[red]Chưa xác thực:[/] {exc.message}",
                f"[red]Not authenticated:[/] {exc.message}",
            )
        )
    else:
        # The services' messages are in English (they go to logs and to
        # other systems too); the lead says in Vietnamese what happened.
        vi, en = STATUS_LEADS.get(exc.status, ("Lỗi", "Error"))
        errors.print(
            t(
                f"[red]{vi} ({exc.status}):[/] {exc.message}",
                f"[red]{en} ({exc.status}):[/] {exc.message}",
            )
        )
    for field, reason in (exc.fields or {}).items():
        errors.print(f"  {field}: {reason}")
    sys.exit(EXIT_USAGE if exc.status == 400 else EXIT_FAILED)


def _vietnamese():
    return t("vi", "en") == "vi"


def _agency(code):
    """The agency's name in Vietnamese, its code in English."""
    return labels.agency(code) if _vietnamese() and code else str(code or "")


def _agencies(case):
    """The lead (marked *) and the other agencies of a case. A case record
    lists them with their roles; a board row has the lead and the codes."""
    if case.get("agencies"):
        names = []
        for item in case["agencies"]:
            code = item if isinstance(item, str) else item.get("agency")
            role = "" if isinstance(item, str) else item.get("role") or ""
            names.append(f"{_agency(code)}*" if role == "lead" else _agency(code))
        return ", ".join(names)
    lead = case.get("lead")
    others = [code for code in case.get("agency_codes") or () if code != lead]
    return ", ".join(
        ([f"{_agency(lead)}*"] if lead else []) + list(map(_agency, others))
    )


def _title(case):
    """The title, or where a classified case keeps it. The board holds no
    title of a classified case; a reader cleared for it finds it in the
    timeline's opening event."""
    if case.get("title"):
        return case["title"]
    for event in case.get("timeline") or ():
        if event.get("type") == "case.opened" and not event.get("redacted"):
            title = (event.get("payload") or {}).get("title")
            if title:
                return title
    if case.get("redacted") or case.get("classified"):
        return t("[nội dung mật]", "[classified]")
    return ""


def _row_categories(item):
    """Confirmed categories, or the suggested ones marked as suggestions."""
    if item.get("categories"):
        return _categories(item["categories"])
    if item.get("suggested_categories"):
        return _categories(item["suggested_categories"]) + t(" (gợi ý)", " (suggested)")
    return ""


def _categories(codes):
    if _vietnamese():
        return ", ".join(labels.category(code) for code in codes or ())
    return ", ".join(codes or ())


def _classification(code):
    if _vietnamese():
        return labels.CLASSIFICATIONS.get(code, code or "")
    return code or ""


def _state(state):
    return (
        LABELS[state][0 if t("vi", "en") == "vi" else 1]
        if state in LABELS
        else state or ""
    )


api_key_option = click.option(
    "--api-key",
    envvar="PHOIHOP_API_KEY",
    default=None,
    help="API key (PHOIHOP_API_KEY)",
)


@click.group("cases")
def cases():
    """Vụ việc: tra cứu và xử lý (Cases: search and act)."""


@cases.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice(STATES))
@click.option("--agency", default=None, help="agency code")
@click.option("--category", default=None)
@click.option("--text", default=None, help="words of the title, or the case id")
@click.option("--from", "start", default=None, help="opened on or after YYYY-MM-DD")
@click.option("--to", "end", default=None, help="opened on or before YYYY-MM-DD")
@click.option("--page", default=1, type=click.IntRange(1))
@click.option("--page-size", default=50, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True, help="JSON lines output")
@api_key_option
def list_cases(
    states, agency, category, text, start, end, page, page_size, as_json, api_key
):
    """Liệt kê vụ việc (List cases)."""
    params = {
        "state": list(states) or None,
        "agency": agency,
        "category": category,
        "text": text,
        "start": start,
        "end": end,
        "page": page,
        "page_size": page_size,
    }
    try:
        with _client(api_key) as client:
            result = client.list_cases(**params)
    except ApiError as exc:
        _fail(exc)
    items = result.get("items") or []
    if as_json:
        for item in items:
            click.echo(json.dumps(item, ensure_ascii=False, default=str))
        return

    table = Table(title=t("Bảng vụ việc", "Case board"))
    for column in (
        t("Mã", "Case"),
        t("Tiêu đề", "Title"),
        t("Trạng thái", "State"),
        t("Cơ quan (* chủ trì)", "Agencies (* lead)"),
        t("Nhóm nội dung", "Categories"),
        t("Cập nhật", "Updated"),
    ):
        table.add_column(column)
    for item in items:
        last = item.get("last_event") or {}
        title = _title(item)
        table.add_row(
            str(item.get("case_id") or item.get("_id")),
            title,
            _state(item.get("state")),
            _agencies(item),
            _row_categories(item),
            local_time(last.get("at") or item.get("opened_at")),
        )
    console.print(keep_whole(table, 0))
    total = result.get("total", len(items))
    console.print(
        t(
            f"Trang {page}: {len(items)}/{total} vụ việc",
            f"Page {page}: {len(items)} of {total} cases",
        )
    )


@cases.command("show")
@click.argument("case_id")
@click.option("--json", "as_json", is_flag=True, help="the record as JSON")
@click.option(
    "--all",
    "every_event",
    is_flag=True,
    help="also the adapters' delivery receipts in the timeline",
)
@api_key_option
def show_case(case_id, as_json, every_event, api_key):
    """Xem một vụ việc và diễn biến (Show a case and its timeline)."""
    try:
        with _client(api_key) as client:
            case = client.get_case(case_id)
    except ApiError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(case, ensure_ascii=False, indent=2, default=str))
        return

    console.print(
        f"[bold]{case.get('case_id', case_id)}[/] · {_state(case.get('state'))}"
    )
    if case.get("redacted"):
        console.print(
            t(
                "[yellow]Nội dung mật đã ẩn theo mức được phép xem.[/]",
                "[yellow]Classified content hidden for your clearance.[/]",
            )
        )
    console.print(f"{t('Tiêu đề', 'Title')}: {_title(case)}")
    console.print(f"{t('Cơ quan', 'Agencies')}: {_agencies(case)}")
    console.print(
        f"{t('Nhóm nội dung', 'Categories')}: {_categories(case.get('categories'))}"
    )
    level = _classification(case.get("classification"))
    console.print(f"{t('Mức mật', 'Classification')}: {level}")
    timeline = Table(title=t("Diễn biến", "Timeline"))
    for column in (
        t("Thời gian", "Time"),
        t("Sự kiện", "Event"),
        t("Bởi", "By"),
        t("Trạng thái", "State"),
    ):
        timeline.add_column(column)
    receipts = 0
    for event in case.get("timeline") or ():
        if not every_event and str(event.get("type", "")).startswith("adapter."):
            # One receipt per agency and event: they bury the case's steps.
            receipts += 1
            continue
        actor = event.get("actor") or {}
        payload = event.get("payload") or {}
        timeline.add_row(
            local_time(event.get("occurred_at")),
            str(event.get("type")),
            _agency(actor.get("agency")),
            _state(payload.get("state")),
        )
    console.print(timeline)
    if receipts:
        console.print(
            t(
                f"Ẩn {receipts} xác nhận đã chuyển tới cơ quan (--all để xem).",
                f"{receipts} delivery receipts hidden (--all shows them).",
            )
        )


def _read_body(data, file):
    if data and file:
        errors.print(
            t(
                "Chỉ dùng một trong --data và --file.",
                "Use only one of --data and --file.",
            )
        )
        sys.exit(EXIT_USAGE)
    try:
        if file == "-":
            text = sys.stdin.read()
        elif file:
            text = Path(file).read_text(encoding="utf-8")
        else:
            text = data or "{}"
        # YAML is a superset of JSON: officers may write either.
        body = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        errors.print(
            t(f"Không đọc được nội dung: {exc}", f"Cannot read the body: {exc}")
        )
        sys.exit(EXIT_USAGE)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        errors.print(
            t("Nội dung phải là một đối tượng JSON.", "The body must be a JSON object.")
        )
        sys.exit(EXIT_USAGE)
    return body


@cases.command("act")
@click.argument("case_id")
@click.argument("action", type=click.Choice(sorted(ACTIONS)))
@click.option("--data", default=None, help="the body, as JSON or YAML")
@click.option(
    "--file", default=None, help="a JSON or YAML file with the body; - for stdin"
)
@click.option("--agency", default=None, help="for remove-agency: the agency removed")
@click.option("--measure", default=None, help="for report-result: the measure id")
@click.option("--json", "as_json", is_flag=True, help="print the answer as JSON")
@api_key_option
def act(case_id, action, data, file, agency, measure, as_json, api_key):
    """Thực hiện một thao tác trên vụ việc (Act on a case).

    Các thao tác (actions): triage, merge, add-agency, remove-agency,
    transfer-lead, escalate, open-round, convene-meeting, appraise, decide,
    report-result, draft-statement, results-notice, close, reopen.
    """
    path, _ = ACTIONS[action]
    if "{agency}" in path and not agency:
        errors.print(t("Cần --agency.", "--agency is required."))
        sys.exit(EXIT_USAGE)
    if "{measure}" in path and not measure:
        errors.print(t("Cần --measure.", "--measure is required."))
        sys.exit(EXIT_USAGE)
    body = _read_body(data, file)
    url = f"/api/v1/cases/{case_id}/" + path.format(agency=agency, measure=measure)
    try:
        with _client(api_key) as client:
            answer = client.post(url, body)
    except ApiError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(answer, ensure_ascii=False, indent=2, default=str))
        return
    console.print(
        t(
            f"[green]Đã thực hiện[/] {action} · {case_id}",
            f"[green]Done[/] {action} · {case_id}",
        )
    )
    state = answer.get("state") if isinstance(answer, dict) else None
    if state:
        console.print(f"{t('Trạng thái', 'State')}: {_state(state)}")


commands = (cases,)
