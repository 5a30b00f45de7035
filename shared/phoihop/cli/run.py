"""``phoihop run <service>``: run one service in the foreground."""

import sys

import click

from phoihop.errors import ConfigError
from phoihop.i18n import t
from phoihop.runner import SERVICES


@click.command("run")
@click.argument("service", type=click.Choice(SERVICES))
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
def run(service, config_path):
    """Chạy một dịch vụ (Run one service)."""
    from phoihop.runner import run_service

    try:
        run_service(service, config_path)
    except ConfigError as exc:
        click.echo(
            t("Cấu hình không hợp lệ: ", "Invalid configuration: ") + str(exc), err=True
        )
        for key, problem in exc.fields.items():
            click.echo(f"  {key}: {problem}", err=True)
        sys.exit(2)


commands = (run,)
