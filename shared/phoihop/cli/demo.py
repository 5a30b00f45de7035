"""``phoihop demo``: the main job on the sample inputs, end to end."""

import sys
from collections import Counter
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.table import Table

from phoihop import stack as local_stack
from phoihop.cli import EXIT_FAILED
from phoihop.cli.dev import require_rabbitmq
from phoihop.cli.tables import keep_whole
from phoihop.i18n import t
from services.reporting import labels

console = Console()


@click.command("demo")
@click.option(
    "--sms-limit",
    default=100,
    show_default=True,
    help="how many ViHOS comments to send as SMS",
)
@click.option(
    "--keep/--stop",
    default=True,
    show_default=True,
    help="leave the stack running at the end",
)
def demo(sms_limit, keep):
    """Chạy toàn bộ quy trình trên dữ liệu mẫu (Run the main job on the samples)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from phoihop import demo as scenario

    require_rabbitmq()
    stack = local_stack.Stack()
    console.rule(t("phoihop: phối hợp xử lý thông tin xấu, độc", "phoihop demo"))

    console.print(
        t(
            "1. Khởi động cơ sở dữ liệu và cấp khóa cho các cơ quan",
            "1. Starting the database and issuing keys",
        )
    )
    stack.start_database()
    secrets = scenario.provision_credentials(stack)
    stack.env.update(secrets)

    console.print(t("2. Khởi động các dịch vụ", "2. Starting the services"))
    names = stack.up()
    pending = stack.wait_healthy(names, timeout=120)
    if pending:
        console.print(
            t("[red]Dịch vụ chưa sẵn sàng:[/] ", "[red]Not ready:[/] ")
            + ", ".join(pending)
            + " (var/log/)"
        )
        sys.exit(EXIT_FAILED)

    with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, timeout=300) as rpc:
        with scenario.build_progress(console) as progress:
            console.print(
                t(
                    "3. Tiếp nhận dữ liệu mẫu qua từng kênh",
                    "3. Feeding the samples through their channels",
                )
            )
            feeder = scenario.SampleFeeder(rpc, console, sms_limit=sms_limit)
            feeder.feed_all(progress)
            console.print(
                t("4. Cán bộ xác nhận phân loại", "4. Officer confirms triage")
            )
            scenario.triage_suggested(rpc, console, progress, feeder.opened)
            console.print(
                t(
                    "5. Chờ các cơ quan nhận hết thông báo",
                    "5. Waiting for the agencies to receive every notice",
                )
            )
            left = scenario.wait_for_agencies(rpc, stack.amqp_uri, progress)
            if left:
                console.print(
                    t(
                        f"[yellow]Còn {left:,} thông báo chưa chuyển; tiếp tục.[/]",
                        f"[yellow]{left:,} notices still undelivered; going on.[/]",
                    )
                )
            console.print(
                t("6. Các vụ việc đi hết quy trình", "6. Cases walked to their end")
            )
            walk = scenario.Scenario(rpc, console)
            walk.run(progress)
        scenario.settle(rpc)
        print_summary(rpc, feeder, walk)
        report = rpc.reporting.generate_report(
            "month", scenario.current_month(), actor=scenario.DIC_OFFICER
        )

    for item in report.get("files", []):
        console.print(t("Báo cáo tháng: ", "Monthly report: ") + str(item.get("path")))
    url = f"http://{stack.env.get('PHOIHOP_HTTP_ADDRESS', '127.0.0.1:8000')}/dashboard"
    console.print(t(f"Bảng điều khiển: {url}", f"Dashboard: {url}"))
    console.print(
        t(
            "Khóa đăng nhập của cán bộ Sở (var/local.env): ",
            "The DIC officer's key (var/local.env): ",
        )
        + "PHOIHOP_DEMO_OFFICER_KEY"
    )
    if not keep:
        stack.down()
    if walk.failed:
        console.print(
            t(
                "[red]Vụ việc mẫu không đi hết quy trình:[/] ",
                "[red]Scenario cases that did not finish:[/] ",
            )
            + ", ".join(walk.failed)
        )
        sys.exit(EXIT_FAILED)


def print_summary(rpc, feeder, walk):
    for table in summary_tables(rpc, feeder, walk.walks):
        console.print(table)
    for source, count in sorted(feeder.not_sent.items()):
        if count:
            console.print(
                t(
                    f"{source}: {count:,} dòng không gửi (--sms-limit).",
                    f"{source}: {count:,} rows not sent (--sms-limit).",
                )
            )


def summary_tables(rpc, feeder, walks):
    """The tables the demo ends with, in the order they are printed:
    what happened to the cases, the deadlines, every sample input, the
    quarantined inputs with their reasons, and the scenario's cases."""
    summary = rpc.reporting.board_summary()
    compliance = rpc.reporting.deadline_compliance("month")
    quarantine = [
        entry
        for entry in rpc.intake.list_quarantine(limit=100)
        if _parse_time(entry.get("received_at")) >= feeder.started_at
    ]
    return [
        _states_table(summary),
        _agencies_table(summary),
        _deadlines_table(compliance),
        _intake_table(feeder),
        _quarantine_table(quarantine),
        _scenario_table(walks),
    ]


