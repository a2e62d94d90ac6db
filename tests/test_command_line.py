"""The ``shipments`` command as a newcomer meets it: it says which store it opened, a command
that only reads never creates one, and every command and option explains itself."""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.cli import STORELESS_COMMANDS, build_parser, main, sub_parsers

READ_COMMANDS = [
    ["history", str(uuid.uuid4())],
    ["replay", str(uuid.uuid4())],
    ["projections", "status"],
    ["projections", "rebuild", "--workers", "1"],
    ["verify", "--workers", "1"],
    ["tokens", "list"],
    ["tokens", "revoke", "nobody"],
]


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with no store in it, and no store configured."""
    monkeypatch.chdir(tmp_path)
    for variable in ("SHIPMENTS_DATABASE_URL", "SHIPMENTS_TOKENS_FILE"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_a_read_command_in_a_folder_without_a_store_creates_none_and_says_where_it_looked(
    elsewhere: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        status = main(command)
    except SystemExit as exit_:
        status = exit_.code
    assert status not in (0, None)
    err = capsys.readouterr().err
    assert f"no store at sqlite:///{elsewhere}/shipments.db" in err
    assert "SHIPMENTS_DATABASE_URL" in err
    assert list(elsewhere.iterdir()) == []


def test_a_command_that_writes_creates_the_store_and_says_which(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "add", "first", "--role", "admin"]) == 0
    assert f"shipments: store sqlite:///{elsewhere}/shipments.db" in capsys.readouterr().err
    assert (elsewhere / "shipments.db").exists()

    assert main(["tokens", "list"]) == 0
    listed = capsys.readouterr()
    assert f"shipments: store sqlite:///{elsewhere}/shipments.db" in listed.err
    assert "first" in listed.out


def parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command and sub-command's parser, by its full name."""
    return sub_parsers(build_parser())


def test_every_command_has_a_description_and_every_option_its_help() -> None:
    for name, parser in parsers():
        assert parser.description, f"{name} has no description"
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, f"{name} {action.option_strings or action.dest} has no help"


def test_every_command_that_opens_the_store_says_how_it_is_chosen() -> None:
    for name, parser in parsers():
        if name.split(" ")[1:2] and name.split(" ")[1] in STORELESS_COMMANDS:
            continue
        assert "SHIPMENTS_DATABASE_URL" in parser.format_help(), name


def test_the_top_level_help_says_what_the_command_is_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "Run the event-sourced shipment service" in out
    assert "``" not in out  # no internal docstring
