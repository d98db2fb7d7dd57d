"""Join clips (a storyboard's shots) into one MP4 with a chapter per shot.

`join_clips` copies the clips' packets into the new file when they can simply follow each other (the
same video codec and settings, size, pixel format and timing, and the same audio, or none, in every
clip); otherwise it decodes them and encodes H.264 (+AAC) at the first clip's size and frame rate.
PyAV, and numpy when re-encoding, are imported on first use.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .api import ValidationError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["JoinError", "JoinResult", "chapter_clip", "join_clips"]

VIDEO_PRESET = "veryfast"
"""x264 preset when re-encoding."""
VIDEO_CRF = "20"
"""x264 quality when re-encoding (lower is better; 18 to 23 is the usual range)."""


class JoinError(ValidationError):
    """The clips cannot be joined as asked; ``clip`` is the offending file, when there is one."""

    def __init__(self, message: str, *, clip: str | None = None) -> None:
        super().__init__(message, param="clips")
        self.clip = clip


@dataclass(frozen=True)
class JoinResult:
    """The joined file and how it was made."""

    path: Path
    method: Literal["copy", "reencode"]
    duration: float
    """Seconds of video in the joined file."""
    chapters: list[tuple[float, float, str]] = field(default_factory=list)
    """``(start, end, title)`` per shot, in seconds, as read back from the file."""
    why: str | None = None
    """For ``"reencode"``: what differed between the clips (or that re-encoding was forced)."""


@dataclass
class _Audio:
    codec: str
    rate: int
    layout: str
    extradata: bytes
    time_base: Fraction


@dataclass
class _Clip:
    number: int
    path: Path
    codec: str
    width: int
    height: int
    pix_fmt: str
    time_base: Fraction
    rate: Fraction | None
    extradata: bytes
    start: int
    """First video timestamp, in ``time_base``."""
    end: int
    """End of the last video frame, in ``time_base``."""
    frames: int
    audio: _Audio | None

    @property
    def label(self) -> str:
        return f"clip {self.number} ({self.path.name})"

    @property
    def seconds(self) -> Fraction:
        return (self.end - self.start) * self.time_base


def join_clips(
    clips: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    titles: Sequence[str] | None = None,
    force: Literal["auto", "copy", "reencode"] = "auto",
) -> JoinResult:
    """Join ``clips`` one after another into the MP4 ``out``, with one chapter per clip.

    ``force="auto"`` copies the packets when the clips allow it and re-encodes otherwise; ``"copy"``
    raises `JoinError` when they do not allow it; ``"reencode"`` always re-encodes. Chapter titles
    default to "Shot 1", "Shot 2", .... The file is written beside ``out`` and renamed into place.

    Raises `JoinError` (a `ValueError`) for no clips, a missing file or one that is not a video.
    """
    if force not in ("auto", "copy", "reencode"):
        raise ValueError(f"force must be 'auto', 'copy' or 'reencode', not {force!r}")
    if not clips:
        raise JoinError("no clips to join")
    names = list(titles) if titles is not None else [f"Shot {i + 1}" for i in range(len(clips))]
    if len(names) != len(clips):
        raise JoinError(f"{len(names)} titles for {len(clips)} clips")
    probed = [_probe(i + 1, Path(os.fspath(clip))) for i, clip in enumerate(clips)]
    differences = _differences(probed)
    if force == "copy" and differences:
        raise JoinError("cannot join these clips by stream copy: " + "; ".join(differences))
    method: Literal["copy", "reencode"]
    if force == "reencode":
        method, why = "reencode", "re-encoding was asked for (force='reencode')"
    elif differences:
        method, why = "reencode", "; ".join(differences)
    else:
        method, why = "copy", None

    target = Path(os.fspath(out))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".part.mp4")
    os.close(fd)
    try:
        if method == "copy":
            _copy(probed, tmp, names)
        else:
            _reencode(probed, tmp, names)
        duration, chapters = _verify(tmp, names)
        os.chmod(tmp, 0o644)  # mkstemp's file is private; the video is an ordinary file
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return JoinResult(target, method, duration, chapters, why)


def chapter_clip(
    clip: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    ends: Sequence[float],
    titles: Sequence[str] | None = None,
) -> JoinResult:
    """Copy one video into the MP4 ``out`` (stream copy) with a chapter ending at each of
    ``ends`` seconds: a video that already holds every shot (a storyboard made of extensions,
    each one the whole scene so far). The last chapter ends where the video does.

    Raises `JoinError` for a missing file, one that is not a video, or ``ends`` that do not rise.
    """
    if not ends:
        raise JoinError("no chapters to mark")
    names = list(titles) if titles is not None else [f"Shot {i + 1}" for i in range(len(ends))]
    if len(names) != len(ends):
        raise JoinError(f"{len(names)} titles for {len(ends)} chapters")
    probed = _probe(1, Path(os.fspath(clip)))
    marks = [Fraction(end).limit_denominator(1000) for end in ends[:-1]] + [probed.seconds]
    lengths = [b - a for a, b in zip([Fraction(0), *marks[:-1]], marks, strict=True)]
    if any(length <= 0 for length in lengths):
        raise JoinError(f"chapter ends {list(ends)} must rise within the video's {probed.seconds}s")
    target = Path(os.fspath(out))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".part.mp4")
    os.close(fd)
    try:
        _copy([probed], tmp, names, lengths)
        duration, chapters = _verify(tmp, names)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return JoinResult(target, "copy", duration, chapters)


# -- looking at the clips ---------------------------------------------------------------------


def _probe(number: int, path: Path) -> _Clip:
    import av

    if not path.exists():
        raise JoinError(f"clip {number} not found: {path}", clip=str(path))
    if not path.is_file():
        raise JoinError(f"clip {number} is not a file: {path}", clip=str(path))
    try:
        with av.open(str(path)) as container:
            if container.format.name == "image2" or container.format.name.endswith("_pipe"):
                raise JoinError(
                    f"clip {number} ({path.name}) is not a video: it is a still image "
                    f"({container.format.name})",
                    clip=str(path),
                )
            if not container.streams.video:
                raise JoinError(
                    f"clip {number} ({path.name}) is not a video: it has no video stream",
                    clip=str(path),
                )
            video = container.streams.video[0]
            context = video.codec_context
            audio = None
            if container.streams.audio:
                sound = container.streams.audio[0]
                actx = sound.codec_context
                audio = _Audio(
                    actx.name,
                    actx.sample_rate,
                    actx.layout.name,
                    bytes(actx.extradata or b""),
                    Fraction(sound.time_base or Fraction(1, actx.sample_rate)),
                )
            start: int | None = None
            end = frames = 0
            for packet in container.demux(video):
                if packet.pts is None:
                    continue
                frames += 1
                start = packet.pts if start is None else min(start, packet.pts)
                end = max(end, packet.pts + (packet.duration or 0))
            if start is None or video.time_base is None:
                raise JoinError(
                    f"clip {number} ({path.name}) is not a video: its video stream has no frames",
                    clip=str(path),
                )
            return _Clip(
                number,
                path,
                context.name,
                context.width,
                context.height,
                context.pix_fmt or "",
                Fraction(video.time_base),
                Fraction(video.average_rate) if video.average_rate else None,
                bytes(context.extradata or b""),
                start,
                max(end, start + 1),
                frames,
                audio,
            )
    except av.FFmpegError as exc:
        raise JoinError(
            f"clip {number} ({path.name}) is not a video PyAV can read: {exc}", clip=str(path)
        ) from exc


def _differences(clips: list[_Clip]) -> list[str]:
    """What keeps ``clips`` from being joined by stream copy (nothing: they can be)."""
    first = clips[0]
    found: list[str] = []

    def note(what: str, a: object, b: object, clip: _Clip) -> None:
        if a != b:
            found.append(f"{what} differ: {a} vs {b} ({first.label} vs {clip.label})")

    for clip in clips[1:]:
        note("video codecs", first.codec, clip.codec, clip)
        note("sizes", f"{first.width}x{first.height}", f"{clip.width}x{clip.height}", clip)
        note("pixel formats", first.pix_fmt, clip.pix_fmt, clip)
        note("frame rates", _rate(first.rate), _rate(clip.rate), clip)
        note("video time bases", first.time_base, clip.time_base, clip)
        same_shape = (first.codec, first.width, first.height) == (
            clip.codec,
            clip.width,
            clip.height,
        )
        if same_shape and first.extradata != clip.extradata:
            found.append(
                f"video codec settings differ ({first.codec} parameter sets; "
                f"{first.label} vs {clip.label})"
            )
        if (first.audio is None) != (clip.audio is None):
            has, lacks = (first, clip) if first.audio is not None else (clip, first)
            found.append(f"{has.label} has audio, {lacks.label} has none")
        elif first.audio is not None and clip.audio is not None:
            a, b = first.audio, clip.audio
            note("audio codecs", a.codec, b.codec, clip)
            note("audio sample rates", a.rate, b.rate, clip)
            note("audio layouts", a.layout, b.layout, clip)
            same = (a.codec, a.rate, a.layout) == (b.codec, b.rate, b.layout)
            if same and (a.extradata != b.extradata or a.time_base != b.time_base):
                found.append(f"audio codec settings differ ({first.label} vs {clip.label})")
    return found


def _rate(rate: Fraction | None) -> str:
    if rate is None:
        return "unknown"
    return str(rate.numerator) if rate.denominator == 1 else f"{float(rate):.3f}"


def _chapters(lengths: list[Fraction], names: list[str]) -> list[Any]:
    """PyAV chapter entries (milliseconds) for shots of ``lengths`` seconds."""
    entries: list[Any] = []
    start = Fraction(0)
    for i, (length, name) in enumerate(zip(lengths, names, strict=True)):
        end = start + length
        entries.append(
            {
                "id": i + 1,
                "start": round(start * 1000),
                "end": round(end * 1000),
                "time_base": Fraction(1, 1000),
                "metadata": {"title": name},
            }
        )
        start = end
    return entries


# -- stream copy --------------------------------------------------------------------------------


def _copy(
    clips: list[_Clip], tmp: str, names: list[str], lengths: list[Fraction] | None = None
) -> None:
    """Copy the clips' packets one after another; a chapter a clip, or of ``lengths``."""
    import av

    with av.open(tmp, "w", format="mp4", options={"movflags": "+faststart"}) as output:
        with av.open(str(clips[0].path)) as template:
            vout = output.add_stream_from_template(template.streams.video[0])
            aout = (
                output.add_stream_from_template(template.streams.audio[0])
                if template.streams.audio
                else None
            )
        output.set_chapters(_chapters(lengths or [c.seconds for c in clips], names))
        last_dts: dict[str, int] = {}
        offset = Fraction(0)  # where this clip starts in the joined file, seconds
        for k, clip in enumerate(clips):
            with av.open(str(clip.path)) as source:
                video = source.streams.video[0]
                audio = source.streams.audio[0] if aout is not None else None
                shift_v = round(offset / clip.time_base) - clip.start
                shift_a = 0
                a_start = a_end = 0
                if audio is not None and clip.audio is not None:
                    atb = clip.audio.time_base
                    shift_a = round((offset - clip.start * clip.time_base) / atb)
                    a_start = round(clip.start * clip.time_base / atb)
                    a_end = round(clip.end * clip.time_base / atb)
                wanted = [video] if audio is None else [video, audio]
                for packet in source.demux(wanted):
                    if packet.dts is None or packet.pts is None:
                        continue  # the demuxer's flush packets
                    stream: Any
                    if packet.stream.type == "video":
                        shift, kind, stream = shift_v, "v", vout
                    else:
                        # The first clip's encoder delay (AAC priming) stays, trimmed by the edit
                        # list; later clips' would overlap the shot before. Sound past the
                        # picture's end would overlap the next shot.
                        if (k and packet.pts < a_start) or packet.pts >= a_end:
                            continue
                        shift, kind, stream = shift_a, "a", aout
                    pts, dts = packet.pts + shift, packet.dts + shift
                    if kind in last_dts and dts <= last_dts[kind]:
                        dts = last_dts[kind] + 1
                        pts = max(pts, dts)
                    last_dts[kind] = dts
                    packet.pts, packet.dts = pts, dts
                    packet.stream = stream
                    output.mux(packet)
            offset += clip.seconds


