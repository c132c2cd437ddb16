"""Turn model or user markdown into safe HTML: the one place output is sanitized.

markdown-it-py parses (raw HTML off), pygments highlights fenced code with CSS classes, and
nh3 cleans the result last against an explicit allowlist, so nothing that can run script,
load a remote resource or carry htmx attributes survives, whatever the input.
"""

import re
from functools import lru_cache

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

_LANG_RE = re.compile(r"^[\w+#.-]{1,32}$")
_ALIGN_RE = re.compile(r"text-align:\s*(left|center|right)")
_ALIGN_CLASSES = {"align-left", "align-center", "align-right"}
_FORMATTER = HtmlFormatter(nowrap=True)

ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
    "pre": {"data-lang"},
}
ALLOWED_CLASSES = {
    # Pygments token classes only: model output cannot borrow the app's own classes.
    "span": {cls for cls in STANDARD_TYPES.values() if cls},
    "pre": {"highlight"},
    "th": _ALIGN_CLASSES,
    "td": _ALIGN_CLASSES,
}

_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    # Elements whose text is never meant to be read; everything else unknown is unwrapped.
    clean_content_tags={"script", "style", "template", "iframe", "object", "svg", "math"},
    attributes=ALLOWED_ATTRIBUTES,
    allowed_classes=ALLOWED_CLASSES,
    url_schemes={"http", "https", "mailto"},
    url_relative="deny",
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def _highlight(code: str, lang: str, _attrs: str) -> str:
    """Return a highlighted <pre> block for a fenced code block."""
    lang = lang if _LANG_RE.match(lang or "") else ""
    try:
        lexer = get_lexer_by_name(lang) if lang else None
    except ClassNotFound:
        lexer = None
    body = highlight(code, lexer, _FORMATTER) if lexer else _escape(code)
    # `lang` matched _LANG_RE, so it holds no quote or markup.
    label = f' data-lang="{lang}"' if lang else ""
    return f'<pre class="highlight"{label}><code>{body}</code></pre>'


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _images_to_links(state: StateCore) -> None:
    """Render images as plain links: a reply never makes the browser fetch anything."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children = []
        for token in block.children:
            if token.type != "image":
                children.append(token)
                continue
            src = token.attrGet("src") or ""
            alt = token.content or src
            link_open = Token("link_open", "a", 1, attrs={"href": src})
            text = Token("text", "", 0, content=f"Image: {alt}")
            children.extend([link_open, text, Token("link_close", "a", -1)])
        block.children = children


def _align_classes(state: StateCore) -> None:
    """Swap table alignment styles (blocked by CSP) for classes."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and (style := token.attrGet("style")):
            token.attrs.pop("style", None)
            if match := _ALIGN_RE.search(style):
                token.attrSet("class", f"align-{match.group(1)}")


def _build() -> MarkdownIt:
    md = MarkdownIt("js-default", {"highlight": _highlight}).enable("table")
    md.core.ruler.push("images_to_links", _images_to_links)
    md.core.ruler.push("align_classes", _align_classes)
    return md


_MD = _build()


def render_markdown_uncached(text: str) -> SafeString:
    """Return sanitized HTML for markdown text without caching it (a streaming reply's tail)."""
    if not text:
        return mark_safe("")
    return mark_safe(_CLEANER.clean(_MD.render(text)))  # noqa: S308 - cleaned by nh3 just now


def rendered(html: str) -> SafeString:
    """Mark HTML this module rendered and sanitized as safe again.

    A streamed reply's blocks cross the channel layer as plain text; the frame that carries
    them to the page (engine.blocks.frame_html) must not escape them a second time.
    """
    return mark_safe(html)  # noqa: S308 - only ever output of render_markdown*


@lru_cache(maxsize=1024)
def render_markdown(text: str) -> SafeString:
    """Return sanitized HTML for markdown text."""
    return render_markdown_uncached(text)


# Stored with each message's HTML. Raise it whenever a change here (parser options, plugins,
# highlighting, the allowlist) changes the HTML of existing text, then run
# `manage.py rerender_messages`; until then older rows render on read.
RENDER_VERSION = 1


def message_html(content: str) -> str:
    """Return the HTML to store with a message's final content (stamp it with RENDER_VERSION).

    Every write that sets a message's final text calls this, so a read of a finished message
    never converts markdown.
    """
    return str(render_markdown_uncached(content))


def markdown_blocks(text: str) -> tuple[list[tuple[str, int, int, str]], bool]:
    """Return text's top-level blocks as (kind, first line, end line, markup), and any references.

    Lines are split on "\n" only, so pass text whose line ends are already normalized. The
    flag says whether text defines a reference-style link, which can change any block.
    """
    env: dict = {}
    tokens = _MD.block.parse(text, _MD, env, []) or []
    blocks = [
        (token.type.removesuffix("_open"), token.map[0], token.map[1], token.markup)
        for token in tokens
        if token.level == 0 and token.nesting >= 0 and token.map
    ]
    return blocks, bool(env.get("references"))


def pygments_css() -> str:
    """Return the stylesheet for highlighted code blocks, light and dark (static/pygments.css)."""
    prefix = ".markdown pre.highlight"

    def rules(style: str) -> list[str]:
        lines = HtmlFormatter(style=style).get_style_defs(prefix).splitlines()
        # Token rules only: the block's own background and line numbers come from app.css.
        return [line for line in lines if line.startswith(prefix + " .")]

    dark = "\n".join("  " + line for line in rules("github-dark"))
    light = "\n".join(rules("default"))
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"
