"""The one sanitizer: markdown in, HTML out that can never run script or fetch anything."""

from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils.safestring import SafeString

from conversations.rendering import _CLEANER, ALLOWED_TAGS, pygments_css, render_markdown

ROOT = Path(__file__).resolve().parents[2]

# Attack payloads as a model (or a user) could write them, raw or inside markdown.
XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](java&#x09;script:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="javascript:alert(1)">x</a>',
    "<img src=x onerror=alert(1)>",
    "![x](https://evil.example/pixel.png)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '![x" onerror="alert(1)](https://evil.example/a.png)',
    "<svg onload=alert(1)><circle r=10 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<iframe src=https://evil.example></iframe>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<object data=https://evil.example/x.swf></object>",
    "<embed src=https://evil.example/x.swf>",
    "<div hx-get=/admin/ hx-trigger=load>x</div>",
    "<div data-hx-post=/c/x/delete/ data-hx-trigger=load>x</div>",
    "<button hx-on:click=alert(1)>x</button>",
    "<form action=https://evil.example><input name=q></form>",
    '<p style="background:url(https://evil.example/x)">x</p>',
    '<div style="width: expression(alert(1))">x</div>',
    "<style>body{background:url(https://evil.example/x)}</style>",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    "<meta http-equiv=refresh content='0;url=https://evil.example'>",
    "<base href=https://evil.example/>",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<a href=https://ok.example onmouseover=alert(1)>x</a>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<img src=`x`onerror=alert(1)>",
    "<<script>script>alert(1)//<</script>/script>",
    "<template><script>alert(1)</script></template>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "```html\n<script>alert(1)</script>\n```",
    '```"><script>alert(1)</script>\nx\n```',
    "`<img src=x onerror=alert(1)>`",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    '[x](https://ok.example "a\\" onmouseover=\\"alert(1)")',
    "<a href='/relative/ok'>relative</a>",
    "[unclosed](https://example.com",
    "<div><p>broken <b>markup</div>",
    "\x00<script>alert(1)</script>",
]

SAFE_SCHEMES = ("http://", "https://", "mailto:")


class Collector(HTMLParser):
    """Collect every tag and attribute a browser would see."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def parse(html: str) -> list[tuple[str, dict]]:
    collector = Collector()
    collector.feed(html)
    collector.close()
    return collector.tags


def assert_inert(html: str) -> None:
    """Fail if the HTML holds a tag, attribute or URL that could run or fetch anything."""
    for tag, attrs in parse(html):
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, html)
            assert not name.startswith(("hx-", "data-hx", "ws-")), (name, html)
            assert name not in ("style", "src", "srcdoc", "action", "formaction"), (name, html)
            if name == "href":
                assert value.startswith(SAFE_SCHEMES), (value, html)
    assert "<script" not in html.lower()


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_payload_rendered_as_markdown_is_inert(payload):
    assert_inert(render_markdown(payload))


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_payload_is_inert_even_if_it_reached_the_cleaner_as_html(payload):
    # The last line of defence on its own: nh3 with our allowlist, given raw HTML.
    assert_inert(_CLEANER.clean(payload))


def test_output_is_a_safe_string_and_stable_across_calls():
    first = render_markdown("**bold**")
    assert isinstance(first, SafeString)
    assert first == render_markdown("**bold**") == "<p><strong>bold</strong></p>\n"


def test_raw_html_is_shown_as_text_not_markup():
    html = render_markdown("<b>hi</b> & <i>there</i>")
    assert "&lt;b&gt;hi&lt;/b&gt;" in html
    assert "<b>" not in html


def test_links_get_rel_and_keep_safe_schemes_only():
    html = render_markdown("[site](https://example.com) [mail](mailto:a@example.com)")
    assert 'href="https://example.com"' in html
    assert 'href="mailto:a@example.com"' in html
    assert html.count('rel="noopener noreferrer nofollow"') == 2


def test_relative_links_lose_their_target():
    # A relative link could point at the app's own actions; it is kept as text only.
    html = render_markdown("[delete](/c/conv_x/delete/)")
    assert "href" not in html
    assert "delete" in html


def test_images_become_links_so_nothing_is_fetched():
    html = render_markdown("![a chart](https://example.com/chart.png)")
    assert "<img" not in html
    assert 'href="https://example.com/chart.png"' in html
    assert "Image: a chart" in html


def test_fenced_code_is_highlighted_with_classes_and_its_language():
    html = render_markdown("```python\ndef f():\n    return '<b>'\n```")
    assert '<pre class="highlight" data-lang="python">' in html
    assert '<span class="k">def</span>' in html
    assert "&lt;b&gt;" in html
    assert "style=" not in html


def test_unknown_language_is_escaped_plain_text():
    html = render_markdown("```nosuchlang\n<script>x</script>\n```")
    assert '<pre class="highlight" data-lang="nosuchlang"><code>&lt;script&gt;' in html


def test_hostile_language_name_is_dropped():
    html = render_markdown('```py" onclick="x\nprint(1)\n```')
    assert "onclick" not in html
    assert '<pre class="highlight"><code>' in html


def test_tables_render_with_alignment_classes_not_styles():
    html = render_markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |")
    assert "<table>" in html
    assert '<th class="align-left">a</th>' in html
    assert '<td class="align-center">2</td>' in html
    assert '<td class="align-right">3</td>' in html
    assert "style" not in html


def test_only_highlighting_classes_survive_cleaning():
    html = _CLEANER.clean('<span class="visually-hidden k">x</span><p class="menu">y</p>')
    assert html == '<span class="k">x</span><p>y</p>'


def test_markdown_filter_renders_through_the_sanitizer():
    template = Template("{% load chat %}{{ text|markdown }}")
    out = template.render(Context({"text": "# Title\n<script>alert(1)</script>"}))
    assert "<h1>Title</h1>" in out
    assert "<script" not in out


def test_empty_text_renders_empty():
    assert render_markdown("") == ""


def test_static_pygments_css_matches_the_renderer():
    # Regenerate with: python -c "from conversations.rendering import pygments_css; ..."
    assert (ROOT / "static" / "pygments.css").read_text() == pygments_css()
