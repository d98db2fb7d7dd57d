"""``sora-emulator`` / ``python -m sora_widgets.emulator``: run the emulator from a shell.

Prints one line with the base URL once it listens (``--port 0`` picks a free port), then one
access-log line per request on stderr. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Sequence

from ..api._errors import ValidationError
from ._faults import FaultRule, FaultSpecError, parse_fault
from ._settings import (
    GATEWAY_BEHAVIOURS,
    PROFILE_NAMES,
    EmulatorSettings,
    gateway_behaviours,
    service_profile,
)

FAULT_HELP = """\
fault rules (--fault, repeatable):
  ROUTE:ACTION[:PROBABILITY]      e.g. retrieve:429:0.3   content:drop   *:slow=200:0.1
  ROUTE:script=ACTION,ACTION,...  e.g. create:script=500,500,ok (one action per request, then none)
  ROUTE   create list retrieve delete content remix edits extensions characters, or * for all
  ACTION  429 (Retry-After: 1)  429=3 (Retry-After: 3)  429=250ms (retry-after-ms: 250)
          500 502 503           drop (cut the connection mid-body)  drop=100 (after 100 bytes)
          slow (1500 ms late)   slow=300 (300 ms late)
          fail (job fails)      moderation (job fails: moderation_blocked)
          expire (content expires at completion / download refused as expired)   ok
  The dice are seeded by --fault-seed: the same requests get the same faults.

quick start:
  curl -s http://127.0.0.1:8000/v1/videos -H "Authorization: Bearer x" \\
       -F prompt="A calico cat playing a piano on stage" -F seconds=4 -F size=1280x720
"""


GATEWAY_HELP = (
    "gateway behaviours (--gateway, comma-separated; litellm = all but no-extensions, "
    "all = every one):\n"
    + "".join(f"  {word:<16}{what}\n" for word, what in GATEWAY_BEHAVIOURS.items())
    + "  e.g. --gateway no-list,ignore-range   --gateway litellm\n"
)


def _fault(text: str) -> FaultRule:
    try:
        return parse_fault(text)
    except FaultSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _gateway(text: str) -> tuple[str, ...]:
    try:
        return gateway_behaviours(text)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The ``sora-emulator`` command line (the fault syntax is in its epilog)."""
    parser = argparse.ArgumentParser(
        prog="sora-emulator",
        description="A local emulator of the /v1/videos API (Sora 2's contract). Its videos are "
        "synthetic: rendered locally, nothing is generated or billed.",
        epilog=FAULT_HELP.replace("\nquick start:", "\n" + GATEWAY_HELP + "\nquick start:"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8000, help="port; 0 picks a free one (default 8000)"
    )
    parser.add_argument(
        "--profile",
        default="openai",
        choices=PROFILE_NAMES,
        help="which service to play (default openai: the official contract)",
    )
    parser.add_argument(
        "--job-seconds",
        type=float,
        default=10.0,
        help="how long a job takes from create to completed (default 10)",
    )
    parser.add_argument(
        "--api-key", default=None, help="accept only this bearer key (default: any non-empty key)"
    )
    parser.add_argument(
        "--max-running",
        type=int,
        default=None,
        help="unfinished jobs allowed per key; beyond it create answers 429",
    )
    parser.add_argument(
        "--fault",
        action="append",
        type=_fault,
        default=[],
        metavar="RULE",
        help="inject faults (see below); repeatable",
    )
    parser.add_argument(
        "--fault-seed", type=int, default=0, help="seed of the fault dice (default 0)"
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="render cache and uploads (default: a folder under the temp dir)",
    )
    parser.add_argument(
        "--content-ttl",
        type=float,
        default=3600.0,
        help="seconds from completion until content expires (default 3600)",
    )
    parser.add_argument(
        "--blocked-word",
        action="append",
        default=None,
        metavar="WORD",
        help="prompts with this word fail with moderation_blocked; repeatable",
    )
    parser.add_argument(
        "--render",
        default="process",
        choices=("process", "thread", "inline"),
        help="where clips render (default: a worker process)",
    )
    parser.add_argument(
        "--gateway",
        action="append",
        type=_gateway,
        default=[],
        metavar="WORDS",
        help="behave like a gateway (LiteLLM's proxy): comma-separated behaviours, litellm for "
        "what LiteLLM's proxy does, or all (see below); repeatable",
    )
    parser.add_argument("--quiet", action="store_true", help="no access log")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until interrupted; returns the exit status."""
    args = build_parser().parse_args(argv)
    settings = EmulatorSettings(
        profile=args.profile,
        job_seconds=args.job_seconds,
        api_key=args.api_key,
        max_running=args.max_running,
        faults=tuple(args.fault),
        fault_seed=args.fault_seed,
        data_dir=args.data_dir,
        content_ttl=args.content_ttl,
        render_mode=args.render,
        gateway=gateway_behaviours([w for words in args.gateway for w in words]),
        access_log=not args.quiet,
    )
    if args.blocked_word:
        settings = settings.with_(blocked_words=tuple(args.blocked_word))
    from ._server import bind_socket, serve

    if not args.quiet:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        access = logging.getLogger("sora_widgets.emulator.access")
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(
            f"sora-emulator: cannot listen on {args.host}:{args.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 2
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    profile = service_profile(args.profile)
    faults = f", faults {', '.join(str(f) for f in args.fault)}" if args.fault else ""
    if settings.gateway:
        faults += f", like a gateway: {','.join(settings.gateway)}"
    print(
        f"sora emulator listening on http://{shown}:{port}/v1 (profile {profile.name}, "
        f"jobs take {args.job_seconds:g} s{faults}; videos are synthetic)",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        serve(settings, sock=sock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
