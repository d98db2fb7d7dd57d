"""The panel: `SoraPanel` and its parts.

`SoraPanel` is a `VBox` made of parts, each a widget that owns its children and state:
`ProviderConnection` (provider line, key field), `RequestForm` (prompt, model, size, seconds,
variants, extras), `ReferenceInput` (upload, fit, focus, preview), `SubmitBar` (cost, Submit,
Dry run), `JobCard` (one per job) and `HistoryGallery` (of `HistoryItem`). The panel talks to a
part through its public methods and callbacks; a card talks back through `CardHost`.

Saved widget state holds no key (the password field is emptied as soon as its value arrives), no
upload (the upload widget is emptied once read) and no video bytes (the player fetches them on
request; previews and thumbnails are small images).
"""

from __future__ import annotations

from ..jobs import MAX_VARIANTS
from ..media import last_frame
from ._connection import ProviderConnection
from ._form import FormValues, RequestForm
from ._history import HistoryGallery, HistoryItem
from ._job_card import CardHost, JobCard
from ._panel import SoraPanel
from ._reference_input import UPLOAD_LIMIT_BYTES, ReferenceInput
from ._submit_bar import SubmitBar

__all__ = [
    "MAX_VARIANTS",
    "UPLOAD_LIMIT_BYTES",
    "CardHost",
    "FormValues",
    "HistoryGallery",
    "HistoryItem",
    "JobCard",
    "ProviderConnection",
    "ReferenceInput",
    "RequestForm",
    "SoraPanel",
    "SubmitBar",
    "last_frame",
]
