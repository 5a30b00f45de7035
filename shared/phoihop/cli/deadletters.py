"""``phoihop deadletters list|replay``: what failed, and sending it again."""

import json
import os
import sys

import click
from rich.console import Console
from rich.table import Table

from phoihop.cli.tables import keep_whole
from phoihop.deadletters import DeadLetters
from phoihop.i18n import t
from phoihop.stack import amqp_uri

console = Console()


def known_queues():
    """Every consumer queue the services and adapters declare."""
    from phoihop.queues import consumer_queues

    return consumer_queues()


@click.group("deadletters")
def deadletters():
    """Thư lỗi (Dead letters): liệt kê và gửi lại."""


@deadletters.command("list")
@click.option("--queue", default=None, help="one consumer queue; default: all")
@click.option("--json", "as_json", is_flag=True, help="JSON lines output")
def list_letters(queue, as_json):
    """Liệt kê thư lỗi (List dead letters)."""
    client = DeadLetters(amqp_uri())
    queues = [queue] if queue else known_queues()
    table = Table(title=t("Thư lỗi", "Dead letters"))
    for column in (
        t("Hàng đợi", "Queue"),
        t("Sự kiện", "Event"),
        t("Loại", "Type"),
        t("Số lần", "Attempts"),
        t("Lỗi", "Error"),
    ):
        table.add_column(column)
    total = 0
    for name in queues:
        if not queue and client.count(name) == 0:
            continue
        for letter in client.list(name):
            total += 1
            if as_json:
                click.echo(json.dumps(letter.__dict__, ensure_ascii=False, default=str))
            else:
                table.add_row(
                    name,
                    letter.event_id or "-",
                    letter.event_type or "-",
                    str(letter.attempts),
                    letter.error[-200:],
                )
    if not as_json:
        console.print(keep_whole(table, 0, 1))
        console.print(t(f"Tổng cộng: {total}", f"Total: {total}"))


@deadletters.command("replay")
@click.argument("queue")
@click.option("--event", "event_ids", multiple=True, help="only these event ids")
def replay(queue, event_ids):
    """Gửi lại thư lỗi về hàng đợi (Replay dead letters to their queue)."""
    count = DeadLetters(amqp_uri()).replay(queue, set(event_ids) or None)
    console.print(t(f"Đã gửi lại {count} thư.", f"Replayed {count} messages."))
    sys.exit(0 if count or os.environ.get("PHOIHOP_ALLOW_EMPTY") else 1)


commands = (deadletters,)