def _parse_time(value):
    """An entry's time as an aware datetime (UTC when it carries no zone)."""
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _states_table(summary):
    table = Table(title=t("Vụ việc theo trạng thái", "Cases by state"))
    table.add_column(t("Trạng thái", "State"))
    table.add_column(t("Số vụ", "Cases"), justify="right")
    by_state = summary.get("by_state") or {}
    for state, count in sorted(by_state.items(), key=lambda item: -item[1]):
        table.add_row(labels.state(state), f"{count:,}")
    table.add_row(t("Tổng cộng", "Total"), f"{summary.get('total', 0):,}")
    return table


def _agencies_table(summary):
    table = Table(title=t("Vụ việc theo cơ quan", "Cases by agency"))
    for heading, english in (
        ("Cơ quan", "Agency"),
        ("Số vụ", "Cases"),
        ("Đang xử lý", "Open"),
        ("Đang chủ trì", "Open as lead"),
        ("Đang phối hợp", "Open as coordinating"),
    ):
        table.add_column(
            t(heading, english), justify="left" if english == "Agency" else "right"
        )
    by_agency = summary.get("by_agency") or {}
    for code, counts in sorted(by_agency.items(), key=lambda item: -item[1]["cases"]):
        table.add_row(
            labels.agency(code),
            f"{counts['cases']:,}",
            f"{counts['open']:,}",
            f"{counts['open_lead']:,}",
            f"{counts['open_coordinating']:,}",
        )
    return table


def _deadlines_table(compliance):
    table = Table(title=t("Thời hạn trong tháng", "Deadlines this month"))
    table.add_column(t("Loại thời hạn", "Deadline"))
    for heading, english in (
        ("Số thời hạn", "Deadlines"),
        ("Đúng hạn", "On time"),
        ("Trễ hạn", "Late"),
        ("Bỏ lỡ", "Missed"),
        ("Chưa đến hạn", "Pending"),
    ):
        table.add_column(t(heading, english), justify="right")

    def row(label, counts):
        table.add_row(
            label,
            *(
                f"{counts.get(key, 0):,}"
                for key in ("due", "on_time", "late", "missed", "pending")
            ),
        )

    # The 2-hour initial information of Art. 7.6.d is one of the kinds.
    for kind, counts in (compliance.get("by_kind") or {}).items():
        row(labels.deadline_kind(kind), counts)
    row(t("Tổng cộng", "Total"), compliance.get("total") or {})
    return table


INTAKE_OUTCOMES = (
    ("opened", "Vụ mới", "New case"),
    ("attached", "Gộp vào vụ có sẵn", "Joined a case"),
    ("duplicate", "Trùng lặp", "Duplicate"),
    ("quarantined", "Cách ly", "Quarantined"),
    ("proposed", "Đề xuất gộp", "Merge proposed"),
)


def _intake_table(feeder):
    """Every sample input: how many were taken from each source and what
    became of the reports they gave."""
    table = Table(title=t("Dữ liệu mẫu đã tiếp nhận", "Sample inputs taken in"))
    # Sources are file names: wrapped, never cut short.
    table.add_column(t("Nguồn", "Source"), overflow="fold")
    table.add_column(t("Đầu vào", "Inputs"), justify="right")
    for _, heading, english in INTAKE_OUTCOMES:
        table.add_column(t(heading, english), justify="right")
    totals = Counter()
    for source, outcomes in feeder.by_source.items():
        counts = Counter(outcomes)
        inputs = feeder.inputs.get(source, 0)
        totals["inputs"] += inputs
        totals.update({key: counts[key] for key, _, _ in INTAKE_OUTCOMES})
        table.add_row(
            source,
            f"{inputs:,}",
            *(f"{counts[key]:,}" for key, _, _ in INTAKE_OUTCOMES),
        )
    table.add_row(
        t("Tổng cộng", "Total"),
        f"{totals['inputs']:,}",
        *(f"{totals[key]:,}" for key, _, _ in INTAKE_OUTCOMES),
    )
    return table


def _quarantine_table(entries):
    if not entries:
        return t(
            "Không có đầu vào nào bị cách ly: mọi mẫu đều thành báo cáo.",
            "No input was quarantined: every sample became a report.",
        )
    table = Table(title=t("Đầu vào bị cách ly", "Quarantined inputs"))
    table.add_column(t("Kênh", "Channel"))
    table.add_column(t("Trường", "Field"))
    table.add_column(t("Lý do", "Reason"))
    for entry in entries:
        fields = entry.get("fields") or {}
        table.add_row(
            labels.channel(entry.get("channel")),
            ", ".join(sorted(fields)) or "-",
            str(entry.get("reason", ""))[:160],
        )
    return table


def _scenario_table(walks):
    from phoihop import demo as scenario

    table = Table(title=t("Các vụ việc mẫu", "Scenario cases"))
    for heading, english in (
        ("Loại vụ việc", "Kind"),
        ("Mã vụ việc", "Case"),
        ("Trạng thái", "State"),
        ("Các bước", "Steps"),
    ):
        table.add_column(t(heading, english))
    for item in walks:
        vi, en = scenario.SCENARIO_KINDS.get(item.scenario, (item.scenario,) * 2)
        table.add_row(
            t(vi, en),
            item.case_id,
            labels.state(item.state) if item.state else "-",
            "; ".join(item.steps),
        )
    return keep_whole(table, 1)


commands = (demo,)
