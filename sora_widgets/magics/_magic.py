"""The ``%sora`` / ``%%sora`` entry point: split the line, pick the command, display its result.

Handlers live in ``_generate``, ``_jobs_commands`` and ``_info_commands``; each takes a `Context`
and its parsed options and returns something to display. Mistakes and `SoraError` become one
`UsageError` line, never a traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.utils.process import arg_split  # type: ignore[attr-defined]
from traitlets import Bool, Dict, Float, Unicode

from ._commands import help_text, parse
from ._context import Context, Defaults
from ._live import LiveDisplay

__all__ = ["SoraMagics", "load_ipython_extension", "unload_ipython_extension"]


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the kit's errors into one `UsageError` line (an interrupt passes through)."""
    try:
        yield
    except (UsageError, KeyboardInterrupt):
        raise
    except Exception as exc:
        from ..api import SoraError

        if isinstance(exc, SoraError):
            raise UsageError(str(exc)) from None
        raise


def _split(line: str) -> list[str]:
    try:
        words: list[str] = arg_split(line, posix=True)
    except Exception as exc:  # shlex errors such as an unclosed quote
        raise UsageError(f"cannot read the options {line!r}: {exc}") from None
    return words


@magics_class
class SoraMagics(Magics):
    """Generate videos from notebook cells (%%sora; %sora? for help).

    Defaults: %config SoraMagics.NAME = VALUE (%config SoraMagics lists them).
    """

    model = Unicode(
        None, allow_none=True, help="Default model (e.g. sora-2, veo-3.1-generate-preview)."
    ).tag(config=True)
    size = Unicode(
        None, allow_none=True, help="Default size: 1280x720, 16:9, 720p, auto, landscape…"
    ).tag(config=True)
    seconds = Unicode(None, allow_none=True, help="Default length in seconds (e.g. 4).").tag(
        config=True
    )
    models = Dict(
        help=(
            "Catalogue entries to add or override, by model name: "
            "{'my-veo': {'sizes': ['1280x720'], 'seconds': [4, 8], 'price': 0.4}}"
        )
    ).tag(config=True)
    output_dir = Unicode("sora_videos", help="Folder for videos, thumbnails, spritesheets.").tag(
        config=True
    )
    profile = Unicode(None, allow_none=True, help="Provider profile: openai, relay, emulator.").tag(
        config=True
    )
    base_url = Unicode(
        None, allow_none=True, help="The provider's …/v1 URL (key: environment)."
    ).tag(config=True)
    max_spend = Float(None, allow_none=True, help="Refuse jobs past this estimated total ($).").tag(
        config=True
    )
    embed = Bool(
        None,
        allow_none=True,
        help="Inline finished videos in the notebook (None: automatic, on for Colab).",
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._live = LiveDisplay()
        self._registered: dict[str, Any] = {}

    def _register_models(self) -> None:
        """Register ``%config SoraMagics.models`` entries (again when they changed)."""
        from ..api import register_model, unregister_model

        wanted = dict(self.models or {})
        for name in set(self._registered) - set(wanted):
            unregister_model(name)
            del self._registered[name]
        for name, entry in wanted.items():
            if self._registered.get(name) == entry:
                continue
            if not isinstance(entry, dict):
                raise UsageError(
                    f"SoraMagics.models[{name!r}] must be a dict of catalogue fields, such as "
                    "{'sizes': ['1280x720'], 'seconds': [4, 8], 'price': 0.4}"
                )
            register_model(name, **entry)
            self._registered[name] = dict(entry)

    def _context(self, cell: str | None) -> Context:
        defaults = Defaults(
            model=self.model,
            size=self.size,
            seconds=self.seconds,
            output_dir=self.output_dir,
            profile=self.profile,
            base_url=self.base_url,
            max_spend=self.max_spend,
            embed=self.embed,
        )
        namespace = self.shell.user_ns if self.shell is not None else {}
        return Context(namespace=namespace, defaults=defaults, live=self._live, cell=cell)

    @line_cell_magic
    def sora(self, line: str, cell: str | None = None) -> None:
        """Generate a video from the cell, or run a subcommand: %sora? shows them all."""
        from IPython.display import display

        with _user_errors():
            self._register_models()
            command, args = parse(_split(line), cell=cell is not None)
            result = command.handle(self._context(cell), args)
            if result is not None:
                display(result)

    sora.__doc__ = help_text()  # %sora? shows every command and its options, from their parsers


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext sora_widgets``: register ``%sora`` / ``%%sora``."""
    ipython.register_magics(SoraMagics)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext sora_widgets``: remove the magics."""
    manager = ipython.magics_manager
    for kind in ("line", "cell"):
        manager.magics[kind].pop("sora", None)
    manager.registry.pop("SoraMagics", None)
