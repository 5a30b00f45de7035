"""``phoihop credentials create|list|revoke``: the API keys of officers and
adapters, managed by ops on the gateway's own database.

    phoihop credentials create --agency police --officer "Trần Văn B" \\
        --role focal_point --clearance secret --days 90
    phoihop credentials list [--agency police] [--all]
    phoihop credentials revoke <key id> --reason "chuyển công tác"

The database is the one of ``deploy/config/gateway.yaml`` (MONGODB_URI and
PHOIHOP_DB_PREFIX from the environment as usual). The key is printed once,
when it is created; only its salted hash is stored, peppered with
``PHOIHOP_API_KEY_PEPPER``, which must be the gateway's own value.
Exit codes: 0 done, 1 refused, 2 bad input, 3 database unreachable.
"""

import json
import os
import sys

import click
from pymongo.errors import PyMongoError
from rich.console import Console
from rich.table import Table

from phoihop.auth import (
    CREDENTIAL_KINDS,
    DEFAULT_KEY_DAYS,
    MAX_KEY_DAYS,
    PEPPER_ENV,
    ROLE_LABELS,
    ROLES,
    CredentialStore,
)
from phoihop.cli import EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_USAGE
from phoihop.config import db_prefix, load_service_config, mongodb_uri
from phoihop.constants import CLASSIFICATIONS
from phoihop.errors import ConfigError, NotFound, ValidationError
from phoihop.i18n import local_time, t
from phoihop.logging import configure_logging
from phoihop.store import database_name, get_database, make_client

console = Console()
errors = Console(stderr=True)


def _store(config_path):
    # The audit lines of CredentialStore go to stderr, never into the output.
    configure_logging("credentials")
    try:
        config = load_service_config("gateway", path=config_path)
    except ConfigError as exc:
        errors.print(
            t(f"Cấu hình không hợp lệ: {exc}", f"Invalid configuration: {exc}")
        )
        sys.exit(EXIT_USAGE)
    if not os.environ.get(PEPPER_ENV):
        errors.print(
            t(
                f"[yellow]Chưa đặt {PEPPER_ENV}: khóa chỉ được băm với muối riêng, "
                "không có khóa bí mật của máy chủ. "
                "Hãy đặt cùng giá trị với gateway.[/]",
                f"[yellow]{PEPPER_ENV} is not set: keys are hashed with their salt "
                "only, without the server pepper. Set the gateway's value.[/]",
            )
        )
    client = make_client(mongodb_uri(config), serverSelectionTimeoutMS=5000)
    db = get_database(client, database_name(db_prefix(config), "gateway"))
    return client, CredentialStore(db)


def _run(config_path, work):
    client, store = _store(config_path)
    try:
        store.ensure_indexes()
        return work(store)
    except PyMongoError as exc:
        errors.print(
            t(
                f"[red]Không kết nối được cơ sở dữ liệu:[/] {exc}",
                f"[red]Database unreachable:[/] {exc}",
            )
        )
        sys.exit(EXIT_UNAVAILABLE)
    except ValidationError as exc:
        errors.print(
            t(
                f"[red]Dữ liệu không hợp lệ:[/] {exc.message}",
                f"[red]Invalid input:[/] {exc.message}",
            )
        )
        for field, reason in exc.fields.items():
            errors.print(f"  {field}: {reason}")
        sys.exit(EXIT_USAGE)
    except NotFound as exc:
        errors.print(
            t(
                f"[red]Không tìm thấy:[/] {exc.message}",
                f"[red]Not found:[/] {exc.message}",
            )
        )
        sys.exit(EXIT_FAILED)
    finally:
        client.close()


def _who():
    return os.environ.get("SUDO_USER") or os.environ.get("USER") or "ops"


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="gateway configuration file",
)


@click.group("credentials")
def credentials():
    """Khóa truy cập API (API credentials)."""


