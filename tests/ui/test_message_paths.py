"""The message partial's action paths: one reversal per URL name, the same string as reverse."""

import pytest
from django.urls import reverse, set_script_prefix

from conversations.templatetags.chat import id_path

NAMES = [
    "message-switch",
    "message-branch",
    "message-regenerate",
    "message-continue",
    "message-feedback",
    "message-edit",
    "share-dialog",
]
# A generated id, one that reverse must quote, and one holding the split marker itself.
IDS = ["msg_01HZX3K9Q", "msg a?c#d&é%+", "id_0"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("public_id", IDS)
def test_id_path_is_what_reverse_returns(name, public_id):
    assert id_path(public_id, name) == reverse(name, args=[public_id])


def test_id_path_follows_the_script_prefix():
    try:
        set_script_prefix("/chat/")
        assert id_path("msg_1", "message-edit") == "/chat/m/msg_1/edit/"
        assert id_path("msg_1", "message-edit") == reverse("message-edit", args=["msg_1"])
    finally:
        set_script_prefix("/")
    assert id_path("msg_1", "message-edit") == "/m/msg_1/edit/"
