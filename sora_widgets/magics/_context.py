"""What a handler may use: the notebook's namespace, the magic's defaults and the live display."""

from __future__ import annotations

import argparse
import keyword
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

if TYPE_CHECKING:
    from ..config import Settings
    from ._live import LiveDisplay

__all__ = ["Context", "Defaults"]


@dataclass(frozen=True)
class Defaults:
    """The ``%config SoraMagics.*`` values in effect for one call."""

    model: str | None = None
    size: str | None = None
    seconds: str | None = None
    output_dir: str | None = None
    profile: str | None = None
    base_url: str | None = None
    max_spend: float | None = None
    embed: bool | None = None


@dataclass
class Context:
    """One call of the magic: the user's namespace, the defaults, the live display, the cell body."""

    namespace: dict[str, Any]
    defaults: Defaults
    live: LiveDisplay
    cell: str | None = None
    """The cell body for ``%%sora``; None for the line magic."""

    def settings(self, args: argparse.Namespace) -> Settings:
        """Settings from ``--profile`` / ``--out``, then ``%config``, then the environment."""
        from ..config import resolve_settings, take_emulator_notice

        settings = resolve_settings(
            base_url=self.defaults.base_url or None,
            profile=getattr(args, "profile", None) or self.defaults.profile or None,
            output_dir=getattr(args, "out", None) or self.defaults.output_dir or None,
            max_spend=self.defaults.max_spend,
        )
        notice = take_emulator_notice()
        if notice is not None:  # the cell that started the emulator says so, quietly
            from IPython.display import display

            from ..display import info_line

            display(info_line(notice))
        return settings

    def embed(self, args: argparse.Namespace) -> bool:
        """``--embed``, else ``%config SoraMagics.embed``, else on in Colab (no /files/ there)."""
        if getattr(args, "embed", None):
            return True
        if self.defaults.embed is not None:
            return bool(self.defaults.embed)
        from ..display import in_colab

        return in_colab()

    def check_name(self, args: argparse.Namespace) -> str | None:
        """The ``--as`` name, refused at once when it cannot be a variable (before any request)."""
        name: str | None = getattr(args, "as_name", None)
        if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
            raise UsageError(f"--as {name!r} is not a valid variable name")
        return name

    def bind(self, name: str | None, value: object) -> None:
        """Bind ``value`` to the notebook variable ``name`` (checked by `check_name`)."""
        if name is not None:
            self.namespace[name] = value
