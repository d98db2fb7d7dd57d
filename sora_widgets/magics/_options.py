"""Each subcommand's own options: a parser that raises `UsageError`, and the shared option sets.

A word that looks like an option is checked before argparse sees it, so a mistake gets one line
that names it, with the nearest option when there is one: ``%sora delete does not take --size;
see %sora?`` when another command takes it, ``%%sora: unrecognized option --sise: did you mean
--size?`` when none does. A mistyped choice gets the same (``--fit contian``: did you mean
contain?).
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

if TYPE_CHECKING:
    from ._context import Context

__all__ = [
    "Command",
    "CommandParser",
    "add_as",
    "add_dry_run",
    "add_live",
    "add_no_interpolate",
    "add_settings",
]

_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")
"""What argparse reads as a value, not an option (``-n -1``)."""
_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")


def _nearest(word: str, offered: Sequence[str]) -> str | None:
    """The one of ``offered`` that ``word`` was most likely meant to be (case aside), or None."""
    by_lower = {o.lower(): o for o in offered}
    close = difflib.get_close_matches(word.lower(), list(by_lower), 1, 0.6)
    return by_lower[close[0]] if close else None


Handler = Callable[["Context", argparse.Namespace], object]
"""A subcommand: takes the context and its parsed options, returns something to display (or None)."""


class CommandParser(argparse.ArgumentParser):
    """An argparse parser for one subcommand that raises `UsageError` instead of exiting."""

    def __init__(self, prog: str, description: str) -> None:
        super().__init__(prog=prog, description=description, add_help=False, allow_abbrev=False)

    def error(self, message: str) -> Any:  # argparse's hook: never exit the kernel
        """Raise the parse error as one `UsageError` line (a mistyped choice gets the nearest)."""
        choice = _INVALID_CHOICE.search(message)
        if choice is not None:
            given, offered = choice.group(1), re.findall(r"'([^']*)'", choice.group(2))
            close = _nearest(given, offered)
            if close is not None:
                raise UsageError(f"{self.prog}: {message}: did you mean {close}?")
        raise UsageError(f"{self.prog}: {message}; see %sora?")

    def option_strings(self) -> list[str]:
        """Every option this parser takes, e.g. ``["-s", "--size", …]``."""
        return [s for action in self._actions for s in action.option_strings]

    def check_options(self, words: Sequence[str], elsewhere: Iterable[str]) -> None:
        """Refuse, with one line naming it (and the nearest option this parser takes), the first
        option word this parser does not take."""
        own = self.option_strings()
        longs = [o for o in own if o.startswith("--")]
        for word in words:
            if word == "--":
                return
            if not word.startswith("-") or word == "-" or _NEGATIVE_NUMBER.match(word):
                continue
            name = word.split("=", 1)[0]
            if word.startswith("--"):
                if name in own:
                    continue
                option = name
            elif "-" + name in longs:  # -size: --size with one dash (not -s with "ize")
                option = name
            elif word[:2] in own:
                continue
            else:  # -wiat: the whole word is named, and compared with --wait
                option = name if len(name) > 2 and name[1:].isalpha() else word[:2]
            if option.startswith("--") or len(option) > 2:
                close = _nearest(option if option.startswith("--") else "-" + option, longs)
            else:  # -S for -s; no guess from one letter
                close = next((o for o in own if o.lower() == option.lower()), None)
            if option in set(elsewhere):
                if close is None:
                    raise UsageError(f"{self.prog} does not take {option}; see %sora?")
                raise UsageError(f"{self.prog} does not take {option}: did you mean {close}?")
            if close is None:
                raise UsageError(f"{self.prog}: unrecognized option {option}; see %sora?")
            raise UsageError(f"{self.prog}: unrecognized option {option}: did you mean {close}?")

    def parse_words(self, words: Sequence[str], elsewhere: Iterable[str]) -> argparse.Namespace:
        """Parse ``words`` (options may come before, between or after the positional words)."""
        self.check_options(words, elsewhere)
        return self.parse_intermixed_args(list(words))


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, usage line, summary, options and handler."""

    name: str
    """The first word (``""`` for generating from a prompt)."""
    usage: str
    """E.g. ``%sora delete ID``."""
    summary: str
    options: Callable[[CommandParser], None]
    """Adds this command's options (and positional words) to a parser."""
    handle: Handler
    examples: tuple[str, ...] = field(default=())

    def parser(self, prog: str | None = None) -> CommandParser:
        """A fresh parser for this command."""
        parser = CommandParser(prog or f"%sora {self.name}".rstrip(), self.summary)
        self.options(parser)
        return parser


# -- option sets shared by several commands ---------------------------------------------------


def add_settings(parser: CommandParser, *, out: bool = True) -> None:
    """``--profile`` (and ``-o/--out`` where files are written)."""
    parser.add_argument("--profile", help="provider profile: openai, relay, litellm or emulator")
    if out:
        parser.add_argument(
            "-o", "--out", metavar="DIR", help="output folder (default: SoraMagics.output_dir)"
        )


def add_dry_run(parser: CommandParser, what: str) -> None:
    """``--dry-run``: show what would be sent, send nothing (``what`` is its help text)."""
    parser.add_argument("--dry-run", action="store_true", help=what)


def add_live(parser: CommandParser) -> None:
    """``--wait`` and ``--embed`` for commands that show jobs live."""
    parser.add_argument(
        "--wait", action="store_true", help="block until done (Run All, headless runs)"
    )
    parser.add_argument(
        "--embed", action="store_true", default=None, help="inline the finished MP4 in the notebook"
    )


def add_as(parser: CommandParser, what: str = "the Job") -> None:
    """``--as NAME``: bind the result to a notebook variable."""
    parser.add_argument(
        "--as", dest="as_name", metavar="NAME", help=f"bind {what} to this variable"
    )


def add_no_interpolate(parser: CommandParser) -> None:
    """``--no-interpolate``: keep ``{name}`` as written."""
    parser.add_argument(
        "--no-interpolate", action="store_true", help="keep {name} in the prompt as written"
    )
