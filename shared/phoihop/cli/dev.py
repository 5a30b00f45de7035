"""``phoihop dev up|down|status|restart``: the local stack for development and demos."""

import sys

import click
from rich.console import Console
from rich.table import Table

from phoihop import stack
from phoihop.cli import EXIT_FAILED, EXIT_UNAVAILABLE
from phoihop.i18n import t

console = Console(stderr=True)


def require_rabbitmq():
    """Exit with a clear message (no traceback) when RabbitMQ is unreachable."""
    problem = stack.check_rabbitmq()
    if problem is None:
        return
    where = stack.amqp_uri_masked()
    console.print(
        t(
            f"[red]Không kết nối được RabbitMQ tại {where}[/]: {problem}",
            f"[red]Cannot reach RabbitMQ at {where}[/]: {problem}",
        )
    )
    console.print(
        t(
            "Cài và chạy RabbitMQ trên máy này:\n"
            "  sudo apt-get install rabbitmq-server && sudo rabbitmq-server -detached\n"
            "hoặc với Docker:\n"
            "  docker run -d -p 5672:5672 -p 15672:15672 rabbitmq:3-management\n"
            "hoặc đặt AMQP_URI trỏ tới máy chủ RabbitMQ của bạn.",
            "Install and start RabbitMQ on this machine:\n"
            "  sudo apt-get install rabbitmq-server && sudo rabbitmq-server -detached\n"
            "or with Docker:\n"
            "  docker run -d -p 5672:5672 -p 15672:15672 rabbitmq:3-management\n"
            "or set AMQP_URI to your RabbitMQ server.",
        )
    )
    sys.exit(EXIT_UNAVAILABLE)


@click.group("dev")
def dev():
    """Môi trường chạy cục bộ (Local stack)."""


@dev.command("up")
@click.argument("services", nargs=-1)
@click.option("--wait/--no-wait", default=True, help="wait until every service answers")
def up(services, wait):
    """Khởi động SecantusDB và các dịch vụ (Start the database and services)."""
    require_rabbitmq()
    local = stack.Stack()
    asked = ["secantusdb", *(list(services) or stack.available_services())]
    running = [name for name in asked if local.read_pid(name)]
    names = local.up(list(services) or None)
    started = [name for name in asked if name not in running]
    if started:
        console.print(t("Đã khởi động: ", "Started: ") + ", ".join(started))
    if running:
        console.print(t("Đang chạy sẵn: ", "Already running: ") + ", ".join(running))
    if wait:
        pending = local.wait_healthy(names, timeout=90)
        if pending:
            console.print(
                t("[red]Chưa sẵn sàng:[/] ", "[red]Not ready:[/] ")
                + ", ".join(pending)
                + t(" (xem var/log/)", " (see var/log/)")
            )
            sys.exit(1)
    _print_status()


@dev.command("down")
def down():
    """Dừng các dịch vụ và SecantusDB (Stop services and the database)."""
    stopped = stack.Stack().down()
    console.print(t("Đã dừng: ", "Stopped: ") + (", ".join(stopped) or "-"))


@dev.command("restart")
@click.argument("names", nargs=-1, required=True)
def restart(names):
    """Khởi động lại tiến trình (Restart processes: a service or secantusdb)."""
    require_rabbitmq()
    local = stack.Stack()
    known = {"secantusdb", *stack.available_services()}
    unknown = sorted(set(names) - known)
    if unknown:
        asked, offered = ", ".join(unknown), ", ".join(sorted(known))
        raise click.BadParameter(
            t(
                f"không có tiến trình {asked}; có: {offered}",
                f"no process {asked}; known: {offered}",
            ),
            param_hint="NAMES",
        )
    for name in names:
        # Services reconnect to a restarted database or broker by themselves.
        local.stop_process(name)
        if name == "secantusdb":
            local.start_database()
        else:
            local.start_service(name)
    services = [name for name in names if name != "secantusdb"]
    pending = local.wait_healthy(services, timeout=90) if services else []
    if pending:
        console.print(
            t("[red]Chưa sẵn sàng:[/] ", "[red]Not ready:[/] ") + ", ".join(pending)
        )
        sys.exit(1)
    _print_status()


@dev.command("status")
def status():
    """Trạng thái từng tiến trình (Status of each process).

    Exits 1 when a process is down or does not answer, so a script can
    wait on it."""
    require_rabbitmq()
    if not _print_status():
        sys.exit(EXIT_FAILED)


def _print_status():
    """Print the table on standard output; true when every process is healthy."""
    table = Table(title=t("Trạng thái hệ thống", "Stack status"))
    for column in (t("Tiến trình", "Process"), "PID", t("Sức khỏe", "Health"), "Log"):
        table.add_column(column)
    healthy = True
    for item in stack.Stack().status():
        if item.healthy:
            health = t("[green]tốt[/]", "[green]ok[/]")
        elif item.running:
            health = t("[yellow]không trả lời[/]", "[yellow]no answer[/]")
        else:
            health = t("[red]không chạy[/]", "[red]not running[/]")
        table.add_row(item.name, str(item.pid or "-"), health, str(item.log))
        healthy = healthy and item.healthy
    Console().print(table)
    return healthy


commands = (dev,)
