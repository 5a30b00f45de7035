"""``phoihop adapters list|provision|run|release``: the agencies' adapters.

- ``list``: every adapter plugin installed and every configured adapter,
  with its agency, queue, bindings and transports (``--live`` adds the
  host's counts: backlog, delivered, dead letters, held cases);
- ``provision <agency>``: the queue and the RabbitMQ user of an adapter the
  agency runs itself (user and password shown once);
- ``run <name>``: run one adapter in this process, without the host;
- ``release <name> <case>``: let a held case flow again.

Dead letters are listed and replayed with ``phoihop deadletters``; the
queues are ``adapter.<name>`` (and ``adapter.<name>.remote``).
"""

import json
import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from phoihop.cli import EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_USAGE
from phoihop.errors import ConfigError, PhoihopError, ServiceUnavailable
from phoihop.i18n import t

console = Console()
errors = Console(stderr=True)

DEFAULT_CONFIG = "adapters.yaml"


def _config_path(path):
    from phoihop.config import CONFIG_DIR

    return Path(path) if path else CONFIG_DIR / DEFAULT_CONFIG


def _fail(message, code, fields=None):
    errors.print(f"[red]{message}[/]")
    for key, reason in (fields or {}).items():
        errors.print(f"  {key}: {reason}")
    sys.exit(code)


def _transport_summary(settings):
    """Kind and target of a transport, never a secret."""
    kind = settings.get("kind", "?")
    target = (
        settings.get("url")
        or settings.get("directory")
        or (
            f"{settings.get('host')}:{settings.get('port', 587)}"
            if kind == "email"
            else ""
        )
    )
    return f"{kind} {target}".strip()


@click.group("adapters")
def adapters():
    """Bộ chuyển đổi của các cơ quan (Agency adapters)."""


def _quiet_logs():
    # The commands print their own table; library chatter would drown it.
    from phoihop.logging import configure_logging

    configure_logging("cli", level="WARNING")