# -- re-encoding --------------------------------------------------------------------------------


def _reencode(clips: list[_Clip], tmp: str, names: list[str]) -> None:
    import av

    first = clips[0]
    width, height = first.width - first.width % 2, first.height - first.height % 2
    fps = first.rate or Fraction(24)
    frame_tb = 1 / fps
    counts = [max(1, round(clip.seconds * fps)) for clip in clips]
    with_audio = next((clip.audio for clip in clips if clip.audio is not None), None)

    with av.open(tmp, "w", format="mp4", options={"movflags": "+faststart"}) as output:
        vout = output.add_stream("libx264", rate=fps)
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        vout.options = {"preset": VIDEO_PRESET, "crf": VIDEO_CRF}
        aout = None
        rate, layout = 48000, "stereo"
        if with_audio is not None:
            rate, layout = with_audio.rate, with_audio.layout
            aout = output.add_stream("aac", rate=rate, layout=layout)
        output.set_chapters(_chapters([Fraction(n) / fps for n in counts], names))
        sound_out = _Sound(output, aout, rate, layout) if aout is not None else None
        shot_end = Fraction(0)  # seconds
        n = 0  # video frames encoded

        for clip, count in zip(clips, counts, strict=True):
            sound: list[npt.NDArray[np.float32]] = []
            emitted = 0
            with av.open(str(clip.path)) as source:
                video = source.streams.video[0]
                video.thread_type = "AUTO"
                audio = source.streams.audio[0] if source.streams.audio and aout else None
                resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
                held: Any = None  # the picture shown until the next one's time
                for picture in _pictures(source, video, audio, resampler, sound):
                    when = (picture.pts - clip.start) * clip.time_base
                    if held is not None:
                        # Output frame i shows the source frame nearest its time i / fps.
                        while emitted < count and (emitted + Fraction(1, 2)) * frame_tb <= when:
                            n, emitted = _emit(output, vout, held, n, emitted, frame_tb)
                    held = _fit(picture, width, height)
                if held is None:
                    raise JoinError(f"{clip.label} has no frame that decodes", clip=str(clip.path))
                while emitted < count:
                    n, emitted = _emit(output, vout, held, n, emitted, frame_tb)
            shot_end += Fraction(count) / fps
            if sound_out is not None:
                sound_out.add(sound, until=round(shot_end * rate))
        for packet in vout.encode(None):
            output.mux(packet)
        if sound_out is not None:
            sound_out.finish()


