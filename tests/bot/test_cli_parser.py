"""The command line's parser: every command in COMMANDS, and only the asked one's module loaded."""

from __future__ import annotations

import pytest

from bot.cli import COMMANDS, build_parser
from tests.probes import run_python


def _commands(parser) -> set[str]:
    (subparsers,) = [action for action in parser._actions if action.dest == "command"]
    return set(subparsers.choices)


def test_without_a_command_the_parser_knows_every_command():
    expected = set(COMMANDS)

    assert _commands(build_parser([])) == expected


def test_a_command_is_parsed_with_its_options_after_the_global_ones():
    args = build_parser(["--lang", "en", "--db", "sqlite+aiosqlite:///x.db", "run"]).parse_args(
        ["--lang", "en", "--db", "sqlite+aiosqlite:///x.db", "run", "--transport", "telegram"]
    )

    assert (args.command, args.transport, args.lang) == ("run", "telegram", "en")


def test_running_the_bot_loads_no_other_commands_module():
    probe = (
        "import sys; from bot.cli import build_parser; "
        "build_parser(['--config', 'nhacviec.toml', 'run']); "
        "print(sorted(m for m in sys.modules if m.startswith('bot.cli.')))"
    )
    # `run` takes the console's options from the chat command's module.
    assert run_python(probe) == "['bot.cli.chat', 'bot.cli.run']"


def test_an_unknown_command_is_refused_with_the_list_of_commands(capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser(["bogus"]).parse_args(["bogus"])

    assert exited.value.code == 2
    assert "choose from 'agencies'" in capsys.readouterr().err
