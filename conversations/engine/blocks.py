"""Render a streaming reply once per frame: closed blocks appended once, the open tail redone.

A reply's text only grows. Its top-level markdown blocks (markdown-it's block token line maps)
split it into blocks that can no longer change, rendered and sanitized once by
`render_markdown` and appended, and the open tail, re-rendered on every frame. Only complete
lines decide what is closed: a partial last line can still turn out to be something else
("#" is an empty heading, "#tag" is paragraph text), so it always stays in the tail.

A block is closed when another block follows it, or on its own when nothing more can change
it: a heading or rule whose line is complete, a fence with its closing marker, or a
paragraph, table or blockquote followed by a blank line. A list or an indented code block
stays open until a different block follows. A reference-style link definition can change any
earlier block, so once the text defines one the whole reply is rendered as the tail.
"""

import re
from dataclasses import dataclass
from itertools import pairwise

from django.utils.html import format_html

from conversations.rendering import (
    markdown_blocks,
    render_markdown,
    render_markdown_uncached,
    rendered,
)

# The same line-end and NUL rule markdown-it's normalize step applies before it splits lines.
_NEWLINES_RE = re.compile(r"\r\n?")

# Blocks that a following blank line closes: nothing after a blank line can join them.
_BLANK_CLOSES = {"paragraph", "table", "blockquote"}
# Blocks that are final as soon as their last line is complete.
_LINE_CLOSES = {"heading", "hr"}


@dataclass(frozen=True, slots=True)
class Frame:
    """What every watcher needs to bring its copy of the reply up to date.

    Apply it in order: on `reset` drop everything shown so far; then append `append_html`
    after the closed blocks and replace the tail with `tail_html`. A gap in `seq` means the
    watcher missed a frame and must resync from `BlockRenderer.closed_html` plus the tail.

    `tail_keep` and `tail_delta` say the same tail more cheaply: keep that many UTF-16 code
    units (a JavaScript string's length) of the previous tail's HTML and add the delta. A
    growing tail mostly grows at its end, so this is what a socket can send instead.
    """

    seq: int
    append_html: str
    tail_html: str
    reset: bool = False
    tail_keep: int = 0
    tail_delta: str = ""

    @property
    def size(self) -> int:
        """Return the bytes this frame carries (UTF-8 HTML, appended plus whole tail)."""
        return len(self.append_html.encode()) + len(self.tail_html.encode())

    @property
    def delta_size(self) -> int:
        """Return the bytes this frame carries when the tail is sent as a delta."""
        return len(self.append_html.encode()) + len(self.tail_delta.encode())


@dataclass(frozen=True, slots=True)
class RenderStats:
    """Bytes sent so far against the size of the reply's rendered HTML."""

    frames: int
    bytes_sent: int
    html_bytes: int
    delta_bytes_sent: int = 0

    @property
    def ratio(self) -> float:
        """Return bytes sent per byte of rendered HTML."""
        return self.bytes_sent / self.html_bytes if self.html_bytes else 0.0

    @property
    def delta_ratio(self) -> float:
        """Return bytes sent per byte of rendered HTML when tails go as deltas."""
        return self.delta_bytes_sent / self.html_bytes if self.html_bytes else 0.0


def _normalize(text: str) -> str:
    return _NEWLINES_RE.sub("\n", text).replace("\0", "\ufffd")


