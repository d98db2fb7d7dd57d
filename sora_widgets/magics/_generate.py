"""``%%sora`` / ``%sora PROMPT``: plan a generation (every local check), then submit it or show it.

The plan is made before anything is sent: prompt, model, size, length, extras, the reference
(prepared and fitted), the count and ``max_spend``. A dry run shows the plan and stops there.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ._options import (
    Command,
    CommandParser,
    add_as,
    add_dry_run,
    add_live,
    add_no_interpolate,
    add_settings,
)

if TYPE_CHECKING:
    from ._context import Context

__all__ = ["GENERATE", "interpolate"]

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")


def interpolate(text: str, namespace: dict[str, Any]) -> str:
    """Replace ``{name}`` / ``{name.attr}`` with values from ``namespace``; others stay as written."""

    def replace(match: re.Match[str]) -> str:
        head, *rest = match.group(1).split(".")
        if head not in namespace:
            return match.group(0)
        value = namespace[head]
        for attr in rest:
            if attr.startswith("_") or not hasattr(value, attr):
                return match.group(0)
            value = getattr(value, attr)
        return str(value)

    return _FIELD.sub(replace, text)


def _options(parser: CommandParser) -> None:
    parser.add_argument(
        "-m",
        "--model",
        help="model name, e.g. sora-2 or veo-3.1-generate-preview (see %%sora models)",
    )
    parser.add_argument(
        "-s",
        "--size",
        metavar="SIZE",
        help="1280x720, a ratio (16:9), a tier (720p), auto, or landscape/portrait/square",
    )
    parser.add_argument("-t", "--seconds", help="length in seconds, e.g. 4, 8 or 8s")
    parser.add_argument(
        "-r",
        "--reference",
        metavar="IMAGE",
        help="reference image: a path, a URL or a variable's name",
    )
    parser.add_argument(
        "--fit",
        choices=("cover", "contain", "stretch"),
        default="cover",
        metavar="HOW",
        help="how the reference is fitted: cover, contain or stretch",
    )
    parser.add_argument(
        "-n",
        "--variants",
        type=int,
        default=1,
        metavar="N",
        help="how many videos from the prompt (each billed)",
    )
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra field, e.g. watermark=false (repeatable)",
    )
    parser.add_argument(
        "--storyboard",
        action="store_true",
        help="the cell is a scene: shots separated by lines of ---, each from the last frame "
        "of the one before, joined into one video (a shot may start with 'seconds: 8')",
    )
    parser.add_argument(
        "--independent",
        action="store_true",
        help="with --storyboard: make the shots at once, not each from the one before",
    )
    parser.add_argument(
        "--extend",
        action="store_true",
        help="with --storyboard: each shot extends the one before (where the provider and model "
        "have extensions); its seconds are what it adds",
    )
    parser.add_argument(
        "--no-validate",
        action="store_true",
        help="skip the model's checks and send exactly what was asked",
    )
    parser.add_argument(
        "--allow-unpriced",
        action="store_true",
        help="under max_spend, send even if the model's price is unknown",
    )
    add_live(parser)
    add_dry_run(parser, "show the request, reference preview and cost; send nothing")
    add_settings(parser)
    add_as(parser, "the Job (a list of Jobs with -n)")
    add_no_interpolate(parser)
    parser.add_argument("words", nargs="*", metavar="PROMPT", help=argparse.SUPPRESS)


def _prompt(ctx: Context, args: argparse.Namespace) -> str:
    """The prompt: the cell body, or (line magic) the words; ``{name}`` filled in unless told not."""
    from ._commands import COMMANDS

    if ctx.cell is not None:
        if args.words:
            raise UsageError(
                f"unexpected words after the options: {' '.join(args.words)!r} "
                "(in %%sora the prompt is the cell body; quote option values with spaces)"
            )
        prompt = ctx.cell
    else:
        if args.words and args.words[0] in COMMANDS:
            raise UsageError(
                f"{args.words[0]!r} is a subcommand: write it first, options after it "
                f"(%sora {args.words[0]} --dry-run …), or quote a prompt that starts with it"
            )
        prompt = " ".join(args.words)
        if not prompt.strip():
            raise UsageError(
                "%sora needs a prompt or a subcommand ("
                + ", ".join(c for c in COMMANDS if c)
                + "); see %sora?"
            )
    if not args.no_interpolate:
        prompt = interpolate(prompt, ctx.namespace)
    return prompt.strip("\n")


def _reference(value: str | None, namespace: dict[str, Any]) -> Any:
    """``-r``: a notebook variable's value, a URL, or an existing file's path."""
    if value is None:
        return None
    if value.isidentifier() and value in namespace:
        return namespace[value]
    if value.startswith(("http://", "https://", "data:")):
        return value
    try:
        found = Path(value).expanduser().exists()
    except (OSError, ValueError):  # a name too long for a path, a NUL byte …: not a file
        found = False
    if not found:
        raise UsageError(
            f"reference {value!r} is neither a file, a URL nor a variable of this notebook"
        )
    return str(Path(value).expanduser())


def _preview(reference: Any) -> object:
    """The prepared reference, shown before the cards (a URL passed through shows nothing)."""
    return reference if hasattr(reference, "_repr_png_") else None


def handle_generate(ctx: Context, args: argparse.Namespace) -> object:
    """Plan the generation; show the plan (``--dry-run``) or submit it and show the jobs live."""
    from .. import jobs
    from ..display import format_cost

    name = ctx.check_name(args)
    if args.storyboard or args.independent or args.extend:
        if not args.storyboard:
            flag = "--independent" if args.independent else "--extend"
            raise UsageError(f"{flag} goes with --storyboard")
        if args.independent and args.extend:
            raise UsageError(
                "--independent and --extend do not go together: a shot either extends the one "
                "before or is made on its own"
            )
        from ._storyboard import handle_storyboard

        return handle_storyboard(ctx, args, _reference(args.reference, ctx.namespace))
    prompt = _prompt(ctx, args)
    settings = ctx.settings(args)
    model = args.model or ctx.defaults.model or None
    plan = jobs.plan(
        prompt,
        model=model,
        size=args.size or ctx.defaults.size or None,
        seconds=args.seconds or ctx.defaults.seconds or None,
        reference=_reference(args.reference, ctx.namespace),
        fit=args.fit,
        extra=jobs.parse_extra(args.extra),
        count=args.variants,
        allow_unpriced=args.allow_unpriced or None,
        validate=not args.no_validate,
        settings=settings,
    )
    if args.dry_run:
        from ._output import Outputs, plan_view

        return Outputs(_preview(plan.reference), plan_view(plan))
    submitted = jobs.submit(plan)
    ctx.bind(name, submitted[0] if len(submitted) == 1 else submitted)
    notice = ""
    if not args.wait and not settings.emulated and plan.total_cost is not None:
        notice = f"submitted {len(submitted)} job(s), estimated {format_cost(plan.total_cost)}"
    from ._live import LiveJobs

    return LiveJobs(
        ctx.live,
        submitted,
        embed=ctx.embed(args),
        wait=args.wait,
        preview=_preview(plan.reference),
        notice=notice,
    )


GENERATE = Command(
    name="",
    usage="%%sora [options]  (the cell is the prompt)   or   %sora [options] PROMPT",
    summary="make a video from the prompt; {name} takes a value from the notebook",
    options=_options,
    handle=handle_generate,
    examples=(
        "%%sora -s landscape -t 8 --wait --as clip\nA lighthouse at dawn, waves breaking",
        "%%sora -r photo --fit contain -n 2 --dry-run\nThe {animal} in the photo starts to dance",
        "%%sora -m veo-3.1-generate-preview -s 16:9 -t 8s\nA paper boat on a rainy street",
        "%%sora -m my-gateway-model -s 1080p --no-validate --extra negativePrompt=blurry\nA fox",
        "%%sora --storyboard -s 16:9 --wait --as scene\nA fox wakes in its den\n---\n"
        "seconds: 8\nThe fox trots out into the snow\n---\nThe fox leaps into a snowdrift",
    ),
)
