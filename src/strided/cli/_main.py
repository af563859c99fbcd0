"""The ``strided`` command group and its error handling.

Sub-commands live in their own modules and are imported only when used, so that
``strided --help`` stays fast and a sub-command's heavy imports (matplotlib, Pillow)
are paid only by the command that needs them.
"""

from __future__ import annotations

import importlib
import sys

import click

# name -> "module:attribute"; each module holds one click command.
COMMANDS: dict[str, str] = {
    "convert": "._models:convert_command",
    "draw": "._draw:draw",
    "explain": "._explain:explain_command",
    "explore": "._explore:explore_command",
    "filter": "._filter:filter_command",
    "kernels": "._filter:kernels_command",
    "shape": "._shape:shape_command",
    "summary": "._models:summary_command",
    "train": "._train:train",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name, __package__), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="strided")
def cli() -> None:
    """strided: convolutions exactly as TensorFlow, PyTorch and Keras compute them.

    Run `strided COMMAND --help` for the options and examples of each command.
    """


def main(argv: list[str] | None = None) -> None:
    """Run the command line; bad input ends in a one-line message and exit status 1 or 2."""
    try:
        status = cli.main(args=argv, prog_name="strided", standalone_mode=False)
    except click.ClickException as error:  # usage errors: click's message on one line, exit 2
        message = " ".join(error.format_message().split())
        context = getattr(error, "ctx", None)
        if context is not None:
            command = context.command_path
            message += f" (see '{command} --help')"
        else:
            command = "strided"
        click.echo(f"{command}: error: {message}", err=True)
        sys.exit(error.exit_code)
    except click.Abort:
        click.echo("strided: aborted", err=True)
        sys.exit(130)
    except (ValueError, TypeError, NotImplementedError, OSError, KeyError,
            ImportError) as error:  # ImportError: an optional extra is not installed
        message = " ".join(str(error).split())
        click.echo(f"strided: error: {message}", err=True)
        sys.exit(1)
    sys.exit(status if isinstance(status, int) else 0)
