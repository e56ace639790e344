"""Entry point of the ``ylg`` command: the group, error handling, command discovery.

Every module in :mod:`ylg.cli.commands` exposes ``COMMANDS``, a list of click commands
or groups; they are added here, so a new verb is a new module and nothing else.
Errors a user causes (:class:`ylg.errors.YlgError`, click usage errors) print one
line on stderr and exit with code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from ylg import __version__
from ylg.errors import YlgError


def one_line(exc: YlgError) -> str:
    """The error's message; for one a torch DataLoader worker raised (re-raised with the
    worker's whole traceback as its text), the original message alone.

    >>> one_line(YlgError("Caught YlgError in DataLoader worker process 0.\\nOriginal"
    ...     " Traceback (most recent call last):\\n  File ...\\nylg.errors.YlgError: bad.png"))
    'bad.png'
    """
    text = str(exc)
    if "\nOriginal Traceback" in text:
        last = text.rstrip().splitlines()[-1]
        text = last.split(": ", 1)[1] if ": " in last else last
    return text


class YlgGroup(click.Group):
    """A click group that lists its commands in the order they were added."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=YlgGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ylg")
def cli() -> None:
    """ylg: design, verify and use two-dimensional sparse attention.

    \b
    Examples:
      ylg patterns list
      ylg patterns show ltr --grid 4x4
      ylg export ltr --grid 32x32 --order esa -o ltr.npz
    """


def _register() -> None:
    from ylg.cli import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            cli.add_command(command)


_register()


def repeated_option(argv: list[str]) -> str | None:
    """The message for a single-valued option given more than once, else ``None``.

    click keeps the last of ``--order esa --order rowmajor`` silently; ylg refuses it,
    for every command, before anything runs.

    >>> repeated_option(["verify", "ltr", "--grid", "4x4", "--order", "esa", "--order", "snake"])
    "option '--order' given 2 times; give it once (see 'ylg verify --help')"
    >>> repeated_option(["verify", "ltr", "--grid", "4x4"]) is None
    True
    """
    ctx = click.Context(cli, info_name="ylg", resilient_parsing=True)
    command: click.Command = cli
    args = list(argv)
    while isinstance(command, click.Group):
        if not args or args[0].startswith("-"):
            return None
        sub = command.get_command(ctx, args[0])
        if sub is None:
            return None
        command = sub
        ctx = click.Context(command, info_name=args.pop(0), parent=ctx, resilient_parsing=True)
    try:
        _, _, order = command.make_parser(ctx).parse_args(args=args)
    except click.ClickException:
        return None  # click reports it when the command runs
    counts: dict[click.Option, int] = {}
    for param in order:
        if not isinstance(param, click.Option) or param.multiple or param.count:
            continue
        if param.is_flag and not param.secondary_opts:
            continue  # --json --json says the same thing twice
        counts[param] = counts.get(param, 0) + 1
    for param, times in counts.items():
        if times > 1:
            names = "/".join([*param.opts, *param.secondary_opts])
            hint = f"(see '{ctx.command_path} --help')"
            return f"option '{names}' given {times} times; give it once {hint}"
    return None


def main(argv: list[str] | None = None) -> None:
    """Run the command line; exit 2 with one line on stderr for bad input."""
    repeated = repeated_option(sys.argv[1:] if argv is None else list(argv))
    if repeated is not None:
        click.echo(f"Error: {repeated}", err=True)
        sys.exit(2)
    try:
        code = cli.main(args=argv, prog_name="ylg", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: show its help
            click.echo(exc.format_message())
            sys.exit(0)
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            hint = f" (see '{ctx.command_path} --help')"
        click.echo(f"Error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except YlgError as exc:
        click.echo(f"Error: {one_line(exc)}", err=True)
        sys.exit(2)
    except MemoryError:
        click.echo("Error: out of memory; use a smaller grid, batch or model", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
