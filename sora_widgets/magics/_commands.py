"""Every subcommand in one table, how a line is split into command and options, and the help."""

from __future__ import annotations

import argparse
import difflib
import re
import textwrap
from collections.abc import Sequence

from IPython.core.error import UsageError

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
    "compare",
    "models",
    "cost",
    "config",
)


_MORE_EXAMPLES = {
    "status": "%sora status video_68d7",
    "show": "%sora show video_68d7 --embed",
    "resume": "%sora resume --wait",
    "download": "%sora download video_68d7 --variant all -o clips",
    "compare": "%sora compare video_68d7 video_91ac video_b3f0 --labels 'close-up|golden hour|pounce'",
    "cost": "%sora cost",
    "config": "%sora config --profile emulator",
}
"""Examples for the commands whose table entry has none."""

_ID_LIKE = re.compile(r"\d|_|^\{")
"""A word that reads as a job id (``video_68d7``, ``abc123``, ``{clip.id}``) or a count."""


def _all_options() -> set[str]:
    return {o for command in COMMANDS.values() for o in command.parser().option_strings()}


def _mistyped_command(word: str, rest: Sequence[str]) -> str | None:
    """The subcommand ``word`` was most likely meant to be, when the line reads as a command
    (nothing but options after it, an id-like word next, or an option only that command takes);
    None when it reads as a prompt."""
    names = [name for name in COMMANDS if name]
    close = difflib.get_close_matches(word.lower(), names, 1, 0.75)
    if not close:
        return None
    name = close[0]
    positional = [w for w in rest if not w.startswith("-")]
    own = set(COMMANDS[name].parser().option_strings())
    prompt_options = set(COMMANDS[""].parser().option_strings())
    options = {w.split("=", 1)[0] for w in rest if w.startswith("-")}
    if not positional or _ID_LIKE.search(positional[0]) or options & (own - prompt_options):
        return name
    return None


def _check_command(words: Sequence[str]) -> None:
    """Refuse a line whose first word is a mistyped subcommand (``%sora lsit``) before it is
    taken for a prompt and sent as a paid generation."""
    if not words or words[0] in COMMANDS or words[0].startswith("-"):
        return
    name = _mistyped_command(words[0], words[1:])
    if name is not None:
        raise UsageError(
            f"%sora: unknown command {words[0]}: did you mean %sora {name}? (for a prompt that "
            f"starts with {words[0]!r}, put -- before the prompt, or use %%sora)"
        )


def parse(words: Sequence[str], *, cell: bool) -> tuple[Command, argparse.Namespace]:
    """The command a line names (its first word; generating when it names none) and its options.

    Raises `UsageError` for an option the command does not take, naming it, and for a mistyped
    subcommand (``%sora lsit``: did you mean %sora list?) rather than generating from it;
    ``%sora -- PROMPT`` or ``%%sora`` takes such a word as a prompt.
    """
    checked = not cell and "--" not in words
    if checked:
        _check_command(words)
    name = words[0] if not cell and words and words[0] in COMMANDS else ""
    command = COMMANDS[name]
    rest = words[1:] if name else words
    prog = f"%sora {name}" if name else ("%%sora" if cell else "%sora")
    args = command.parser(prog).parse_words(rest, _all_options())
    if checked and not name:  # the words after the options: %sora --dry-run lsit
        _check_command(args.words)
    return command, args


def _option_lines(parser: CommandParser) -> list[str]:
    lines = []
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        left = ", ".join(action.option_strings)
        if action.nargs != 0:
            left += f" {action.metavar or action.dest.upper()}"
        text = (action.help or "").replace("%%", "%")  # argparse's escape, not for readers
        helps = textwrap.wrap(text, _HELP_WIDTH - 29) or [""]
        lines.append(f"    {left:<24} {helps[0]}".rstrip())
        lines += [" " * 29 + more for more in helps[1:]]
    return lines


_HELP_WIDTH = 96


def help_text() -> str:
    """``%sora?``: what the magic does, examples, then every subcommand with its options; plain
    text (IPython shows it as it is: no reST, no markup)."""
    names = ", ".join(name for name in _ORDER if name)
    parts = [
        "%%sora and %sora: make videos with a /v1/videos API (OpenAI's Sora, a gateway such as",
        "LiteLLM, or the local emulator), and follow, play and manage the jobs.",
        "",
        "    %%sora [options]           the cell below the line is the prompt",
        "    %sora [options] PROMPT     the rest of the line is the prompt",
        "    %sora COMMAND ...          one of the commands below:",
        *textwrap.wrap(names, _HELP_WIDTH - 8, initial_indent=" " * 8, subsequent_indent=" " * 8),
        "",
        "Every command takes --dry-run: it shows what would be sent (method, path, fields, cost)",
        "and sends nothing. Options may come before or after the other words; an ID may be the",
        "short id %sora list shows, or any other unique start of it. {name} in a prompt takes the",
        "value of a notebook variable. A prompt that starts with a command's name: put -- first.",
        "",
        "Examples:",
    ]
    for name in _ORDER:  # a cell (two lines or more) stands apart; one-liners go together
        command = COMMANDS[name]
        examples = command.examples or ((_MORE_EXAMPLES[name],) if name in _MORE_EXAMPLES else ())
        for example in examples:
            lines = [f"    {line}" for line in example.splitlines()]
            cell = example.startswith("%%")
            if cell and parts[-1] not in ("", "Examples:"):
                parts.append("")
            parts += lines + ([""] if cell else [])
    if parts[-1]:
        parts.append("")
    parts += ["Commands and their options:"]
    for name in _ORDER:
        command = COMMANDS[name]
        parts += ["", command.usage, f"    {command.summary}", *_option_lines(command.parser())]
    parts += [
        "",
        "Defaults: %config SoraMagics.model = 'sora-2-pro' (likewise size, seconds, output_dir,",
        "profile, base_url, max_spend, embed); %config SoraMagics lists them. The key comes from",
        "SORA_API_KEY or OPENAI_API_KEY.",
        "Models: %config SoraMagics.models = {'my-veo': {'sizes': ['1280x720'], 'seconds': [8],",
        "'price': 0.4}} adds or overrides catalogue entries (so does $SORA_WIDGETS_HOME/models.toml).",
    ]
    return "\n".join(parts)
