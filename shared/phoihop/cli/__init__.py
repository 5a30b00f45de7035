"""The ``phoihop`` command for officers and ops.

Messages are in Vietnamese; ``--lang en`` or ``PHOIHOP_LANG=en`` gives
English. Exit codes: 0 success, 1 the request was refused or failed, 2 bad
usage or input, 3 a service (broker, database) could not be reached.
"""

import sys

# A service process must be monkey-patched by eventlet before anything else
# imports socket or threading; nameko's own runner does the same.
if "run" in sys.argv[1:4]:
    import eventlet

    eventlet.monkey_patch()

import importlib  # noqa: E402
import os  # noqa: E402

import click  # noqa: E402

from phoihop.i18n import set_language  # noqa: E402
from phoihop.logging import configure_logging  # noqa: E402

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

# Each module defines ``commands``: click commands or groups to add.
COMMAND_MODULES = (
    "dev",
    "run",
    "deadletters",
    "intake",
    "cases",
    "credentials",
    "reports",
    "watch",
    "adapters",
    "demo",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--lang", type=click.Choice(["vi", "en"]), default=None, help="vi or en")
@click.pass_context
def main(context, lang):
    """phoihop: phối hợp xử lý thông tin xấu, độc trên không gian mạng."""
    # Set on every call, so that one call's --lang does not outlive it in
    # a process that runs several (None: PHOIHOP_LANG or Vietnamese).
    set_language(lang)
    if context.invoked_subcommand != "run":
        # A command talks to the user through its own messages; library and
        # operator logs only when something goes wrong (a service configures
        # its own logging in ``run``).
        configure_logging(
            "cli", level=os.environ.get("PHOIHOP_CLI_LOG_LEVEL", "WARNING")
        )


def _register():
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"phoihop.cli.{name}")
        for command in getattr(module, "commands", ()):
            main.add_command(command)


_register()

if __name__ == "__main__":
    sys.exit(main())
