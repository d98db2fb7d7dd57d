"""``%sora`` and ``%%sora``: generate from a cell, watch it live, play it inline; manage jobs.

Loading registers the magics and returns: the client, Pillow, PyAV and the widgets are imported on
first use. User mistakes raise `UsageError` (one clear line, no traceback).

Modules: ``_magic`` (the entry point: split, dispatch, display), ``_commands`` (the table of
subcommands and the help), ``_options`` (each command's own parser), ``_generate`` (the cell),
``_jobs_commands`` (status, show, download, delete, remix, resume), ``_info_commands`` (list,
cost, config), ``_live`` (status card → player, ``--wait``), ``_output`` (dry runs, text),
``_context`` (what a handler may use).
"""

from __future__ import annotations

from ._generate import interpolate
from ._magic import SoraMagics, load_ipython_extension, unload_ipython_extension

__all__ = ["SoraMagics", "interpolate", "load_ipython_extension", "unload_ipython_extension"]