class _Sound:
    """The joined file's sound: each shot's, cut or padded with silence to the shot's length."""

    def __init__(self, output: Any, stream: Any, rate: int, layout: str) -> None:
        import av
        import numpy as np

        self.output, self.stream, self.rate, self.layout = output, stream, rate, layout
        self.channels = len(av.AudioLayout(layout).channels)
        self.chunk = stream.codec_context.frame_size or 1024
        self.pending = np.zeros((self.channels, 0), dtype=np.float32)  # less than a chunk
        self.written = 0  # samples handed to the encoder

    def add(self, parts: list[npt.NDArray[np.float32]], *, until: int) -> None:
        """Append ``parts`` (planar float), cut or padded so that the sound ends at ``until``."""
        import numpy as np

        needed = until - self.written - self.pending.shape[1]
        have = np.concatenate(parts, axis=1) if parts else self.pending[:, :0]
        if have.shape[1] < needed:
            silence = np.zeros((self.channels, needed - have.shape[1]), dtype=np.float32)
            have = np.concatenate([have, silence], axis=1)
        self.pending = np.concatenate([self.pending, have[:, : max(0, needed)]], axis=1)
        while self.pending.shape[1] >= self.chunk:
            self._encode(self.pending[:, : self.chunk])
            self.pending = self.pending[:, self.chunk :]

    def finish(self) -> None:
        if self.pending.shape[1]:
            self._encode(self.pending)
        for packet in self.stream.encode(None):
            self.output.mux(packet)

    def _encode(self, samples: npt.NDArray[np.float32]) -> None:
        import av
        import numpy as np

        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32), format="fltp", layout=self.layout
        )
        frame.sample_rate = self.rate
        frame.pts = self.written
        frame.time_base = Fraction(1, self.rate)
        self.written += samples.shape[1]
        for packet in self.stream.encode(frame):
            self.output.mux(packet)