def _common_prefix(old: str, new: str) -> int:
    """Return the length of the longest common prefix of two strings (slices compare in C)."""
    low, high = 0, min(len(old), len(new))
    if old[:high] == new[:high]:
        return high
    while low < high:
        middle = (low + high + 1) // 2
        if old[:middle] == new[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fence_closed(lines: list[str], start: int, end: int, markup: str) -> bool:
    """Return whether a fence's last line is its closing marker, not code."""
    if end - start < 2 or not markup:
        return False
    line = lines[end - 1]
    stripped = line.strip()
    return (
        len(line) - len(line.lstrip(" ")) < 4
        and len(stripped) >= len(markup)
        and stripped == markup[0] * len(stripped)
    )


class BlockRenderer:
    """Turn one streaming reply's growing text into frames of appended and replaced HTML."""

    def __init__(self) -> None:
        self._text = ""
        self._offset = 0  # end of the closed blocks in the normalized text
        self._closed: list[str] = []
        self._whole = False  # the text defines a link reference: render it all as the tail
        self._tail_html = ""
        self._seq = 0
        self._bytes_sent = 0
        self._delta_bytes_sent = 0
        self._replace_next = False  # resumed: watchers show the text whole, not as blocks

    @property
    def closed_html(self) -> str:
        """Return the HTML of every closed block so far, for a late joiner or a resync."""
        return "".join(self._closed)

    @property
    def tail_html(self) -> str:
        """Return the HTML of the open tail as of the last frame."""
        return self._tail_html

    @property
    def seq(self) -> int:
        """Return the sequence number of the last frame (0 before the first)."""
        return self._seq

    def stats(self) -> RenderStats:
        """Return how many bytes the frames so far carried against the rendered reply's size."""
        html_bytes = len(self.closed_html.encode()) + len(self._tail_html.encode())
        return RenderStats(
            frames=self._seq,
            bytes_sent=self._bytes_sent,
            html_bytes=html_bytes,
            delta_bytes_sent=self._delta_bytes_sent,
        )

    def resume(self, text: str) -> None:
        """Start from the text of a reply that goes on (a continued one), frame 0 showing it.

        Watchers show that text as a page renders it, in one piece, so the first frame fed
        after this is a reset that replaces it; a resync before then gets these blocks.
        """
        self.feed(text)
        self._seq = self._bytes_sent = self._delta_bytes_sent = 0
        self._replace_next = True

    def feed(self, text: str) -> Frame:
        """Return the frame that takes watchers from the previous text to this one."""
        reset = self._replace_next or not text.startswith(self._text)
        self._replace_next = False
        if reset:
            self._offset, self._closed, self._whole = 0, [], False
        self._text = text
        src = _normalize(text)
        if not self._whole and "]:" in src[self._offset :]:
            _, has_references = markdown_blocks(src[self._offset :])
            if has_references:
                self._whole = True
                reset = reset or bool(self._closed)
                self._offset, self._closed = 0, []
        appended = "" if self._whole else self._close_blocks(src)
        previous, self._tail_html = self._tail_html, render_markdown_uncached(src[self._offset :])
        keep = 0 if reset else _common_prefix(previous, self._tail_html)
        self._seq += 1
        frame = Frame(
            seq=self._seq,
            append_html=appended,
            tail_html=self._tail_html,
            reset=reset,
            tail_keep=_utf16_length(self._tail_html[:keep]),
            tail_delta=self._tail_html[keep:],
        )
        self._bytes_sent += frame.size
        self._delta_bytes_sent += frame.delta_size
        return frame

    def _close_blocks(self, src: str) -> str:
        """Render and keep the blocks that closed since the last frame; return their HTML."""
        suffix = src[self._offset :]
        complete = suffix[: suffix.rfind("\n") + 1]
        if not complete:
            return ""
        blocks, _ = markdown_blocks(complete)
        if not blocks:
            return ""
        lines = complete.split("\n")[:-1]
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line) + 1)
        kind, start, end, markup = blocks[-1]
        last_closed = (
            kind in _LINE_CLOSES
            or (kind in _BLANK_CLOSES and end < len(lines))
            or (kind == "fence" and _fence_closed(lines, start, end, markup))
        )
        bounds = [0] + [starts[block[1]] for block in blocks[1:]]
        if last_closed:
            bounds.append(starts[end])
        html = [render_markdown(suffix[begin:finish]) for begin, finish in pairwise(bounds)]
        self._offset += bounds[-1] if len(bounds) > 1 else 0
        self._closed.extend(html)
        return "".join(html)


def tail_frame(name: str, *, seq: int, keep: int, delta: str) -> str:
    """Return a frame that closes no block: "@tail <name> <seq> <keep>", a newline, the delta.

    Text, not HTML (app.js applies it before htmx sees it): an out-of-band element around
    the few bytes a frame adds was five to twenty times their size. `name` is the socket's
    short alias of the reply, defined by its first use ("<public id>=<alias>"); `delta` is
    the renderer's sanitized HTML, added after `keep` UTF-16 units of the tail last shown.
    """
    return f"@tail {name} {seq:d} {keep:d}\n{delta}"


def frame_html(
    public_id: str, *, seq: int, append: str, replace: bool, keep: int, delta: str
) -> str:
    """Return a frame that closes blocks: them appended (or all replaced), then the tail.

    `append` is the renderer's sanitized HTML. The tail travels as text: keep `data-keep`
    UTF-16 units of the tail last shown and add `data-delta` (app.js); `data-seq` lets the
    page drop a frame older than what it shows. Built with format_html, which escapes every
    value: a template render cost more than the rest of a frame, and the engine builds one
    per frame that closes blocks.
    """
    kind, swap = ("replace", "innerHTML") if replace else ("append", "beforeend")
    blocks = format_html(
        '<div id="message-{}" data-status="in_progress" data-frame="{}" data-seq="{}" '
        'hx-swap-oob="{}:#message-{}-blocks">{}</div>',
        public_id,
        kind,
        seq,
        swap,
        public_id,
        rendered(append),
    )
    tail = format_html(
        '<div data-frame="tail" data-seq="{}" data-keep="{}" data-delta="{}" '
        'hx-swap-oob="innerHTML:#message-{}-tail"></div>',
        seq,
        keep,
        delta,
        public_id,
    )
    return blocks + tail
