"""Per-conversation menu actions: rename, pin, archive, share link, delete."""

import re

import pytest
from django.utils import timezone

from conversations.models import Conversation, Message
from sharing.models import ShareLink
from tests.factories import ConversationFactory
from tests.ui.conftest import HTMX, htmx_from


def row_titles(html: str) -> list[str]:
    return re.findall(r'<span class="row-title">([^<]+)</span>', html)


# --- Rename ----------------------------------------------------------------------------------


def test_rename_form_replaces_the_row(owner_client, conversation):
    response = owner_client.get(f"/c/{conversation.public_id}/rename/", headers=HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<li class="row">')
    assert 'hx-target="closest li"' in html
    assert 'name="title" value="Trip planning"' in html
    assert "autofocus" in html


def test_rename_saves_a_trimmed_title_and_returns_the_row(owner_client, conversation):
    response = owner_client.post(
        f"/c/{conversation.public_id}/rename/",
        {"title": "   Lisbon   in  May  "},
        headers=htmx_from(f"/c/{conversation.public_id}/"),
    )
    conversation.refresh_from_db()
    assert conversation.title == "Lisbon in May"
    html = response.content.decode()
    assert row_titles(html) == ["Lisbon in May"]
    assert 'aria-current="page"' in html


@pytest.mark.parametrize(
    ("title", "error"),
    [("", "Enter a title."), ("    ", "Enter a title."), ("x" * 201, "200 characters")],
)
def test_rename_rejects_bad_titles_inline_and_keeps_the_input(
    owner_client, conversation, title, error
):
    response = owner_client.post(
        f"/c/{conversation.public_id}/rename/", {"title": title}, headers=HTMX
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert error in html
    assert 'role="alert"' in html and 'aria-invalid="true"' in html
    assert f'value="{title}"' in html
    conversation.refresh_from_db()
    assert conversation.title == "Trip planning"


def test_rename_accepts_exactly_200_characters(owner_client, conversation):
    owner_client.post(f"/c/{conversation.public_id}/rename/", {"title": "y" * 200}, headers=HTMX)
    conversation.refresh_from_db()
    assert conversation.title == "y" * 200


def test_rename_without_javascript(owner_client, owner, conversation):
    ConversationFactory.create_batch(2, owner=owner, title="Other")
    page = owner_client.get(f"/c/{conversation.public_id}/rename/").content.decode()
    assert "<!doctype html>" in page and 'name="title"' in page
    assert page.count('class="rename-form"') == 1
    bad = owner_client.post(f"/c/{conversation.public_id}/rename/", {"title": ""})
    assert bad.status_code == 400 and "Enter a title." in bad.content.decode()
    # Only the renamed row is a form (the other rows stay rows).
    assert bad.content.decode().count('class="rename-form"') == 1
    assert bad.content.decode().count('aria-label="Options for Other"') == 2
    good = owner_client.post(f"/c/{conversation.public_id}/rename/", {"title": "New"})
    assert good.status_code == 302
    assert good["Location"] == f"/c/{conversation.public_id}/"


# --- Pin and archive ----------------------------------------------------------------------


def test_pin_moves_the_row_to_the_pinned_group(owner_client, owner, conversation):
    ConversationFactory(owner=owner, title="Unpinned")
    response = owner_client.post(f"/c/{conversation.public_id}/pin/", {"pinned": "1"}, headers=HTMX)
    conversation.refresh_from_db()
    assert conversation.pinned_at is not None
    html = response.content.decode()
    assert '<div id="conversation-list" class="conversation-list" hx-swap-oob="true">' in html
    pinned_part = html.split('<h2 class="group-heading">Pinned</h2>')[1].split("group-heading")[0]
    assert row_titles(pinned_part) == ["Trip planning"]
    menu = owner_client.get(f"/c/{conversation.public_id}/actions/", headers=HTMX)
    assert ">Unpin</button>" in menu.content.decode()


def test_unpin(owner_client, owner):
    conv = ConversationFactory(owner=owner, pinned_at=timezone.now())
    owner_client.post(f"/c/{conv.public_id}/pin/", {"pinned": "0"}, headers=HTMX)
    conv.refresh_from_db()
    assert conv.pinned_at is None


def test_archive_takes_it_out_of_the_sidebar(owner_client, conversation):
    response = owner_client.post(
        f"/c/{conversation.public_id}/archive/", {"archived": "1"}, headers=HTMX
    )
    conversation.refresh_from_db()
    assert conversation.archived_at is not None
    assert "Trip planning" not in row_titles(response.content.decode())


def test_unarchive_from_the_archived_page_without_javascript(owner_client, owner):
    conv = ConversationFactory(owner=owner, archived_at=timezone.now())
    response = owner_client.post(
        f"/c/{conv.public_id}/archive/", {"archived": "0", "next": "/archived/"}
    )
    assert response.status_code == 302 and response["Location"] == "/archived/"
    conv.refresh_from_db()
    assert conv.archived_at is None


def test_next_must_be_a_local_path(owner_client, conversation):
    response = owner_client.post(
        f"/c/{conversation.public_id}/pin/", {"pinned": "1", "next": "//evil.example/"}
    )
    assert response["Location"] == f"/c/{conversation.public_id}/"


def test_menu_offers_every_action_with_stable_names(owner_client, conversation):
    html = owner_client.get("/sidebar/", headers=HTMX).content.decode()
    actions_url = f"/c/{conversation.public_id}/actions/"
    # The row links to its menu; the menu itself comes when it opens.
    assert f'href="{actions_url}" role="button" aria-label="Options for Trip planning"' in html
    menu = owner_client.get(actions_url, headers=HTMX).content.decode()
    assert menu.lstrip().startswith('<details class="menu-wrap row-menu" data-menu open')
    assert 'aria-label="Options for Trip planning"' in menu
    for label in (">Rename</a>", ">Pin</button>", ">Archive</button>", ">Share</a>", ">Delete</a>"):
        assert label in menu
    assert ">Move to project</a>" in menu
    assert f'/c/{conversation.public_id}/share/"' in menu
    assert 'hx-target="closest li"' in menu  # Rename swaps the row


def test_menu_query_count_is_fixed(owner_client, conversation, django_assert_num_queries):
    # Expect 3 queries: session, user, the conversation.
    with django_assert_num_queries(3):
        response = owner_client.get(f"/c/{conversation.public_id}/actions/", headers=HTMX)
    assert response.status_code == 200


def test_actions_page_without_javascript(owner_client, conversation):
    response = owner_client.get(f"/c/{conversation.public_id}/actions/")
    html = response.content.decode()
    assert "<!doctype html>" in html and "<h1>Trip planning</h1>" in html
    for label in (">Rename</a>", ">Pin</button>", ">Archive</button>", ">Share</a>", ">Delete</a>"):
        assert label in html
    assert ">Move to project</a>" in html
    # A plain form post comes back to this page with the new state.
    assert f'name="next" value="/c/{conversation.public_id}/actions/"' in html
    back = owner_client.post(
        f"/c/{conversation.public_id}/pin/",
        {"pinned": "1", "next": f"/c/{conversation.public_id}/actions/"},
        follow=True,
    )
    assert back.redirect_chain == [(f"/c/{conversation.public_id}/actions/", 302)]
    assert ">Unpin</button>" in back.content.decode()


def test_actions_of_another_users_conversation_are_a_404(outsider_client, conversation):
    url = f"/c/{conversation.public_id}/actions/"
    assert outsider_client.get(url, headers=HTMX).status_code == 404
    assert outsider_client.get(url).status_code == 404


# --- Delete ----------------------------------------------------------------------------------


def test_delete_asks_in_a_dialog(owner_client, conversation):
    html = owner_client.get(f"/c/{conversation.public_id}/delete/", headers=HTMX).content.decode()
    assert html.lstrip().startswith('<dialog class="dialog" id="delete-dialog"')
    assert "data-modal" in html and "Delete conversation?" in html


def test_delete_confirm_page_without_javascript(owner_client, conversation):
    html = owner_client.get(f"/c/{conversation.public_id}/delete/").content.decode()
    assert "<!doctype html>" in html and "data-modal open" in html


def test_delete_removes_messages_and_shares(owner_client, owner, conversation):
    ShareLink.objects.create(
        owner=owner, conversation=conversation, message=conversation.current_message
    )
    other = ConversationFactory(owner=owner, title="Survivor")
    response = owner_client.post(
        f"/c/{conversation.public_id}/delete/", headers=htmx_from(f"/c/{other.public_id}/")
    )
    assert response.status_code == 200
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()
    assert not ShareLink.objects.exists()
    assert row_titles(response.content.decode()) == ["Survivor"]


def test_deleting_the_open_conversation_goes_to_a_new_chat(owner_client, conversation):
    response = owner_client.post(
        f"/c/{conversation.public_id}/delete/",
        headers=htmx_from(f"/c/{conversation.public_id}/"),
    )
    assert response["HX-Redirect"] == "/"


def test_delete_without_javascript_redirects_home_with_a_message(owner_client, conversation):
    response = owner_client.post(f"/c/{conversation.public_id}/delete/", follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert "Conversation deleted." in response.content.decode()
