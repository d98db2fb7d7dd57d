"""Every subcommand in one table, how a line is split into command and options, and the help."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ._generate import GENERATE
from ._info_commands import INFO_COMMANDS
from ._jobs_commands import JOB_COMMANDS
from ._options import Command, CommandParser

__all__ = ["COMMANDS", "help_text", "parse"]

COMMANDS: dict[str, Command] = {
    command.name: command for command in (GENERATE, *INFO_COMMANDS, *JOB_COMMANDS)
}
"""By first word; ``""`` is generating from a prompt."""

_ORDER = (
    "",
    "list",
    "status",
    "show",
    "resume",
    "remix",
    "download",
    "delete",
    "models",
    "cost",
    "config",
)


def _all_options() -> set[str]:
    return {o for command in COMMANDS.values() for o in command.parser().option_strings()}


def parse(words: Sequence[str], *, cell: bool) -> tuple[Command, argparse.Namespace]:
    """The command a line names (its first word; generating when it names none) and its options.

    Raises `UsageError` for an option the command does not take, naming it.
    """
    name = words[0] if not cell and words and words[0] in COMMANDS else ""
    command = COMMANDS[name]
    rest = words[1:] if name else words
    prog = f"%sora {name}" if name else ("%%sora" if cell else "%sora")
    args = command.parser(prog).parse_words(rest, _all_options())
    return command, args


def _option_lines(parser: CommandParser) -> list[str]:
    lines = []
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        left = ", ".join(action.option_strings)
        if action.nargs != 0:
            left += f" {action.metavar or action.dest.upper()}"
        lines.append(f"    {left:<24} {action.help or ''}")
    return lines


def help_text() -> str:
    """``%sora?``: every subcommand with its options, in plain text, with examples."""
    parts = [
        "Generate a video from a cell (%%sora), or manage jobs (%sora COMMAND).",
        "",
        "Every command takes --dry-run: it shows what would be sent (method, path, fields, cost)",
        "and sends nothing. Options may come before or after the words; an ID may be a prefix.",
    ]
    examples: list[str] = []
    for name in _ORDER:
        command = COMMANDS[name]
        parts += ["", command.usage, f"    {command.summary}", *_option_lines(command.parser())]
        examples += command.examples
    parts += ["", "Examples:"]
    for example in examples:
        parts += [f"    {line}" for line in example.splitlines()] + [""]
    parts += [
        "Defaults: %config SoraMagics.model = 'sora-2-pro' (likewise size, seconds, output_dir,",
        "profile, base_url, max_spend, embed). The key comes from SORA_API_KEY or OPENAI_API_KEY.",
        "Models: %config SoraMagics.models = {'my-veo': {'sizes': ['1280x720'], 'seconds': [8],",
        "'price': 0.4}} adds or overrides catalogue entries (so does $SORA_WIDGETS_HOME/models.toml).",
    ]
    return "\n".join(parts)
