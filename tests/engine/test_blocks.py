"""The streaming block renderer: closed blocks once, the tail each frame, a page's DOM."""

import random
import re
from html.parser import HTMLParser

import pytest

from conversations.engine.blocks import BlockRenderer, Frame
from conversations.rendering import render_markdown
from tests.ui.test_rendering import XSS_CORPUS, assert_inert

MIXED_REPLY = """\
## Caching a slow call

You can put a cache in front of the **slow** call with `functools.lru_cache`. Here is how.

1. Import it.
2. Decorate the function.
3. Call it twice and time both calls.

```python
from functools import lru_cache

@lru_cache(maxsize=128)
def slow(n):
    return n * 2
```

| option | default | meaning |
|:--|:-:|--:|
| maxsize | 128 | entries kept |
| typed | False | 1 and 1.0 differ |

> Note: every argument must be hashable, or the call raises `TypeError`.

That's it: see [the docs](https://docs.python.org/3/library/functools.html) for more.
"""

LONG_REPLY = """\
# Moving a Django project from SQLite to PostgreSQL

Moving is mostly mechanical, but a few details bite. The steps below keep the site up.

## Before you start

- Check the Django version: **6.1** or later.
- Install `psycopg` with the binary extra.
- Take a backup of `db.sqlite3`.

## Steps

1. Create the database and a role that owns it.
2. Point `DATABASES` at it:

   ```python
   DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
   ```

3. Run `migrate` on the empty database.
4. Load the data with `loaddata`, in one transaction.

---

## Things that differ

| behaviour | SQLite | PostgreSQL |
|---|---|---|
| `LIKE` case | insensitive | sensitive |
| type checks | loose | strict |
| concurrent writers | one | many |

Text columns are the usual surprise: SQLite accepts any length, PostgreSQL enforces
`max_length` on `varchar`. Find the long values first:

```sql
SELECT id, length(body) FROM messages WHERE length(body) > 255;
```

> **Tip:** run the full test suite against PostgreSQL before you switch; *most* problems show
> up there, not in production.

### Sequences

After `loaddata`, reset the sequences or the next insert collides:

```bash
python manage.py sqlsequencereset app | python manage.py dbshell
```

* loose item one

* loose item two
  with a lazy second line

Nested lists work too:

- outer
  - inner one
  - inner two
- outer again

That's the whole move. Ask if any step fails; paste the error and the command you ran.
"""

CORPUS = [
    MIXED_REPLY,
    LONG_REPLY,
    "Just one paragraph with *emphasis*, `code`, and a [link](https://example.com).",
    "Setext heading\n==============\n\nAnd another\n---\n\ntext",
    "para\n#hashtag not a heading\n# real heading\n#\nafter",
    "text\n| a | b |\n|-x|\n\ntext\n| a | b |\n|---|---|\n| 1 | 2 |\nnext line",
    "***bold italic*** start\n\n***\n\n___\n\n- - -\n\nend",
    "3. three\n4. four\n\n\n5. five\n\ntext\n\n1) paren\n2) again",
    "- a\n+ b\n* c\n\n- tight\n- list\n\n- loose\n\n- list\n\n  continued para\n\nafter",
    "> quote line\nlazy continuation\n\n> second quote\n> - with a list\n>\n> ```\n> code\n> ```\n",
    "    indented code\n\n    more code\n\npara\n\n    code again",
    "~~~\ntilde fence\n```\nstill code\n~~~\n\n````md\n```\ninner\n```\n````\n\ndone",
    "```python\nunterminated fence\n\nstill code\n# not a heading",
    "  ```\n  indented fence\n  ```\npara right after",
    "line one\r\nline two\r\n\r\n- crlf list\r\n- item\rlone cr\n",
    "tab\tseparated\n\n-\titem with tab\n\n\tcode by tab",
    "A [ref link][r] and [another].\n\n[r]: https://example.com/r\n"
    "[another]: https://example.com/a 'T'",
    "Before the def [x].\n\nMiddle paragraph.\n\n> [x]: https://example.com/x\n\nafter",
    "Emphasis *that spans\ntwo lines* and `code that\nspans` too.\n\nA hard  \nbreak.",
    "<div>raw html is text</div>\n\n<b>bold?</b> no\n\n<!-- comment -->",
    "Entities &amp; &lt;tag&gt; &copy; &#35; and \\*escaped\\*",
    "![chart](https://example.com/c.png)\n\nauto https://example.com not linked",
    "\n\n\nleading blank lines\n\n\n\ntrailing blank lines\n\n\n",
    "# Heading\n\n\x00null byte\n\nend",
    *XSS_CORPUS,
    "\n\n".join(XSS_CORPUS),
]


