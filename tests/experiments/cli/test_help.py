"""Help texts: every command and every option explains itself, in clean text."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from experiments.cli import cli


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(cli))


def _resolve(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(("pathlift", *p)))
def test_every_option_has_help(path):
    command = _resolve(path)
    assert command.help, "the command has no description"
    missing = [
        p.opts[0]
        for p in command.params
        if isinstance(p, click.Option) and not p.hidden and not p.help
    ]
    assert not missing, f"options without help: {missing}"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(("pathlift", *p)))
def test_help_text_is_clean(path):
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    # printf-style escapes do not belong in click help; nor do unfilled placeholders
    for bad in ("%%", "%(", "{}", "None)"):
        assert bad not in result.output, f"{bad!r} in:\n{result.output}"