def _pictures(
    source: Any, video: Any, audio: Any, resampler: Any, sound: list[npt.NDArray[np.float32]]
) -> Iterator[Any]:
    """Decoded video frames of ``source`` in order; its sound, resampled, appended to ``sound``."""
    wanted = [video] if audio is None else [video, audio]
    for packet in source.demux(wanted):
        for frame in packet.decode():
            if packet.stream.type == "video":
                if frame.pts is not None:
                    yield frame
            else:
                for part in resampler.resample(frame):
                    sound.append(part.to_ndarray())
    if audio is not None:
        for part in resampler.resample(None):
            sound.append(part.to_ndarray())


def _emit(
    output: Any, stream: Any, picture: Any, n: int, emitted: int, frame_tb: Fraction
) -> tuple[int, int]:
    import av.video.frame

    picture.pts = n
    picture.time_base = frame_tb
    # Each shot starts on a key frame, so that a chapter seeks cleanly.
    first = av.video.frame.PictureType.I if emitted == 0 else av.video.frame.PictureType.NONE
    picture.pict_type = first
    for packet in stream.encode(picture):
        output.mux(packet)
    return n + 1, emitted + 1


def _fit(picture: Any, width: int, height: int) -> Any:
    """``picture`` as a yuv420p frame of ``width`` x ``height``: scaled to fit, black bars around."""
    import av
    import numpy as np

    if (picture.width, picture.height) == (width, height):
        return picture.reformat(format="yuv420p")
    scale = min(width / picture.width, height / picture.height)
    w = max(2, int(picture.width * scale) // 2 * 2)
    h = max(2, int(picture.height * scale) // 2 * 2)
    planes = picture.reformat(width=w, height=h, format="yuv420p").to_ndarray()
    y, u, v = planes[:h], planes[h : h + h // 4], planes[h + h // 4 :]
    luma = np.full((height, width), 16, dtype=np.uint8)
    cb = np.full((height // 2, width // 2), 128, dtype=np.uint8)
    cr = np.full((height // 2, width // 2), 128, dtype=np.uint8)
    x0, y0 = (width - w) // 4 * 2, (height - h) // 4 * 2
    luma[y0 : y0 + h, x0 : x0 + w] = y
    cb[y0 // 2 : (y0 + h) // 2, x0 // 2 : (x0 + w) // 2] = u.reshape(h // 2, w // 2)
    cr[y0 // 2 : (y0 + h) // 2, x0 // 2 : (x0 + w) // 2] = v.reshape(h // 2, w // 2)
    stacked = np.concatenate([luma.ravel(), cb.ravel(), cr.ravel()]).reshape(height * 3 // 2, width)
    return av.VideoFrame.from_ndarray(stacked, format="yuv420p")


# -- checking the result ------------------------------------------------------------------------


def _verify(path: str, names: list[str]) -> tuple[float, list[tuple[float, float, str]]]:
    """The joined file's video length and chapters, read back; raises if they are not there."""
    import av

    with av.open(path) as container:
        entries = container.chapters()
        video = container.streams.video[0]
        if video.duration and video.time_base:
            duration = float(video.duration * video.time_base)
        else:
            duration = (container.duration or 0) / 1_000_000
    chapters = [
        (
            float(entry["start"] * (entry["time_base"] or 1)),
            float(entry["end"] * (entry["time_base"] or 1)),
            entry["metadata"].get("title", ""),
        )
        for entry in entries
    ]
    if [title for _, _, title in chapters] != names:
        raise RuntimeError(
            f"the joined file's chapters read back as {chapters}, not the {len(names)} written"
        )
    return duration, chapters