class _Normaliser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.events: list[tuple] = []

    def handle_starttag(self, tag, attrs):
        self.events.append(("start", tag, tuple(sorted(attrs))))

    def handle_startendtag(self, tag, attrs):
        self.events.append(("start", tag, tuple(sorted(attrs))))
        self.events.append(("end", tag))

    def handle_endtag(self, tag):
        self.events.append(("end", tag))

    def handle_data(self, data):
        text = re.sub(r"\s+", " ", data)
        if text.strip():
            if self.events and self.events[-1][0] == "data":
                text = self.events.pop()[1] + text
            self.events.append(("data", text))


def dom(html: str) -> list[tuple]:
    """Return the HTML as events, whitespace between tags collapsed, for a DOM comparison."""
    parser = _Normaliser()
    parser.feed(html)
    parser.close()
    return parser.events


def words(text: str) -> list[str]:
    """Split text the way a model streams it: each word with its trailing whitespace."""
    return re.findall(r"\S+\s*|\s+", text)


def prefixes(chunks: list[str], every: int = 1) -> list[str]:
    """Return the growing text after every `every` chunks, always ending on the full text."""
    out, text = [], ""
    for index, chunk in enumerate(chunks, 1):
        text += chunk
        if index % every == 0 or index == len(chunks):
            out.append(text)
    return out


def stream(texts: list[str]) -> tuple[BlockRenderer, list[Frame]]:
    renderer = BlockRenderer()
    return renderer, [renderer.feed(text) for text in texts]


def shown(frames: list[Frame]) -> str:
    """Apply frames as a watcher does and return what it shows."""
    closed, tail = "", ""
    for frame in frames:
        if frame.reset:
            closed = ""
        closed += frame.append_html
        tail = frame.tail_html
    return closed + tail


def chunkings(text: str) -> dict[str, list[str]]:
    rng = random.Random(text)
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, len(text) // 4)))
    return {
        "words": words(text),
        "chars": list(text),
        "random": [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)],
    }


@pytest.mark.parametrize("text", CORPUS)
@pytest.mark.parametrize("mode", ["words", "chars", "random"])
def test_every_frame_shows_what_a_page_render_of_the_text_so_far_shows(text, mode):
    renderer = BlockRenderer()
    closed = ""
    for prefix in prefixes(chunkings(text)[mode]):
        frame = renderer.feed(prefix)
        closed = frame.append_html if frame.reset else closed + frame.append_html
        assert closed == renderer.closed_html
        assert dom(closed + frame.tail_html) == dom(render_markdown(prefix)), prefix
    assert dom(renderer.closed_html + renderer.tail_html) == dom(render_markdown(text))


@pytest.mark.parametrize("text", [MIXED_REPLY, LONG_REPLY])
def test_final_concatenation_is_the_page_render_byte_for_byte(text):
    renderer, frames = stream(prefixes(words(text)))
    assert shown(frames) == render_markdown(text)


def test_closed_blocks_are_appended_once_and_never_change():
    renderer, frames = stream(prefixes(words(LONG_REPLY)))
    appended = [frame.append_html for frame in frames if frame.append_html]
    assert not any(frame.reset for frame in frames)
    assert len(appended) > 10
    assert "".join(appended) == renderer.closed_html
    # Each closed block's HTML sits in the final page exactly where it was appended.
    assert render_markdown(LONG_REPLY).startswith(renderer.closed_html)
    # No block is sent twice: the appended pieces tile the closed HTML without overlap.
    position = 0
    for piece in appended:
        assert renderer.closed_html.startswith(piece, position)
        position += len(piece)


