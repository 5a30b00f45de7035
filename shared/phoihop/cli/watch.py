"""``phoihop watch``: the live event stream in a terminal or a pipe.

On a terminal each event is one coloured line (local time, type, case,
agency, what changed); piped, each event is one JSON object per line, for
``jq`` or a log shipper. The watcher reads its own exclusive, auto-deleting
queue (``phoihop.stream``), so it never slows the bus, and it shows each
event once even when per-agency copies carry it again.
"""

import json
import sys

import click
from rich.console import Console
from rich.text import Text

from phoihop.cli import EXIT_OK, EXIT_UNAVAILABLE
from phoihop.constants import EVENTS_EXCHANGE
from phoihop.errors import ServiceUnavailable
from phoihop.i18n import local_time, t
from phoihop.logging import configure_logging, mask_secrets
from phoihop.stack import amqp_uri as default_amqp_uri
from phoihop.stream import EventStream, StreamFilter

# Colour of an event by its type (exact) or its domain (prefix).
STYLES = {
    "deadline.overdue": "bold red",
    "press.initial_info_overdue": "bold red",
    "deadline.due_soon": "yellow",
    "deadline.met": "green",
    "case.escalated": "bold magenta",
    "case.rejected": "dim cyan",
    "case.closed": "green",
    "case.resolved": "green",
    "report.quarantined": "red",
}
DOMAIN_STYLES = {
    "case": "cyan",
    "report": "white",
    "deadline": "yellow",
    "consultation": "blue",
    "meeting": "blue",
    "measure": "green",
    "press": "magenta",
}

# Payload fields worth a glance, in the order they are shown.
SUMMARY_FIELDS = (
    "channel",
    "lead",
    "to_agency",
    "agency",
    "owner_agency",
    "kind",
    "outcome",
    "result",
    "position",
    "to",
    "categories",
    "due_at",
    "title",
)


def style_of(event_type):
    if event_type in STYLES:
        return STYLES[event_type]
    return DOMAIN_STYLES.get((event_type or "").split(".")[0], "white")


def _value(key, value):
    if key.endswith("_at") and isinstance(value, str):
        return local_time(value, "%H:%M %d/%m")
    if isinstance(value, list):
        return ",".join(str(item) for item in value[:4]) + (
            "…" if len(value) > 4 else ""
        )
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def summary(event):
    """What changed, in a few words: the state move and the main fields."""
    payload = event.get("payload") or {}
    parts = []
    if payload.get("state"):
        before = payload.get("previous_state")
        parts.append(f"{before} → {payload['state']}" if before else payload["state"])
    for key in SUMMARY_FIELDS:
        value = payload.get(key)
        if value in (None, "", []):
            continue
        if key == "agency" and value == (event.get("actor") or {}).get("agency"):
            continue
        parts.append(f"{key}={_value(key, value)}")
    return "  ".join(parts)


def render(event):
    """One terminal line for an event, as rich Text."""
    line = Text()
    line.append(local_time(event.get("occurred_at"), "%H:%M:%S %d/%m"), style="dim")
    line.append("  ")
    line.append(f"{event.get('type', '?'):<32}", style=style_of(event.get("type")))
    line.append(f"{event.get('case_id') or '-':<22}", style="bold")
    agency = (event.get("actor") or {}).get("agency") or "-"
    line.append(f"{agency:<14}", style="dim")
    if event.get("classification") in ("confidential", "secret"):
        line.append("[MẬT] ", style="bold red")
    line.append(summary(event))
    return line


@click.command("watch")
@click.option(
    "--type",
    "-t",
    "types",
    multiple=True,
    help="event type or pattern, e.g. case.* (repeatable)",
)
@click.option(
    "--agency", "-a", "agencies", multiple=True, help="agency code (repeatable)"
)
@click.option("--case", "-c", "cases", multiple=True, help="case id (repeatable)")
@click.option(
    "--category",
    "categories",
    multiple=True,
    help="category, e.g. fraud_scam (repeatable)",
)
@click.option(
    "--json/--pretty",
    "as_json",
    default=None,
    help="JSON lines (default when piped) or coloured lines",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="stop after this many events",
)
@click.option(
    "--show-classified",
    is_flag=True,
    help="show the content of classified events (cleared viewers only)",
)
@click.option("--amqp-uri", envvar="AMQP_URI", default=None, help="broker (AMQP_URI)")
@click.option(
    "--exchange",
    envvar="PHOIHOP_EXCHANGE",
    default=EVENTS_EXCHANGE,
    show_default=True,
    help="events exchange (PHOIHOP_EXCHANGE)",
)
def watch(
    types,
    agencies,
    cases,
    categories,
    as_json,
    limit,
    show_classified,
    amqp_uri,
    exchange,
):
    """Theo dõi sự kiện trực tiếp (Watch events live)."""
    # Log lines go to stderr, warnings only: stdout is the stream itself.
    configure_logging(level="WARNING")
    uri = amqp_uri or default_amqp_uri()
    if as_json is None:
        as_json = not sys.stdout.isatty()
    console = Console(highlight=False)
    errors = Console(stderr=True)
    only = StreamFilter(
        types=types, agencies=agencies, cases=cases, categories=categories
    )
    stream = EventStream(uri, exchange, only, redact=not show_classified, name="watch")
    try:
        stream.open()
    except ServiceUnavailable as exc:
        errors.print(
            t(
                "[red]Không kết nối được RabbitMQ[/] tại ",
                "[red]Cannot reach RabbitMQ[/] at ",
            )
            + mask_secrets(uri)
            + f": {exc.message}"
        )
        sys.exit(EXIT_UNAVAILABLE)

    if not as_json:
        errors.print(
            t(
                "Đang theo dõi sự kiện (Ctrl-C để dừng)…",
                "Watching events (Ctrl-C to stop)…",
            ),
            style="dim",
        )
    shown = 0
    try:
        for event in stream:
            if as_json:
                click.echo(json.dumps(event, ensure_ascii=False, default=str))
            else:
                console.print(render(event))
            shown += 1
            if limit and shown >= limit:
                break
    except KeyboardInterrupt:
        pass
    except ServiceUnavailable as exc:
        errors.print(
            t("[red]Mất kết nối RabbitMQ:[/] ", "[red]Lost RabbitMQ:[/] ") + exc.message
        )
        sys.exit(EXIT_UNAVAILABLE)
    finally:
        stream.close()
    sys.exit(EXIT_OK)


commands = (watch,)
