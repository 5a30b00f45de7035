"""``phoihop demo``: the main job on the sample inputs, end to end."""

import sys
from collections import Counter

import click
from rich.console import Console
from rich.table import Table

from phoihop import stack as local_stack
from phoihop.cli import EXIT_FAILED
from phoihop.cli.dev import require_rabbitmq
from phoihop.i18n import t

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
            scenario.triage_suggested(rpc, console, progress)
            console.print(
                t("5. Các vụ việc đi hết quy trình", "5. Cases walked to their end")
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


def print_summary(rpc, feeder, walk):
    summary = rpc.reporting.board_summary()
    table = Table(title=t("Vụ việc theo trạng thái", "Cases by state"))
    table.add_column(t("Trạng thái", "State"))
    table.add_column(t("Số vụ", "Cases"), justify="right")
    for state, count in sorted((summary.get("by_state") or {}).items()):
        table.add_row(state, str(count))
    console.print(table)

    table = Table(title=t("Vụ việc theo cơ quan", "Cases by agency"))
    table.add_column(t("Cơ quan", "Agency"))
    table.add_column(t("Số vụ", "Cases"), justify="right")
    for agency, count in sorted(
        (summary.get("by_agency") or {}).items(), key=lambda item: -item[1]
    ):
        table.add_row(agency, str(count))
    console.print(table)

    compliance = rpc.reporting.deadline_compliance("month")
    console.print(
        t("Thời hạn: ", "Deadlines: ") + str(compliance.get("totals", compliance))
    )

    quarantine = rpc.intake.list_quarantine(limit=100)
    table = Table(title=t("Đầu vào bị cách ly", "Quarantined inputs"))
    table.add_column(t("Kênh", "Channel"))
    table.add_column(t("Lý do", "Reason"))
    for item in quarantine:
        table.add_row(item.get("channel", ""), str(item.get("reason", ""))[:120])
    console.print(table)

    table = Table(title=t("Tiếp nhận theo nguồn", "Intake by source"))
    for column in (
        "source",
        "opened",
        "attached",
        "duplicate",
        "quarantined",
        "proposed",
    ):
        table.add_column(column, justify="right" if column != "source" else "left")
    for source, counts in feeder.by_source.items():
        counts = Counter(counts)
        table.add_row(
            source,
            *(
                str(counts[k])
                for k in ("opened", "attached", "duplicate", "quarantined", "proposed")
            ),
        )
    console.print(table)

    table = Table(title=t("Các vụ việc mẫu", "Scenario cases"))
    for column in ("scenario", "case", "state", "steps"):
        table.add_column(column)
    for item in walk.walks:
        table.add_row(item.scenario, item.case_id, item.state, "; ".join(item.steps))
    console.print(table)


commands = (demo,)