def test_tail_replaces_the_previous_tail_and_holds_only_the_open_block():
    renderer = BlockRenderer()
    first = renderer.feed("# Title\n\nThe first")
    assert first.append_html == "<h1>Title</h1>\n"
    assert first.tail_html == "<p>The first</p>\n"
    second = renderer.feed("# Title\n\nThe first paragraph.")
    assert second.append_html == ""
    assert second.tail_html == "<p>The first paragraph.</p>\n"
    third = renderer.feed("# Title\n\nThe first paragraph.\n\nNext")
    assert third.append_html == "<p>The first paragraph.</p>\n"
    assert third.tail_html == "<p>Next</p>\n"
    assert renderer.closed_html == "<h1>Title</h1>\n<p>The first paragraph.</p>\n"


def test_seq_starts_at_one_and_increments_every_frame():
    renderer = BlockRenderer()
    assert renderer.seq == 0
    seqs = [renderer.feed(text).seq for text in ["a", "a b", "a b", "x", "x y"]]
    assert seqs == [1, 2, 3, 4, 5]
    assert renderer.seq == 5


def test_text_that_does_not_extend_the_previous_one_resets():
    renderer = BlockRenderer()
    renderer.feed("# One\n\nfirst para\n\nsecond")
    assert renderer.closed_html
    frame = renderer.feed("# Two\n\nnew")
    assert frame.reset
    assert frame.append_html == renderer.closed_html == "<h1>Two</h1>\n"
    assert frame.tail_html == "<p>new</p>\n"
    assert not renderer.feed("# Two\n\nnew text").reset


def test_growing_text_never_resets():
    _, frames = stream(prefixes(list(MIXED_REPLY)))
    assert not any(frame.reset for frame in frames)


def test_unterminated_fence_swallows_everything_after_it_into_the_tail():
    renderer = BlockRenderer()
    frame = renderer.feed("Intro.\n\n```python\ndef f():\n\n    # not a heading\n\npara?\n")
    assert renderer.closed_html == "<p>Intro.</p>\n"
    assert "<h1>" not in frame.tail_html
    assert frame.tail_html.startswith('<pre class="highlight" data-lang="python">')
    assert '<span class="n">para</span>' in frame.tail_html


def test_fence_closes_on_its_closing_marker():
    renderer = BlockRenderer()
    renderer.feed("```py\nx = 1\n``")
    assert renderer.closed_html == ""
    frame = renderer.feed("```py\nx = 1\n```\n")
    assert frame.append_html.startswith('<pre class="highlight" data-lang="py">')
    assert frame.tail_html == ""


def test_a_shorter_or_labelled_marker_does_not_close_a_fence():
    renderer = BlockRenderer()
    renderer.feed("````\nx\n```\n```js\n")
    assert renderer.closed_html == ""


def test_list_stays_open_until_a_different_block_follows():
    renderer = BlockRenderer()
    renderer.feed("- one\n- two\n\n")
    assert renderer.closed_html == ""
    renderer.feed("- one\n- two\n\n- three, now loose\n\n")
    assert renderer.closed_html == ""
    frame = renderer.feed("- one\n- two\n\n- three, now loose\n\nAfter.\n")
    assert frame.append_html.count("<li>") == 3
    assert frame.append_html.count("<p>") == 3  # loose: every item is a paragraph
    assert frame.tail_html == "<p>After.</p>\n"


def test_paragraph_closes_on_a_blank_line_not_before():
    renderer = BlockRenderer()
    renderer.feed("Some text\n")
    assert renderer.closed_html == ""  # the next line could still make it a heading
    assert renderer.feed("Some text\n---\n").append_html == "<h2>Some text</h2>\n"
    renderer = BlockRenderer()
    renderer.feed("Some text\n\n")
    assert renderer.closed_html == "<p>Some text</p>\n"


def test_partial_last_line_never_closes_a_block():
    # "#" alone is an empty heading that would cut the paragraph; "#tag" is paragraph text.
    renderer = BlockRenderer()
    renderer.feed("para\n#")
    assert renderer.closed_html == ""
    frame = renderer.feed("para\n#tag")
    assert frame.tail_html == "<p>para\n#tag</p>\n"


def test_reference_definitions_render_the_whole_reply_as_the_tail():
    renderer = BlockRenderer()
    renderer.feed("See [the site].\n\nMore text.\n\n")
    assert renderer.closed_html
    frame = renderer.feed("See [the site].\n\nMore text.\n\n[the site]: https://example.com")
    assert frame.reset
    assert frame.append_html == renderer.closed_html == ""
    assert 'href="https://example.com"' in frame.tail_html
    later = renderer.feed(
        "See [the site].\n\nMore text.\n\n[the site]: https://example.com\n\nx\n\n"
    )
    assert not later.reset
    assert later.append_html == ""
    assert later.tail_html == render_markdown(
        "See [the site].\n\nMore text.\n\n[the site]: https://example.com\n\nx\n\n"
    )