@adapters.command("list")
@click.option("--config", "config_path", default=None, help="adapters.yaml to read")
@click.option("--live", is_flag=True, help="ask the running host for its counts")
@click.option("--json", "as_json", is_flag=True, help="JSON output")
def list_adapters(config_path, live, as_json):
    """Liệt kê bộ chuyển đổi (List adapters)."""
    from phoihop.adapters.discovery import discover_adapters
    from phoihop.adapters.settings import load_section, plan_instances
    from phoihop.agencies import shipped_registry
    from phoihop.config import read_config_file

    _quiet_logs()
    registry = shipped_registry()
    discovery = discover_adapters()
    try:
        raw = read_config_file(_config_path(config_path))
        section = load_section(raw.get("adapters") or {})
    except ConfigError as exc:
        _fail(
            t("Cấu hình không hợp lệ: ", "Invalid configuration: ") + exc.message,
            EXIT_USAGE,
            exc.fields,
        )
    plan = plan_instances(section, discovery, registry)
    counts = _live_counts() if live else {}

    rows = []
    for spec in plan.instances:
        agency = registry.get(spec.agency)
        rows.append(
            {
                "name": spec.name,
                "plugin": spec.plugin or "-",
                "agency": spec.agency,
                "agency_name": agency.name,
                "run": spec.run,
                "queue": spec.remote_queue if spec.run == "remote" else spec.queue,
                "bindings": list(spec.keys),
                "transports": [_transport_summary(item) for item in spec.transports],
                "live": counts.get(spec.name),
            }
        )
    broken = {name: str(error) for name, error in plan.broken.items()}
    broken.update({f"plugin:{n}": b.error for n, b in discovery.broken.items()})
    configured = {
        (entry or {}).get("plugin") or key
        for key, entry in section.get("instances", {}).items()
    }
    unused = sorted(set(discovery.plugins) - configured)

    if as_json:
        click.echo(
            json.dumps(
                {
                    "adapters": rows,
                    "broken": broken,
                    "disabled": plan.disabled,
                    "unconfigured_plugins": unused,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table(title=t("Bộ chuyển đổi", "Adapters"))
    columns = [
        t("Tên", "Name"),
        t("Cơ quan", "Agency"),
        t("Chạy", "Runs"),
        t("Hàng đợi", "Queue"),
        t("Khóa định tuyến", "Routing keys"),
        t("Chuyển giao", "Transports"),
    ]
    if live:
        columns.append(t("Tồn / đã gửi / lỗi / giữ", "Backlog / sent / failed / held"))
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        cells = [
            f"{row['name']}\n({row['plugin']})",
            f"{row['agency_name']}\n[{row['agency']}]",
            t("nội bộ", "host")
            if row["run"] == "host"
            else t("cơ quan tự chạy", "agency"),
            row["queue"],
            "\n".join(_short_keys(row["bindings"], row["agency"])),
            "\n".join(row["transports"]) or "-",
        ]
        if live:
            cells.append(_live_cell(row["live"]))
        table.add_row(*cells)
    console.print(table)
    for name, error in sorted(broken.items()):
        console.print(
            t(f"[red]Lỗi[/] {name}: {error}", f"[red]Broken[/] {name}: {error}")
        )
    for name in plan.disabled:
        console.print(t(f"Tắt: {name}", f"Disabled: {name}"))
    if unused:
        console.print(
            t("Đã cài nhưng chưa cấu hình: ", "Installed, not configured: ")
            + ", ".join(unused)
        )


def _short_keys(keys, agency):
    """Routing keys as a reader scans them: own copies by type, the broader
    ones marked."""
    prefix = f"agency.{agency}."
    return [
        key[len(prefix) :]
        if key.startswith(prefix)
        else t(f"mọi: {key}", f"all: {key}")
        for key in keys
    ]


def _live_counts():
    from nameko.standalone.rpc import ClusterRpcProxy

    from phoihop.stack import amqp_uri, check_rabbitmq

    problem = check_rabbitmq()
    if problem:
        _fail(
            t("Không kết nối được RabbitMQ: ", "Cannot reach RabbitMQ: ") + problem,
            EXIT_UNAVAILABLE,
        )
    try:
        with ClusterRpcProxy({"AMQP_URI": amqp_uri()}, timeout=10) as proxy:
            described = proxy.adapters.list_adapters()
    except Exception as exc:  # noqa: BLE001 - the host is not running
        _fail(
            t(
                "Dịch vụ adapters không trả lời: ",
                "The adapters service did not answer: ",
            )
            + str(exc),
            EXIT_UNAVAILABLE,
        )
    return {item["name"]: item for item in described["adapters"]}


def _live_cell(item):
    if not item:
        return t("không chạy", "not running")
    ledger = item.get("ledger") or {}
    return (
        f"{item['backlog']} / {ledger.get('delivered', 0)} / "
        f"{ledger.get('dead', 0)} / {ledger.get('held_cases', 0)}"
    )


@adapters.command("provision")
@click.argument("agency")
@click.option("--name", default=None, help="adapter name (default: the agency code)")
@click.option("--plugin", default=None, help="plugin whose bindings to use")
@click.option("--management-url", default=None, help="RabbitMQ management API URL")
@click.option(
    "--password-env", default=None, help="take the password from this variable"
)
@click.option("--public-host", default=None, help="broker host name the agency reaches")
@click.option("--config", "config_path", default=None, help="adapters.yaml to read")
def provision(
    agency, name, plugin, management_url, password_env, public_host, config_path
):
    """Tạo hàng đợi và tài khoản RabbitMQ cho cơ quan tự chạy bộ chuyển đổi
    (Create the queue and RabbitMQ user of an agency-run adapter)."""
    from phoihop.adapters.discovery import discover_adapters
    from phoihop.adapters.provisioning import (
        ManagementApi,
        RabbitMqCtl,
        provision_remote_adapter,
    )
    from phoihop.adapters.settings import keys_for
    from phoihop.adapters.topology import is_valid_name
    from phoihop.agencies import shipped_registry
    from phoihop.config import read_config_file
    from phoihop.constants import EVENTS_EXCHANGE
    from phoihop.stack import amqp_uri

    _quiet_logs()
    registry = shipped_registry()
    if agency not in registry:
        _fail(
            t(
                f"Không có cơ quan {agency!r} trong danh mục.",
                f"No agency {agency!r} in the registry.",
            ),
            EXIT_USAGE,
        )
    name = name or agency
    if not is_valid_name(name):
        _fail(
            t("Tên bộ chuyển đổi không hợp lệ.", "Invalid adapter name."),
            EXIT_USAGE,
            {"--name": "lower-case ASCII letters, digits, - and _"},
        )
    plugin_name = plugin or name
    found = discover_adapters().plugins.get(plugin_name)
    keys = keys_for(found.cls, agency) if found else ()
    password = None
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            _fail(
                t(f"Biến {password_env} chưa được đặt.", f"{password_env} is not set."),
                EXIT_USAGE,
            )
    exchange = EVENTS_EXCHANGE
    path = _config_path(config_path)
    if path.exists():
        exchange = read_config_file(path).get("EVENTS_EXCHANGE") or exchange
    try:
        if management_url:
            users = ManagementApi(
                management_url,
                os.environ.get("RABBITMQ_MANAGEMENT_USER", "guest"),
                os.environ.get("RABBITMQ_MANAGEMENT_PASSWORD", "guest"),
            )
        else:
            users = RabbitMqCtl()
        done = provision_remote_adapter(
            name,
            amqp_uri(),
            users,
            password=password,
            keys=keys,
            exchange=exchange,
            public_host=public_host,
        )
    except ServiceUnavailable as exc:
        _fail(str(exc), EXIT_UNAVAILABLE)
    except PhoihopError as exc:
        _fail(exc.message, EXIT_FAILED, exc.fields)

    console.print(t("[green]Đã tạo.[/]", "[green]Provisioned.[/]"))
    console.print(t("Hàng đợi của cơ quan: ", "Agency's queue: ") + done.queue)
    console.print(t("Tài khoản: ", "User: ") + done.user)
    console.print(
        t("Quyền (cấu hình, ghi, đọc): ", "Rights (configure, write, read): ")
        + "  ".join(done.permissions)
    )
    if not password_env:
        console.print(
            t("Mật khẩu (chỉ hiện một lần): ", "Password (shown once): ")
            + done.password
        )
    console.print("AMQP_URI: " + done.amqp_uri)
    console.print(
        t(
            "Thêm vào deploy/config/adapters.yaml của máy chủ:",
            "Add to the host's deploy/config/adapters.yaml:",
        )
    )
    console.print(
        f"  {name}:\n    plugin: {plugin_name}\n    agency: {agency}\n    run: remote"
        + ("" if found else "\n    bindings: [agency." + agency + ".#]")
    )
    if not keys:
        console.print(
            t(
                "Plugin chưa được cài trên máy này: hàng đợi phía máy chủ sẽ được "
                "tạo khi dịch vụ adapters khởi động với mục cấu hình trên.",
                "The plugin is not installed here: the host-side queue is declared "
                "when the adapters service starts with the entry above.",
            )
        )


@adapters.command("run")
@click.argument("name")
@click.option(
    "--config", "config_path", default=None, help="the agency's configuration"
)
@click.option("--state", "state_path", default=None, help="SQLite file of the ledger")
@click.option(
    "--direct", is_flag=True, help="read adapter.<name> itself (needs rights)"
)
def run(name, config_path, state_path, direct):
    """Chạy một bộ chuyển đổi ngoài máy chủ (Run one adapter outside the host)."""
    from phoihop.adapters.standalone import StandaloneAdapter, load_standalone_config
    from phoihop.logging import configure_logging
    from phoihop.stack import VAR

    try:
        config = load_standalone_config(_config_path(config_path))
        configure_logging(f"adapter-{name}", level=str(config["LOG_LEVEL"]))
        state = Path(state_path) if state_path else VAR / "adapters" / f"{name}.sqlite3"
        adapter = StandaloneAdapter(name, config, state, direct=direct)
    except ConfigError as exc:
        _fail(
            t("Cấu hình không hợp lệ: ", "Invalid configuration: ") + exc.message,
            EXIT_USAGE,
            exc.fields,
        )
    fatal = adapter.run_until_stopped()
    if fatal:
        _fail(
            t("Không đọc được hàng đợi: ", "Cannot read the queue: ") + fatal,
            EXIT_UNAVAILABLE if "Access" not in fatal else EXIT_FAILED,
        )


@adapters.command("release")
@click.argument("name")
@click.argument("case_id")
@click.option("--officer", default=None, help="who releases (for the log)")
def release(name, case_id, officer):
    """Cho một vụ việc đang bị giữ chạy tiếp (Release a held case)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from phoihop.stack import amqp_uri

    actor = {"agency": "dic", "officer": officer or os.environ.get("USER")}
    try:
        with ClusterRpcProxy({"AMQP_URI": amqp_uri()}, timeout=15) as proxy:
            released = proxy.adapters.release_case(name, case_id, actor=actor)
    except PhoihopError as exc:
        _fail(exc.message, EXIT_FAILED, exc.fields)
    except Exception as exc:  # noqa: BLE001 - broker or host not there
        _fail(
            t(
                "Dịch vụ adapters không trả lời: ",
                "The adapters service did not answer: ",
            )
            + str(exc),
            EXIT_UNAVAILABLE,
        )
    console.print(
        t(
            f"Đã bỏ giữ vụ việc {case_id}; {len(released)} sự kiện còn trong "
            f"hàng thư lỗi adapter.{name}.dlq.",
            f"Released case {case_id}; {len(released)} events wait in "
            f"adapter.{name}.dlq.",
        )
    )


commands = (adapters,)
