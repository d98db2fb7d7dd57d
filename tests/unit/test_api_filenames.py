"""safe_filename: the id when short and clean, else a readable prefix and a hash; never shared."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sora_widgets.api import safe_filename

# A LiteLLM 1.108.7 id (recorded through its proxy): base64 of provider, model, upstream id and
# deployment; two jobs share everything up to the upstream id.
LITELLM_ID = (
    "video_bGl0ZWxsbTpjdXN0b21fbGxtX3Byb3ZpZGVyOm9wZW5haTttb2RlbF9pZDpzb3JhLTI7dmlkZW9faWQ6dmlkZW9f"
    "MGNjYTMxOTMzMjNjODczZWNmYzhhYmNiMjk4NGZmMGU1OWFkZTE0MGVjZmQ5NWY3O2RlcGxveW1lbnRfaWQ6ZDcwNjI4"
    "YTNiZTBkNTEwYjdiOWNjMGEyYjAwM2I1MjM2ZjcxOTE5OWE5MjhiZTQ0NTE1ODIyMjE2ZDkwNzkwZA=="
)
SAFE_NAME = re.compile(r"[A-Za-z0-9_-]+(\.thumbnail\.webp|\.spritesheet\.jpg|\.mp4|\.bin)")


def test_short_clean_ids_keep_their_name() -> None:
    vid = "video_68d7512d07848190b3e45da0ecbebcde004da08e1e0678d5"
    assert safe_filename(vid) == vid + ".mp4"
    assert safe_filename(vid, "thumbnail") == vid + ".thumbnail.webp"
    assert safe_filename(vid, "spritesheet") == vid + ".spritesheet.jpg"
    assert safe_filename("video_1") == "video_1.mp4"


def test_litellm_ids_get_a_readable_prefix_and_a_hash() -> None:
    name = safe_filename(LITELLM_ID)
    stem = name.removesuffix(".mp4")
    prefix, _, digest = stem.rpartition("-")
    assert prefix == LITELLM_ID[:40] and re.fullmatch(r"[0-9a-f]{12}", digest)
    other = LITELLM_ID.replace("MGNjYTMx", "NTBlMzE5")  # another upstream job, same prefix
    assert safe_filename(other) != name
    assert len(name) <= 40 + 1 + 12 + len(".spritesheet.jpg")


@pytest.mark.parametrize(
    "video_id",
    [
        "../../escaped",
        "/etc/passwd",
        "..",
        ".",
        "",
        "nul\x00byte",
        "CON",
        "con",
        "a/../../b",
        "C:\\windows\\x",
        "video_é漢字",
        "x" * 65,
        "Video_ABC",
        "\udcff",
    ],
)
def test_unclean_ids_are_hashed_and_safe(video_id: str) -> None:
    name = safe_filename(video_id)
    assert SAFE_NAME.fullmatch(name), name
    assert name.removesuffix(".mp4") != video_id


def test_an_id_shaped_like_a_hashed_name_is_hashed_too() -> None:
    hashed = safe_filename("a/b").removesuffix(".mp4")  # "a_b-<12 hex>"
    assert safe_filename(hashed) != safe_filename("a/b")


def test_ids_that_differ_only_in_case_never_share_a_file_on_a_case_blind_disk() -> None:
    names = {safe_filename(v).lower() for v in ("abc", "ABC", "Abc", "aBC")}
    assert len(names) == 4


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(min_size=0, max_size=300),
            st.from_regex(r"[a-z0-9_-]{1,80}", fullmatch=True),
            st.text(alphabet="abcABC-_/=+.", min_size=0, max_size=90),
        ),
        min_size=2,
        max_size=12,
        unique=True,
    ),
    st.sampled_from(["video", "thumbnail", "spritesheet"]),
)
def test_distinct_ids_never_share_a_name(ids: list[str], variant: str) -> None:
    names = [safe_filename(v, variant) for v in ids]
    assert len({n.casefold() for n in names}) == len(ids)
    for name in names:
        assert SAFE_NAME.fullmatch(name) and "/" not in name and "\x00" not in name
        assert len(name) <= 64 + len(".spritesheet.jpg")