def test_code_that_only_looks_like_a_definition_keeps_streaming_by_blocks():
    renderer = BlockRenderer()
    renderer.feed("```python\nfor key in d[k]:\n    pass\n```\n\nText.\n\n")
    assert renderer.closed_html.count("<p>") == 1


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_payloads_are_sanitized_in_appended_blocks_and_in_the_tail(payload):
    text = f"Intro.\n\n{payload}\n\nMiddle {payload}\n\n- {payload}\n\n{payload}"
    renderer = BlockRenderer()
    for prefix in prefixes(words(text)):
        frame = renderer.feed(prefix)
        assert_inert(frame.append_html)
        assert_inert(frame.tail_html)
    assert renderer.closed_html.count("Intro.") == 1
    assert_inert(renderer.closed_html)


def _mixed(tokens: int) -> str:
    """Return a reply of mixed markdown at least `tokens` words long."""
    reply, pieces = "", [MIXED_REPLY, LONG_REPLY]
    while len(words(reply)) < tokens:
        reply += pieces[len(reply) % 2] + "\n"
    return "".join(words(reply)[:tokens])


def apply_delta(previous_tail: str, frame: Frame) -> str:
    """Rebuild the tail from a delta the way a browser does, counting UTF-16 code units."""
    kept = previous_tail.encode("utf-16-le")[: 2 * frame.tail_keep].decode("utf-16-le")
    return kept + frame.tail_delta


@pytest.mark.parametrize("text", [MIXED_REPLY, LONG_REPLY, "Emoji 😀 tail 😀😀 and more 😀 text"])
def test_tail_deltas_rebuild_the_same_tail(text):
    renderer, tail = BlockRenderer(), ""
    for prefix in prefixes(list(text), every=2):
        frame = renderer.feed(prefix)
        tail = apply_delta(tail, frame)
        assert tail == frame.tail_html


@pytest.mark.parametrize("tokens", [60, 600])
def test_bytes_sent_stay_within_three_times_the_final_html(tokens):
    text = _mixed(tokens)
    final = len(render_markdown(text).encode())
    renderer, frames = stream(prefixes(words(text), every=3))
    stats = renderer.stats()
    assert stats.html_bytes == final
    assert sum(frame.size for frame in frames) == stats.bytes_sent
    assert sum(frame.delta_size for frame in frames) == stats.delta_bytes_sent
    # With the tail sent as a delta, a reply costs at most three times its final HTML.
    assert stats.delta_bytes_sent <= 3 * final, stats
    # Whole tails cost more (each open block is resent every frame) but still far less than
    # rendering and sending the whole reply every frame.
    whole = sum(len(render_markdown(p).encode()) for p in prefixes(words(text), every=3))
    assert stats.bytes_sent <= 4 * final, stats
    assert stats.bytes_sent < whole / (2 if tokens == 60 else 10), (stats, whole)
    # One frame per token sends more, still well under the whole-reply-per-frame cost.
    per_token, _ = stream(prefixes(words(text)))
    whole_per_token = sum(len(render_markdown(p).encode()) for p in prefixes(words(text)))
    assert per_token.stats().delta_bytes_sent <= 3 * final, per_token.stats()
    assert per_token.stats().bytes_sent < whole_per_token / 2, per_token.stats()


def test_stats_report_frames_bytes_and_ratio():
    renderer = BlockRenderer()
    assert renderer.stats().ratio == 0.0
    renderer.feed("Hello")
    renderer.feed("Hello world")
    stats = renderer.stats()
    assert stats.frames == 2
    assert stats.bytes_sent == len("<p>Hello</p>\n") + len("<p>Hello world</p>\n")
    assert stats.html_bytes == len("<p>Hello world</p>\n")
    assert stats.ratio == pytest.approx(stats.bytes_sent / stats.html_bytes)
    assert stats.delta_bytes_sent == len("<p>Hello</p>\n") + len(" world</p>\n")
    assert stats.delta_ratio == pytest.approx(stats.delta_bytes_sent / stats.html_bytes)
