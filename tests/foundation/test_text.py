"""One check for text from any door: NUL, lone surrogates and other controls are refused."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, Resolver404, path, resolve, reverse

from core import converters
from core.text import _MARKUP, clean_metadata, clean_text, plain_text


def field_error(exc: pytest.ExceptionInfo, field: str) -> str:
    return " ".join(exc.value.message_dict[field])


@pytest.mark.parametrize("value", ["Hello", "tab\there", "lines\nand\r\nmore", "émoji 🎉"])
def test_text_is_returned_unchanged(value):
    assert clean_text(value, field="content") == value


@pytest.mark.parametrize(
    ("value", "char"),
    [
        ("a\x00b", "U+0000"),
        ("bell\x07", "U+0007"),
        ("\x1b[31m", "U+001B"),
        ("x\ud800y", "U+D800"),
        ("\x0b", "U+000B"),
        ("\udfff", "U+DFFF"),
    ],
)
def test_invalid_characters_are_refused_naming_the_field_and_character(value, char):
    with pytest.raises(ValidationError) as exc:
        clean_text(value, field="title", allow_empty=True)
    assert list(exc.value.message_dict) == ["title"]
    assert char in field_error(exc, "title")


def test_blank_is_refused_unless_allowed():
    with pytest.raises(ValidationError) as exc:
        clean_text("  \n", field="content")
    assert "blank" in field_error(exc, "content")
    assert clean_text("", field="title", allow_empty=True) == ""


def test_length_is_bounded():
    assert clean_text("abc", field="q", max_chars=3) == "abc"
    with pytest.raises(ValidationError) as exc:
        clean_text("abcd", field="q", max_chars=3)
    assert "3 characters" in field_error(exc, "q")


@pytest.mark.parametrize("value", [None, 3, ["a"], b"bytes"])
def test_non_text_is_refused(value):
    with pytest.raises(ValidationError) as exc:
        clean_text(value, field="name")
    assert "Must be text" in field_error(exc, "name")


def test_metadata_keys_and_values_are_checked():
    assert clean_metadata({"topic": "trips"}) == {"topic": "trips"}
    for bad in ({"a\x00": "v"}, {"k": "v\x00"}, {"k": "\ud800"}):
        with pytest.raises(ValidationError) as exc:
            clean_metadata(bad)
        assert "not allowed" in field_error(exc, "metadata")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "object of strings"),
        ({str(n): "v" for n in range(17)}, "At most 16"),
        ({"k" * 65: "v"}, "keys are at most 64"),
        ({"k": "v" * 513}, "values are at most 512"),
        ({"k": 1}, "must be strings"),
    ],
)
def test_metadata_shape_is_bounded(value, message):
    with pytest.raises(ValidationError) as exc:
        clean_metadata(value)
    assert message in field_error(exc, "metadata")


CONV = "conv_" + "0123456789abcdef" * 3
TOKEN = "Abc-_" + "x" * 38

urlpatterns = [
    path("c/<conv_id:public_id>/", lambda request, public_id: None, name="conv"),
    path("m/<msg_id:public_id>/", lambda request, public_id: None, name="msg"),
    path("p/<proj_id:public_id>/", lambda request, public_id: None, name="proj"),
    path("s/<share_token:token>/", lambda request, token: None, name="share"),
]


@pytest.mark.urls("tests.foundation.test_text")
def test_converters_match_only_ids_that_can_exist():
    assert resolve(f"/c/{CONV}/").kwargs == {"public_id": CONV}
    assert resolve(f"/m/msg_{CONV[5:]}/").kwargs == {"public_id": f"msg_{CONV[5:]}"}
    assert resolve(f"/p/proj_{CONV[5:]}/").kwargs == {"public_id": f"proj_{CONV[5:]}"}
    assert resolve(f"/s/{TOKEN}/").kwargs == {"token": TOKEN}
    for bad in [
        "/c/conv_\x00/",
        "/c/conv_missing/",
        f"/c/{CONV.upper()}/",
        f"/c/{CONV}0/",
        f"/m/{CONV}/",
        "/s/a\x00b/",
        "/s/short/",
        "/s/" + "x" * 65 + "/",
    ]:
        with pytest.raises(Resolver404):
            resolve(bad)


@pytest.mark.urls("tests.foundation.test_text")
def test_converters_reverse_only_valid_ids():
    assert reverse("conv", args=[CONV]) == f"/c/{CONV}/"
    with pytest.raises(NoReverseMatch):
        reverse("conv", args=["conv_missing"])


def test_id_shape_checks_for_getters():
    assert converters.is_public_id(CONV, prefix="conv")
    assert not converters.is_public_id(CONV, prefix="msg")
    assert not converters.is_public_id("conv_missing", prefix="conv")
    assert not converters.is_public_id(None, prefix="conv")
    assert converters.is_share_token(TOKEN)
    assert not converters.is_share_token("a\x00b")


@pytest.mark.parametrize(
    "value",
    [
        "Already plain words",
        "",
        "## Heading and **bold**",
        "a [link](https://example.com) here",
        "a](b) without its opening bracket",
        "pipes | in | tables",
        "double  space",
        " leading space",
        "trailing space ",
        "tab\there",
        "new\nline",
        "no-break\u00a0space",
        "ideographic\u3000space",
        "quote > and tilde ~ and `code`",
        "caf\u00e9 and combining e\u0301",
    ],
)
def test_plain_text_skips_only_text_it_would_not_change(value):
    # The fast path (text already plain, as stored previews are) gives what the rewrite gives.
    rewritten = " ".join(_MARKUP.sub("", value).replace("|", " ").split())
    assert plain_text(value) == rewritten
