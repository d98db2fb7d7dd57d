"""``%sora`` and ``%%sora``: generate from a cell, watch it live, play it inline.

Loading registers the magics and returns: the client, Pillow, PyAV and the widgets are imported on
first use. User mistakes raise `UsageError` (one clear line, no traceback).
"""

from __future__ import annotations

import contextlib
import html
import re
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.utils.process import arg_split  # type: ignore[attr-defined]
from traitlets import Bool, Float, Unicode

if TYPE_CHECKING:
    from .config import Settings
    from .jobs import Job

__all__ = ["SoraMagics", "interpolate", "load_ipython_extension", "unload_ipython_extension"]

SUBCOMMANDS = ("list", "status", "show", "resume", "remix", "download", "delete", "cost", "config")
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


def _usage(exc: BaseException) -> UsageError:
    return UsageError(str(exc))


@magics_class
class SoraMagics(Magics):
    """Generate videos from notebook cells. Defaults can be set with ``%config SoraMagics.<name>``."""

    model = Unicode(None, allow_none=True, help="Default model (e.g. sora-2, sora-2-pro).").tag(
        config=True
    )
    size = Unicode(None, allow_none=True, help="Default size WxH, or landscape / portrait.").tag(
        config=True
    )
    seconds = Unicode(None, allow_none=True, help="Default length in seconds (e.g. 4).").tag(
        config=True
    )
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
    ).tag(
        config=True
    )

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._handles: dict[int, tuple[Any, bool]] = {}
        """Display handles of jobs shown by this magic, for the final update after --wait."""
        self._done: dict[int, tuple[Job, Any]] = {}
        """The finished output (player or embedded video) of each job, made once."""

    # -- the magic -----------------------------------------------------------------------------

    @magic_arguments()
    @argument("-m", "--model", help="model name, e.g. sora-2 or sora-2-pro")
    @argument("-s", "--size", help="WIDTHxHEIGHT, or landscape / portrait")
    @argument("-t", "--seconds", help="length in seconds, e.g. 4, 8, 12")
    @argument("-r", "--reference", help="reference image: a path, a URL or a variable's name")
    @argument(
        "--fit",
        choices=("cover", "contain", "stretch"),
        default="cover",
        help="how the reference is fitted",
    )
    @argument(
        "-n", "--variants", type=int, default=1, help="how many videos to make from the prompt"
    )
    @argument("--wait", action="store_true", help="block until done (Run All, headless runs)")
    @argument(
        "--embed", action="store_true", default=None, help="inline the finished MP4 in the notebook"
    )
    @argument(
        "--dry-run", action="store_true", help="show the request, preview and cost; send nothing"
    )
    @argument("-o", "--out", help="output folder (default: %%config SoraMagics.output_dir)")
    @argument("--profile", help="provider profile: openai, relay or emulator")
    @argument(
        "--extra",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra field, e.g. watermark=false",
    )
    @argument(
        "--as",
        dest="as_name",
        metavar="NAME",
        help="bind the Job (or list of Jobs) to this variable",
    )
    @argument("--no-interpolate", action="store_true", help="keep {name} in the prompt as written")
    @argument("--variant", default="video", help="for download: video, thumbnail or spritesheet")
    @argument("words", nargs="*", help="a subcommand and its arguments, or (line magic) the prompt")
    @line_cell_magic
    def sora(self, line: str, cell: str | None = None) -> Any:
        """Generate a video from the cell (``%%sora``), or manage jobs (``%sora SUBCOMMAND``).

        ``%%sora [options]`` — the cell body is the prompt; ``{name}`` takes a value from the
        notebook. The output shows the reference preview, a live status card, then the player.

        Subcommands (line magic)::

            %sora list [N]            recent jobs of this provider
            %sora status ID           a job's state (live from the provider)
            %sora show ID             play a finished job (downloads it if needed)
            %sora resume              follow every unfinished job to the end
            %sora remix ID PROMPT     a new video from a finished one
            %sora download ID [--variant thumbnail|spritesheet]
            %sora delete ID           delete a finished job on the provider
            %sora cost                estimated spend, and what max_spend leaves
            %sora config              the settings in effect (never the key)
        """
        try:
            # intermixed, so options may follow the words: %sora remix ID --wait A new prompt
            args = self.sora.parser.parse_intermixed_args(arg_split(line, posix=True))
        except UsageError:
            raise
        except Exception as exc:  # shlex errors such as an unclosed quote
            raise UsageError(f"cannot read the options {line!r}: {exc}") from None
        try:
            if cell is None:
                if args.words and args.words[0] in SUBCOMMANDS:
                    return self._subcommand(args.words[0], args.words[1:], args)
                prompt = " ".join(args.words)
                if not prompt.strip():
                    raise UsageError(
                        "%sora needs a prompt or a subcommand (list, status, show, resume, remix, "
                        "download, delete, cost, config); see %sora?"
                    )
            else:
                if args.words:
                    raise UsageError(
                        f"unexpected words after the options: {' '.join(args.words)!r} "
                        "(in %%sora the prompt is the cell body; quote option values with spaces)"
                    )
                prompt = cell
            return self._generate(prompt, args)
        except UsageError:
            raise
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            from .api import SoraError

            if isinstance(exc, SoraError):
                raise _usage(exc) from None
            raise

    # -- settings ------------------------------------------------------------------------------

    def _settings(self, args: Any) -> Settings:
        from .config import resolve_settings

        return resolve_settings(
            base_url=self.base_url or None,
            profile=args.profile or self.profile or None,
            output_dir=args.out or self.output_dir or None,
            max_spend=self.max_spend,
        )

    def _size(self, size: str | None, model: str | None, settings: Settings) -> str | None:
        if size is None:
            return None
        wanted = size.strip().lower()
        if wanted in ("landscape", "portrait", "square"):
            profile = settings.profile
            spec = profile.model_spec(model or profile.default_model)
            if spec is None:
                raise UsageError(
                    f"cannot pick a {wanted} size for model {model!r}; give WIDTHxHEIGHT"
                )
            sizes = spec.sizes_by_orientation(wanted)
            if not sizes:
                raise UsageError(
                    f"{spec.name} offers no {wanted} size (choose {', '.join(spec.sizes)})"
                )
            return sizes[0]
        return size

    def _extra(self, pairs: list[str]) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise UsageError(f"--extra {pair!r} must look like KEY=VALUE, e.g. watermark=false")
            lowered = value.strip().lower()
            parsed: Any = value
            if lowered in ("true", "false"):
                parsed = lowered == "true"
            elif re.fullmatch(r"-?\d+", lowered):
                parsed = int(lowered)
            extra[key.strip()] = parsed
        return extra

    def _reference_source(self, value: str | None) -> Any:
        if value is None:
            return None
        namespace = self.shell.user_ns if self.shell is not None else {}
        if value.isidentifier() and value in namespace:
            return namespace[value]
        if value.startswith(("http://", "https://", "data:")):
            return value
        from pathlib import Path

        if not Path(value).expanduser().exists():
            raise UsageError(
                f"reference {value!r} is neither a file, a URL nor a variable of this notebook"
            )
        return str(Path(value).expanduser())

    # -- generating ----------------------------------------------------------------------------

    def _generate(self, prompt: str, args: Any) -> Any:
        from IPython.display import display

        from .api import ValidationError
        from .display import format_cost
        from .jobs import generate

        namespace = self.shell.user_ns if self.shell is not None else {}
        if not args.no_interpolate:
            prompt = interpolate(prompt, namespace)
        prompt = prompt.strip("\n")
        if args.variants < 1 or args.variants > 20:
            raise UsageError(f"--variants {args.variants} must be from 1 to 20")
        settings = self._settings(args)
        model = args.model or self.model or None
        size = (
            self._size(args.size or self.size or None, model, settings)
            or settings.profile.default_size
        )
        seconds = args.seconds or self.seconds or None
        extra = self._extra(args.extra)
        try:
            settings.profile.check(
                prompt=prompt, model=model, size=size, seconds=seconds, extra=extra
            )
        except ValidationError as exc:
            raise UsageError(str(exc)) from None

        reference = None
        source = self._reference_source(args.reference)
        if source is not None:
            from .reference import prepare_reference

            reference = prepare_reference(source, size, fit=args.fit)
            display(reference)

        if args.dry_run:
            display(
                self._dry_run_bundle(
                    settings, prompt, model, size, seconds, reference, extra, args.variants
                )
            )
            return None

        embed = self._embed(args)
        jobs: list[Job] = []
        for _ in range(args.variants):
            job = generate(
                prompt,
                model=model,
                size=size,
                seconds=seconds,
                reference=reference,
                extra=extra,
                settings=settings,
            )
            jobs.append(job)
            self._show_live(job, embed=embed)
        if args.as_name:
            if not args.as_name.isidentifier():
                raise UsageError(f"--as {args.as_name!r} is not a valid variable name")
            namespace[args.as_name] = jobs[0] if len(jobs) == 1 else jobs
        if args.wait:
            self._wait(jobs, embed=embed)
        elif settings.emulated is False and jobs and jobs[0].cost is not None:
            total = sum(j.cost or 0.0 for j in jobs)
            print(f"submitted {len(jobs)} job(s), estimated {format_cost(total)}", file=sys.stderr)
        return None

    def _dry_run_bundle(
        self,
        settings: Settings,
        prompt: str,
        model: str | None,
        size: str,
        seconds: str | None,
        reference: Any,
        extra: dict[str, Any],
        variants: int,
    ) -> Any:
        from .display import Bundle, format_cost

        profile = settings.profile
        model = model or profile.default_model
        seconds = seconds or profile.default_seconds
        cost = profile.estimate_cost(model, size, seconds)
        fields: dict[str, str] = {
            "prompt": prompt,
            "model": model,
            "size": size,
            "seconds": str(seconds),
        }
        for key, value in extra.items():
            fields[key] = repr(value)
        if reference is not None:
            fields["input_reference"] = (
                f"{reference.filename} ({reference.mime_type}, {len(reference.data):,} bytes, "
                f"{reference.size[0]}x{reference.size[1]})"
            )
        simulated = profile.billing == "simulated"
        total = None if cost is None else cost * variants
        rows = "".join(
            f"<tr><th style='text-align:left;padding-right:8px'>{html.escape(k)}</th>"
            f"<td style='white-space:pre-wrap'>{html.escape(v)}</td></tr>"
            for k, v in fields.items()
        )
        where = "the local emulator" if settings.emulated else settings.provider
        head = (
            f"dry run: POST {html.escape(where)}/videos × {variants} with profile "
            f"{html.escape(profile.name)}, estimated {html.escape(format_cost(total, simulated=simulated))}; "
            "nothing was sent"
        )
        text = head + "\n" + "\n".join(f"{k}: {v}" for k, v in fields.items())
        body = f"<div class='sora-dry-run'><div><b>{head}</b></div><table>{rows}</table></div>"
        return Bundle({"text/html": body, "text/plain": text}, {"sora_widgets": {"dry_run": True}})

    def _embed(self, args: Any) -> bool:
        """``--embed``, else ``%config SoraMagics.embed``, else on in Colab (no /files/ there)."""
        if args.embed:
            return True
        if self.embed is not None:
            return bool(self.embed)
        return "google.colab" in sys.modules

    def _show_live(self, job: Job, *, embed: bool) -> None:
        """One output area that moves in place: card → progress → player."""
        from IPython.display import display

        from .display import status_card

        handle = display(status_card(job), display_id=True)
        last: list[tuple[str, int, str]] = []
        finished = threading.Event()
        lock = threading.Lock()

        def changed(job: Job) -> None:
            key = (job.status, job.progress, job.message)
            with lock:
                if finished.is_set() or (last and last[-1] == key):
                    return
                last[:] = [key]
                if job.status == "completed":
                    finished.set()
            if handle is None:
                return
            if job.status == "completed":
                handle.update(self._finished(job, embed=embed))
            else:
                handle.update(status_card(job))

        job.on_change(changed)
        self._handles[id(job)] = (handle, embed)

    def _finished(self, job: Job, *, embed: bool) -> Any:
        """The finished output of a job, made once (a second player would double the notebook)."""
        cached = self._done.get(id(job))
        if cached is not None and cached[0] is job:
            return cached[1]
        finished = self._make_finished(job, embed=embed)
        self._done[id(job)] = (job, finished)
        return finished

    def _make_finished(self, job: Job, *, embed: bool) -> Any:
        from .display import Bundle, provenance, video_fallback

        if embed:
            return Bundle(video_fallback(job, embed=True), provenance(job))
        try:
            from .player import VideoPlayer
        except ImportError:  # pragma: no cover - widgets missing
            return Bundle(video_fallback(job), provenance(job))
        return VideoPlayer.from_job(job)

    def _wait(self, jobs: list[Job], *, embed: bool) -> None:
        from .display import status_card

        try:
            for job in jobs:
                with contextlib.suppress(Exception):  # the card shows the error
                    job.wait()
        except KeyboardInterrupt:
            ids = ", ".join(j.id or "(not created yet)" for j in jobs if not j.done)
            print(
                f"Stopped waiting; the job(s) keep running: {ids}. "
                "Check with %sora status ID, or after a restart run %sora resume.",
                file=sys.stderr,
            )
            return
        # a final update from the kernel thread, so headless runs (nbclient) record the end state
        for job in jobs:
            handle, job_embed = self._handles.pop(id(job), (None, embed))
            if handle is None:
                continue
            if job.status == "completed":
                handle.update(self._finished(job, embed=job_embed))
            else:
                handle.update(status_card(job))

    # -- subcommands ---------------------------------------------------------------------------

    def _subcommand(self, name: str, words: list[str], args: Any) -> Any:
        handler = getattr(self, f"_cmd_{name}")
        return handler(words, args)

    def _need(self, words: list[str], count: int, usage: str) -> None:
        if len(words) < count:
            raise UsageError(f"usage: {usage}")

    def _ledger(self, settings: Settings) -> Any:
        from .ledger import Ledger

        return Ledger(settings.ledger_path)

    def _client(self, settings: Settings) -> Any:
        from .api import SoraClient

        return SoraClient(
            api_key=settings.api_key, base_url=settings.base_url, profile=settings.profile
        )

    def _cmd_list(self, words: list[str], args: Any) -> Any:
        from IPython.display import display

        from .display import Bundle, format_cost

        count = 20
        if words:
            if not words[0].isdigit() or not 1 <= int(words[0]) <= 1000:
                raise UsageError(
                    f"%sora list N: N must be a whole number from 1 to 1000, not {words[0]!r}"
                )
            count = int(words[0])
        settings = self._settings(args)
        rows = self._ledger(settings).recent(count, provider=settings.provider)
        if not rows:
            print(f"No jobs yet for {settings.provider}.")
            return None
        simulated = settings.profile.billing == "simulated"
        head = ("id", "status", "progress", "model", "size", "s", "cost", "created", "prompt")
        body = []
        text = []
        for row in rows:
            created = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.created_at))
            prompt = (row.prompt or "")[:80]
            cells = (
                row.id,
                row.status,
                f"{row.progress}%",
                row.model or "",
                row.size or "",
                row.seconds or "",
                format_cost(row.cost, simulated=simulated),
                created,
                prompt,
            )
            body.append(
                "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"
            )
            text.append("  ".join(str(c) for c in cells[:8]) + f"  {prompt!r}")
        table = (
            "<table class='sora-list'><thead><tr>"
            + "".join(f"<th>{h}</th>" for h in head)
            + "</tr></thead><tbody>"
            + "".join(body)
            + "</tbody></table>"
        )
        display(Bundle({"text/html": table, "text/plain": "\n".join(text)}, {}))
        return None

    def _find(self, settings: Settings, ident: str) -> Any:
        row = self._ledger(settings).find(ident)
        if row is None:
            raise UsageError(f"no job {ident!r} in the ledger (see %sora list)")
        return row

    def _cmd_status(self, words: list[str], args: Any) -> Any:
        from IPython.display import display

        from .display import status_card
        from .jobs import job_from_row

        self._need(words, 1, "%sora status ID")
        settings = self._settings(args)
        row = self._find(settings, words[0])
        job = job_from_row(row, settings)
        if not row.pending:
            with self._client(settings) as client:
                video = client.retrieve(row.id)
            job.status, job.progress, job.video = video.status.value, video.progress, video
            if video.error is not None:
                job.message = f"{video.error.code}: {video.error.message}"
            if video.status.value == "completed" and row.video_path:
                job.status = "completed"
        display(status_card(job))
        return None

    def _cmd_show(self, words: list[str], args: Any) -> Any:
        from IPython.display import display

        from .api._client import safe_filename
        from .jobs import job_from_row

        self._need(words, 1, "%sora show ID")
        settings = self._settings(args)
        ledger = self._ledger(settings)
        row = self._find(settings, words[0])
        job = job_from_row(row, settings)
        video_path = job.paths.get("video")
        if video_path is None or not video_path.exists():
            out = settings.output_dir
            with self._client(settings) as client:
                for variant in ("video", "thumbnail", "spritesheet"):
                    job.paths[variant] = client.download(
                        row.id, out / safe_filename(row.id, variant), variant=variant
                    )
            ledger.update(
                row.id,
                status="completed",
                video_path=str(job.paths["video"]),
                thumbnail_path=str(job.paths["thumbnail"]),
                spritesheet_path=str(job.paths["spritesheet"]),
            )
        job.status = "completed"
        embed = self._embed(args)
        display(self._finished(job, embed=embed))
        return None

    def _cmd_resume(self, words: list[str], args: Any) -> Any:
        from .jobs import resume

        settings = self._settings(args)
        jobs = resume(settings=settings)
        if not jobs:
            print(f"Nothing to resume: every job of {settings.provider} is finished.")
            return None
        embed = self._embed(args)
        for job in jobs:
            self._show_live(job, embed=embed)
        if args.wait:
            self._wait(jobs, embed=embed)
        return None

    def _cmd_remix(self, words: list[str], args: Any) -> Any:
        from .jobs import remix

        self._need(words, 2, "%sora remix ID PROMPT")
        settings = self._settings(args)
        row = self._find(settings, words[0])
        prompt = " ".join(words[1:])
        if not args.no_interpolate and self.shell is not None:
            prompt = interpolate(prompt, self.shell.user_ns)
        job = remix(row, prompt, settings=settings)
        embed = self._embed(args)
        self._show_live(job, embed=embed)
        if args.as_name and self.shell is not None:
            self.shell.user_ns[args.as_name] = job
        if args.wait:
            self._wait([job], embed=embed)
        return None

    def _cmd_download(self, words: list[str], args: Any) -> Any:
        from .api._client import safe_filename

        self._need(words, 1, "%sora download ID [--variant video|thumbnail|spritesheet]")
        if args.variant not in ("video", "thumbnail", "spritesheet"):
            raise UsageError(f"--variant {args.variant!r} must be video, thumbnail or spritesheet")
        settings = self._settings(args)
        row = self._find(settings, words[0])
        target = settings.output_dir / safe_filename(row.id, args.variant)
        with self._client(settings) as client:
            path = client.download(row.id, target, variant=args.variant)
        if args.variant == "video":
            self._ledger(settings).update(row.id, video_path=str(path))
        print(f"saved {path}")
        return None

    def _cmd_delete(self, words: list[str], args: Any) -> Any:
        self._need(words, 1, "%sora delete ID")
        settings = self._settings(args)
        row = self._find(settings, words[0])
        with self._client(settings) as client:
            client.delete(row.id)
        self._ledger(settings).update(row.id, status="deleted")
        print(f"deleted {row.id} on the provider (local files are kept)")
        return None

    def _cmd_cost(self, words: list[str], args: Any) -> Any:
        from .display import format_cost

        settings = self._settings(args)
        ledger = self._ledger(settings)
        simulated = settings.profile.billing == "simulated"
        spent = ledger.total_spent(provider=settings.provider)
        lines = [
            f"estimated spend on {settings.provider}: {format_cost(spent, simulated=simulated)}"
        ]
        everywhere = ledger.total_spent()
        if abs(everywhere - spent) > 1e-9:
            lines.append(f"on every provider in the ledger: {format_cost(everywhere)}")
        if settings.max_spend is not None:
            left = max(0.0, settings.max_spend - spent)
            lines.append(f"max_spend {format_cost(settings.max_spend)}: {format_cost(left)} left")
        print("\n".join(lines))
        return None

    def _cmd_config(self, words: list[str], args: Any) -> Any:
        settings = self._settings(args)
        lines = [
            f"provider:   {'local emulator ' if settings.emulated else ''}{settings.provider}",
            f"profile:    {settings.profile.name} ({settings.profile.description})",
            f"api key:    {'set (from the environment)' if settings.api_key and not settings.emulated else 'none'}",
            f"model:      {self.model or settings.profile.default_model}",
            f"size:       {self.size or settings.profile.default_size}",
            f"seconds:    {self.seconds or settings.profile.default_seconds}",
            f"output_dir: {settings.output_dir}",
            f"max_spend:  {'none' if settings.max_spend is None else f'${settings.max_spend:.2f}'}",
            f"embed:      {'automatic (on in Colab)' if self.embed is None else self.embed}",
            f"ledger:     {settings.ledger_path}",
        ]
        print("\n".join(lines))
        return None


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext sora_widgets``: register ``%sora`` / ``%%sora``."""
    ipython.register_magics(SoraMagics)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext sora_widgets``: remove the magics."""
    manager = ipython.magics_manager
    for kind in ("line", "cell"):
        manager.magics[kind].pop("sora", None)
    manager.registry.pop("SoraMagics", None)