@credentials.command("create")
@click.option("--agency", required=True, help="agency code of the registry")
@click.option("--officer", required=True, help="the officer's name, or the adapter's")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(ROLES),
    help="repeat for several roles",
)
@click.option(
    "--clearance",
    default="internal",
    type=click.Choice(CLASSIFICATIONS),
    show_default=True,
)
@click.option(
    "--kind", default="officer", type=click.Choice(CREDENTIAL_KINDS), show_default=True
)
@click.option(
    "--days",
    default=DEFAULT_KEY_DAYS,
    type=click.IntRange(1, MAX_KEY_DAYS),
    show_default=True,
    help="days until the key expires",
)
@click.option("--note", default="")
@click.option("--json", "as_json", is_flag=True)
@config_option
def create(agency, officer, roles, clearance, kind, days, note, as_json, config_path):
    """Tạo khóa truy cập (Create an API key); khóa chỉ hiện một lần."""
    record, key = _run(
        config_path,
        lambda store: store.create(
            agency,
            officer,
            list(roles),
            clearance=clearance,
            kind=kind,
            days=days,
            created_by=_who(),
            note=note,
        ),
    )
    if as_json:
        click.echo(
            json.dumps({**record, "api_key": key}, ensure_ascii=False, default=str)
        )
        return
    console.print(
        t(
            f"[green]Đã tạo khóa[/] {record['key_id']} cho {officer} ({agency}), "
            f"hết hạn {local_time(record['expires_at'])}.",
            f"[green]Created key[/] {record['key_id']} for {officer} ({agency}), "
            f"expires {local_time(record['expires_at'])}.",
        )
    )
    console.print(
        t(
            "Khóa (chỉ hiện một lần, hãy lưu giữ an toàn):",
            "Key (shown once; keep it safe):",
        )
    )
    click.echo(key)


@credentials.command("list")
@click.option("--agency", default=None)
@click.option("--all", "include_revoked", is_flag=True, help="include revoked keys")
@click.option("--json", "as_json", is_flag=True)
@config_option
def list_credentials(agency, include_revoked, as_json, config_path):
    """Liệt kê khóa truy cập (List API keys)."""
    records = _run(config_path, lambda store: store.list(agency, include_revoked))
    if as_json:
        for record in records:
            click.echo(json.dumps(record, ensure_ascii=False, default=str))
        return
    table = Table(title=t("Khóa truy cập", "API keys"))
    table.add_column("ID", no_wrap=True)
    for column in (
        t("Cơ quan", "Agency"),
        t("Người dùng", "Holder"),
        t("Vai trò", "Roles"),
        t("Mức mật", "Clearance"),
        t("Trạng thái", "Status"),
        t("Hết hạn", "Expires"),
        t("Dùng lần cuối", "Last used"),
    ):
        table.add_column(column)
    status_labels = {
        "active": t("hiệu lực", "active"),
        "expired": t("hết hạn", "expired"),
        "revoked": t("đã thu hồi", "revoked"),
    }
    for record in records:
        roles = ", ".join(t(*ROLE_LABELS[role]) for role in record["roles"])
        table.add_row(
            record["key_id"],
            record["agency"],
            record["officer"],
            roles,
            record["clearance"],
            status_labels[record["status"]],
            local_time(record["expires_at"]),
            local_time(record["last_used_at"]),
        )
    console.print(table)


@credentials.command("revoke")
@click.argument("key_id")
@click.option("--reason", required=True, help="why the key is revoked")
@config_option
def revoke(key_id, reason, config_path):
    """Thu hồi khóa truy cập ngay lập tức (Revoke an API key at once)."""
    record = _run(config_path, lambda store: store.revoke(key_id, _who(), reason))
    console.print(
        t(
            f"[green]Đã thu hồi khóa[/] {record['key_id']} của {record['officer']}.",
            f"[green]Revoked key[/] {record['key_id']} of {record['officer']}.",
        )
    )


commands = (credentials,)
