"""Jobs: follow every generation to the end with few requests, and never lose one.

`plan` checks a generation and `submit` sends it (`generate` does both); the `Runner` (one per
process) creates each job, waits for a free slot under the provider's running-job limit, re-queues
after a 429, polls with `PollTracker`, streams the video, thumbnail and spritesheet into the output
folder, and keeps the ledger current. The actions (`download`, `delete`, `refresh`, `retry`,
`remix`, `last_frame`, `resume`) are the one way the magic and the panel act on a job. Listeners
registered with `Job.on_change` run on one listener thread and may call any of these.

Modules: ``_job`` (the handle and its listener thread), ``_runner`` (the loop), ``_plan``
(checks, dry runs, submitting), ``_files`` (saving a job's files), ``_actions`` (what a person does).
"""

from __future__ import annotations

from ..status import JobStatus
from ._actions import (
    delete,
    download,
    find_job,
    job_from_row,
    last_frame,
    refresh,
    remix,
    resume,
    retry,
)
from ._capabilities import capability, capability_reason
from ._files import VARIANT_FILES
from ._job import GenerationRequest, Job, Listener, listeners_idle
from ._models import ModelRow, ProviderModels, provider_models
from ._plan import (
    MAX_VARIANTS,
    GenerationPlan,
    check_budget,
    generate,
    generate_many,
    ledger_for,
    parse_extra,
    parse_extra_value,
    plan,
    plan_remix,
    price_for,
    spent,
    submit,
)
from ._runner import Clock, Runner
from ._storyboard import (
    CONTINUITIES,
    MAX_SHOTS,
    Shot,
    Storyboard,
    board_from_row,
    find_board,
    get_board,
    parse_storyboard,
    plan_storyboard,
    resume_boards,
    storyboard,
)

__all__ = [
    "CONTINUITIES",
    "MAX_SHOTS",
    "MAX_VARIANTS",
    "VARIANT_FILES",
    "Clock",
    "GenerationPlan",
    "GenerationRequest",
    "Job",
    "JobStatus",
    "Listener",
    "ModelRow",
    "ProviderModels",
    "Runner",
    "Shot",
    "Storyboard",
    "board_from_row",
    "capability",
    "capability_reason",
    "check_budget",
    "delete",
    "download",
    "find_board",
    "find_job",
    "generate",
    "generate_many",
    "get_board",
    "job_from_row",
    "last_frame",
    "ledger_for",
    "listeners_idle",
    "parse_extra",
    "parse_extra_value",
    "parse_storyboard",
    "plan",
    "plan_remix",
    "plan_storyboard",
    "price_for",
    "provider_models",
    "refresh",
    "remix",
    "resume",
    "resume_boards",
    "retry",
    "spent",
    "storyboard",
    "submit",
]
