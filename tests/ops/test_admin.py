import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import ApiKey, hash_key
from conversations import moderation, services
from conversations.admin import ConversationAdmin, MessageAdmin
from conversations.models import Conversation, Message, ModerationEvent
from sharing.models import ShareLink
from tests.factories import MessageFactory, ProjectFactory, UserFactory
from tests.ops.world import days_ago, make_conversation, share

CHANGELIST = reverse("admin:conversations_conversation_changelist")


def change_url(conversation):
    return reverse("admin:conversations_conversation_change", args=[conversation.pk])


def listed_ids(response) -> set[str]:
    return set(re.findall(r"conv_[A-Za-z0-9_-]+", response.content.decode()))


# Staff only


@pytest.mark.parametrize(
    "url",
    [
        CHANGELIST,
        reverse("admin:conversations_message_changelist"),
        reverse("admin:conversations_moderationevent_changelist"),
        reverse("admin:sharing_sharelink_changelist"),
        reverse("admin:accounts_apikey_changelist"),
    ],
)
def test_non_staff_user_is_sent_to_the_admin_login(owner_client, url):
    response = owner_client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_non_staff_user_cannot_open_a_conversation_or_run_an_action(owner_client, owner):
    conversation = make_conversation(owner=owner)

    page = owner_client.get(change_url(conversation))
    action = owner_client.post(
        CHANGELIST,
        {
            "action": "lock_conversations",
            "_selected_action": [conversation.pk],
            "apply": "1",
            "reason": "mine now",
        },
    )

    assert page.status_code == action.status_code == 302
    conversation.refresh_from_db()
    assert conversation.status == "active"
    assert not ModerationEvent.objects.exists()


# The conversation list


def test_conversation_list_query_count_does_not_grow_with_rows(
    staff_client, owner, django_assert_num_queries
):
    def list_page():
        # Expect 5 queries: session, staff user, count, one page of conversations with the
        # project joined and the "shared" Exists, the page's owners; on PostgreSQL one more,
        # the planner's row estimate, read first so a table of millions is never counted in
        # full.
        with django_assert_num_queries(6 if connection.vendor == "postgresql" else 5) as captured:
            response = staff_client.get(CHANGELIST)
        assert response.status_code == 200
        # Owners joined, SQLite's planner would read the few users first and sort all their
        # conversations to find one page.
        page = captured.captured_queries[-2]["sql"]
        assert "conversations_conversation" in page and "auth_user" not in page
        return response

    project = ProjectFactory(owner=owner)
    for index in range(2):
        share(make_conversation(owner=owner, project=project, title=f"first{index}"))
    assert len(listed_ids(list_page())) == 2

    other = UserFactory()
    for index in range(40):
        conversation = make_conversation(owner=other, title=f"more{index}", messages=1)
        if index % 3 == 0:
            share(conversation)
    assert len(listed_ids(list_page())) == 42


@pytest.fixture
def world(owner, outsider):
    project = ProjectFactory(owner=owner, title="Garden")
    return {
        "planning": make_conversation(owner=owner, title="Tomato planning", project=project),
        "shared": make_conversation(owner=owner, title="Shared recipe"),
        "locked": make_conversation(
            owner=outsider, title="Spam", status="locked", status_reason="spam"
        ),
        "project": project,
    }


def test_search_finds_message_text_once_however_many_messages_match(staff_client, world):
    for _ in range(5):
        MessageFactory(conversation=world["shared"], content="the secret ingredient is basil")

    response = staff_client.get(CHANGELIST, {"q": "ingredient basil"})

    assert listed_ids(response) == {world["shared"].public_id}
    assert response.context["cl"].result_count == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tomato", {"planning"}),
        ("mallory", {"locked"}),
        ("alice@example.com", {"planning", "shared"}),
        ("nothing-like-this", set()),
    ],
)
def test_search_matches_title_owner_and_email(staff_client, world, query, expected):
    response = staff_client.get(CHANGELIST, {"q": query})

    assert listed_ids(response) == {world[name].public_id for name in expected}


def test_a_word_search_reads_the_full_text_index_never_every_message(
    staff_client, owner, outsider, django_assert_num_queries
):
    basil = make_conversation(owner=outsider, title="Herbs", messages=0)
    MessageFactory(conversation=basil, content="Water the basil plants daily.")
    MessageFactory(conversation=basil, content="More basil in the sauce.")
    sage = make_conversation(owner=owner, title="Basil and sage", messages=0)
    make_conversation(owner=owner, title="Something else")

    # Expect 7 queries: session, staff user, conversation ids from the full-text index (the
    # newest matching messages and titles), owners whose username or email holds the term
    # (none here), count (of those ids, at most SEARCH_COUNT_CAP), one page of them, the
    # page's owners.
    with django_assert_num_queries(7) as captured:
        response = staff_client.get(CHANGELIST, {"q": "basil"})

    assert listed_ids(response) == {basil.public_id, sage.public_id}
    assert response.context["cl"].result_count == 2
    sqls = [query["sql"] for query in captured.captured_queries]
    # The words are looked up in the index (FTS5 or tsvector), never LIKE over messages.
    assert "conversations_message_fts" in sqls[2] or "search_vector" in sqls[2]
    assert not any("LIKE" in sql and "conversations_message" in sql for sql in sqls)
    # The count reads ids alone: no order, no per-row share lookup.
    assert "ORDER BY" not in sqls[4] and "sharing_sharelink" not in sqls[4]


def test_a_search_for_an_owner_lists_their_newest_conversations(
    staff_client, owner, outsider, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr("conversations.admin.SEARCH_COUNT_CAP", 2)
    old, newer, newest = (
        make_conversation(owner=outsider, title=f"Talk {age}", age_days=age) for age in (3, 2, 1)
    )
    make_conversation(owner=owner, title="Not theirs")

    # Expect 8 queries: session, staff user, conversation ids from the full-text index,
    # owners whose username or email holds the term, their newest conversations (the
    # sidebar index), count, one page, the page's owners.
    with django_assert_num_queries(8):
        response = staff_client.get(CHANGELIST, {"q": "mallory"})

    assert listed_ids(response) == {newer.public_id, newest.public_id}


def test_a_phrase_matches_its_words_side_by_side(staff_client, owner):
    together = make_conversation(owner=owner, title="One", messages=0)
    MessageFactory(conversation=together, content="the secret ingredient is basil")
    apart = make_conversation(owner=owner, title="Two", messages=0)
    MessageFactory(conversation=apart, content="an ingredient kept secret")

    phrase = staff_client.get(CHANGELIST, {"q": '"secret ingredient"'})
    words = staff_client.get(CHANGELIST, {"q": "secret ingredient"})

    assert listed_ids(phrase) == {together.public_id}
    assert listed_ids(words) == {together.public_id, apart.public_id}


def test_a_search_of_nothing_searchable_lists_nothing(staff_client, owner):
    make_conversation(owner=owner, title="Anything")

    response = staff_client.get(CHANGELIST, {"q": '"" -'})

    assert response.status_code == 200
    assert listed_ids(response) == set()


def test_search_by_exact_public_id(staff_client, world):
    response = staff_client.get(CHANGELIST, {"q": world["locked"].public_id})

    assert listed_ids(response) == {world["locked"].public_id}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status__exact": "locked"}, {"locked"}),
        ({"shared": "yes"}, {"shared"}),
        ({"shared": "no"}, {"planning", "locked"}),
        ({"project": "any"}, {"planning"}),
        ({"project": "none"}, {"shared", "locked"}),
        ({"updated_at__gte": "2000-01-01"}, {"planning", "shared", "locked"}),
    ],
)
def test_filters(staff_client, world, params, expected):
    share(world["shared"])
    share(world["planning"], revoked_at=days_ago(1))

    response = staff_client.get(CHANGELIST, params)

    assert listed_ids(response) == {world[name].public_id for name in expected}


def test_project_filter_offers_the_selected_owners_projects(staff_client, world, owner):
    ProjectFactory(title="Someone else's project")

    response = staff_client.get(CHANGELIST, {"owner": owner.pk})
    by_project = staff_client.get(CHANGELIST, {"owner": owner.pk, "project": world["project"].pk})

    assert "Garden" in response.content.decode()
    assert "Someone else&#x27;s project" not in response.content.decode()
    assert listed_ids(response) == {world["planning"].public_id, world["shared"].public_id}
    assert listed_ids(by_project) == {world["planning"].public_id}


def test_date_filter_excludes_old_conversations(staff_client, owner):
    old = make_conversation(owner=owner, age_days=60)
    new = make_conversation(owner=owner)

    response = staff_client.get(CHANGELIST, {"updated_at__gte": days_ago(7).date().isoformat()})

    assert listed_ids(response) == {new.public_id}
    assert old.public_id not in response.content.decode()


# The conversation page


def test_conversation_page_pages_through_every_branch(staff_client, owner):
    conversation = make_conversation(owner=owner, messages=60)
    root = Message.objects.filter(conversation=conversation, parent=None).get()
    branch = [MessageFactory(conversation=conversation, parent=root) for _ in range(30)]
    every_id = list(
        Message.objects.filter(conversation=conversation)
        .order_by("pk")
        .values_list("public_id", flat=True)
    )

    seen, params = [], {}
    while True:
        response = staff_client.get(change_url(conversation), params)
        page = [row["public_id"] for row in response.context["message_page"]]
        assert len(page) <= 50
        seen += page
        after = response.context["message_page_next"]
        if after is None:
            break
        params = {"messages_after": after}

    assert seen == every_id
    assert branch[-1].public_id in seen
    back = staff_client.get(
        change_url(conversation), {"messages_before": params["messages_after"] + 1}
    )
    assert [row["public_id"] for row in back.context["message_page"]] == every_id[:50]


def test_conversation_page_query_count_does_not_grow_with_messages(
    staff_client, owner, django_assert_num_queries
):
    small = make_conversation(owner=owner, messages=2, project=ProjectFactory(owner=owner))
    large = make_conversation(owner=owner, messages=400, project=ProjectFactory(owner=owner))

    staff_client.get(change_url(small))  # caches the content type the page links with
    for conversation in (small, large):
        # Expect 4 queries: session, staff user, the conversation with owner and project,
        # one page of messages.
        with django_assert_num_queries(4):
            response = staff_client.get(change_url(conversation))
        assert response.status_code == 200
    assert len(response.context["message_page"]) == 50


def test_conversation_page_escapes_message_text(staff_client, owner):
    conversation = make_conversation(owner=owner, messages=0)
    MessageFactory(conversation=conversation, content="<script>alert(1)</script>")

    response = staff_client.get(change_url(conversation))

    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content


# Moderation actions


def action(staff_client, name, conversations, **fields):
    return staff_client.post(
        CHANGELIST,
        {"action": name, "_selected_action": [c.pk for c in conversations], **fields},
    )


def test_lock_asks_for_a_reason_then_refuses_the_owners_next_send(staff_client, staff, owner):
    conversation = make_conversation(owner=owner)

    form = action(staff_client, "lock_conversations", [conversation])
    assert form.status_code == 200
    assert b'name="reason"' in form.content
    conversation.refresh_from_db()
    assert conversation.status == "active"

    done = action(
        staff_client, "lock_conversations", [conversation], apply="1", reason="Harassment"
    )

    assert done.status_code == 302
    conversation.refresh_from_db()
    assert (conversation.status, conversation.status_reason) == ("locked", "Harassment")
    event = ModerationEvent.objects.get()
    assert (event.actor, event.action, event.reason) == (staff, "lock", "Harassment")
    with pytest.raises(services.ConversationNotOpen, match="Harassment"):
        services.message_send(conversation=conversation, content="still here")


def test_lock_without_a_reason_changes_nothing(staff_client, owner):
    conversation = make_conversation(owner=owner)

    response = action(staff_client, "lock_conversations", [conversation], apply="1", reason="")

    assert response.status_code == 200
    assert b"This field is required." in response.content
    conversation.refresh_from_db()
    assert conversation.status == "active"
    assert not ModerationEvent.objects.exists()


def test_close_applies_to_every_selected_conversation(staff_client, owner, outsider):
    chosen = [make_conversation(owner=owner), make_conversation(owner=outsider)]
    spared = make_conversation(owner=owner)

    action(staff_client, "close_conversations", chosen, apply="1", reason="Policy")

    assert set(Conversation.objects.filter(status="closed")) == set(chosen)
    spared.refresh_from_db()
    assert spared.status == "active"
    assert ModerationEvent.objects.filter(action="close").count() == 2


def test_lock_from_the_conversation_page(staff_client, owner):
    conversation = make_conversation(owner=owner)
    fields = {"CHANGE_FORM-action": "lock_conversations", "_selected_action": conversation.pk}

    form = staff_client.post(change_url(conversation), fields)
    done = staff_client.post(change_url(conversation), {**fields, "apply": "1", "reason": "Spam"})

    assert b'name="reason"' in form.content
    assert done.status_code == 302
    conversation.refresh_from_db()
    assert (conversation.status, conversation.status_reason) == ("locked", "Spam")


def test_reopen_lets_the_owner_send_again(staff_client, owner):
    conversation = make_conversation(owner=owner, status="closed", status_reason="Policy")

    action(staff_client, "reopen_conversations", [conversation], apply="1", reason="Appeal")

    conversation.refresh_from_db()
    assert (conversation.status, conversation.status_reason) == ("active", "")
    assert services.message_send(conversation=conversation, content="thanks").created


def test_revoke_shares_action_kills_every_live_link(staff_client, owner):
    conversation = make_conversation(owner=owner)
    links = [share(conversation), share(conversation)]

    action(staff_client, "revoke_shares", [conversation], apply="1", reason="")

    assert not ShareLink.objects.live().filter(pk__in=[link.pk for link in links]).exists()
    assert ModerationEvent.objects.get().action == "revoke_shares"


def test_delete_action_deletes_and_logs(staff_client, owner):
    conversation = make_conversation(owner=owner, messages=3)

    response = action(
        staff_client, "delete_conversations", [conversation], apply="1", reason="Illegal"
    )

    assert response["Location"] == CHANGELIST
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()
    event = ModerationEvent.objects.get()
    assert (event.action, event.reason, event.conversation_public_id) == (
        "delete",
        "Illegal",
        conversation.public_id,
    )


def test_delete_button_on_the_conversation_page_is_logged(staff_client, owner):
    conversation = make_conversation(owner=owner)
    url = reverse("admin:conversations_conversation_delete", args=[conversation.pk])

    staff_client.post(url, {"post": "yes"})

    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert ModerationEvent.objects.get().action == "delete"


def test_moderation_log_lists_events_and_is_read_only(staff_client, staff, owner):
    conversation = make_conversation(owner=owner, title="Bad one")
    action(staff_client, "lock_conversations", [conversation], apply="1", reason="Spam here")
    event = ModerationEvent.objects.get()

    listing = staff_client.get(reverse("admin:conversations_moderationevent_changelist"))
    add = staff_client.get(reverse("admin:conversations_moderationevent_add"))
    edit = staff_client.post(
        reverse("admin:conversations_moderationevent_change", args=[event.pk]),
        {"reason": "rewritten"},
    )

    assert all(text in listing.content.decode() for text in ("Spam here", "moderator", "lock"))
    assert add.status_code == 403
    assert edit.status_code == 403
    event.refresh_from_db()
    assert event.reason == "Spam here"


# The other models


def test_message_list_query_count_does_not_grow_with_rows(
    staff_client, owner, django_assert_num_queries
):
    url = reverse("admin:conversations_message_changelist")
    for size in (2, 60):
        make_conversation(owner=owner, messages=size)
        # Expect 5 queries: session, staff user, count, one page of messages with their
        # conversation joined, the per-model feedback counts; on PostgreSQL one more, the
        # planner's row estimate, read first so a table of millions is never counted in full.
        with django_assert_num_queries(6 if connection.vendor == "postgresql" else 5):
            assert staff_client.get(url).status_code == 200


def test_messages_are_read_only_in_the_admin(staff_client, owner):
    message = make_conversation(owner=owner).current_message
    url = reverse("admin:conversations_message_change", args=[message.pk])

    page = staff_client.get(url)
    edit = staff_client.post(url, {"content": "rewritten"})

    assert page.status_code == 200
    assert edit.status_code == 403
    message.refresh_from_db()
    assert message.content != "rewritten"


def test_api_key_hash_is_shown_but_never_editable(staff_client, owner):
    key = ApiKey.objects.create(user=owner, prefix="sk-chat-xyz", key_hash=hash_key("raw"))
    url = reverse("admin:accounts_apikey_change", args=[key.pk])

    page = staff_client.get(url)
    staff_client.post(url, {"name": "renamed", "key_hash": "0" * 64, "prefix": "evil"})

    assert "key_hash" not in page.context["adminform"].form.fields
    key.refresh_from_db()
    assert (key.name, key.key_hash, key.prefix) == ("renamed", hash_key("raw"), "sk-chat-xyz")


def test_share_token_is_never_editable(staff_client, owner):
    link = share(make_conversation(owner=owner))
    url = reverse("admin:sharing_sharelink_change", args=[link.pk])

    page = staff_client.get(url)

    assert "token" not in page.context["adminform"].form.fields
    assert link.token in page.content.decode()


@pytest.mark.parametrize(
    "name",
    [
        "accounts_apikey",
        "projects_project",
        "conversations_conversation",
        "conversations_message",
        "conversations_moderationevent",
        "sharing_sharelink",
    ],
)
def test_every_model_has_a_working_list_and_page(staff_client, owner, name):
    conversation = make_conversation(owner=owner, project=ProjectFactory(owner=owner))
    link = share(conversation)
    ApiKey.objects.create(user=owner, prefix="sk-chat-abc", key_hash=hash_key("k"))
    moderation.conversation_lock(conversation=conversation, actor=None, reason="Spam")
    objects = {
        "accounts_apikey": ApiKey.objects.get(),
        "projects_project": conversation.project,
        "conversations_conversation": conversation,
        "conversations_message": conversation.current_message,
        "conversations_moderationevent": ModerationEvent.objects.get(),
        "sharing_sharelink": link,
    }

    listing = staff_client.get(reverse(f"admin:{name}_changelist"))
    page = staff_client.get(reverse(f"admin:{name}_change", args=[objects[name].pk]))
    search = staff_client.get(reverse(f"admin:{name}_changelist"), {"q": "x"})

    assert (listing.status_code, page.status_code, search.status_code) == (200, 200, 200)


def test_revoking_share_links_in_their_admin(staff_client, owner):
    conversation = make_conversation(owner=owner)
    live, other = share(conversation), share(conversation)

    staff_client.post(
        reverse("admin:sharing_sharelink_changelist"),
        {"action": "revoke_links", "_selected_action": [live.pk]},
    )

    assert not ShareLink.objects.live().filter(pk=live.pk).exists()
    assert ShareLink.objects.live().filter(pk=other.pk).exists()


@pytest.mark.parametrize(
    ("state", "expected"), [("live", {"live"}), ("revoked", {"revoked"}), ("expired", {"expired"})]
)
def test_share_link_state_filter(staff_client, owner, state, expected):
    conversation = make_conversation(owner=owner)
    links = {
        "live": share(conversation),
        "revoked": share(conversation, revoked_at=days_ago(1)),
        "expired": share(conversation, expires_at=days_ago(1)),
    }

    response = staff_client.get(reverse("admin:sharing_sharelink_changelist"), {"state": state})

    shown = {link.pk for link in response.context["cl"].result_list}
    assert shown == {links[name].pk for name in expected}


def test_revoking_api_keys_in_their_admin(staff_client, owner):
    kept = ApiKey.objects.create(user=owner, prefix="sk-chat-a", key_hash=hash_key("a"))
    revoked = ApiKey.objects.create(user=owner, prefix="sk-chat-b", key_hash=hash_key("b"))

    staff_client.post(
        reverse("admin:accounts_apikey_changelist"),
        {"action": "revoke_keys", "_selected_action": [revoked.pk]},
    )

    assert list(ApiKey.objects.active()) == [kept]


def test_staff_can_rename_a_conversation(staff_client, owner):
    conversation = make_conversation(owner=owner, title="Rude title")

    response = staff_client.post(change_url(conversation), {"title": "  Renamed   by staff "})

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.title == "Renamed by staff"


def test_a_blank_title_is_refused(staff_client, owner):
    conversation = make_conversation(owner=owner, title="Kept")

    response = staff_client.post(change_url(conversation), {"title": "   "})

    assert response.status_code == 200
    assert "Enter a title." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.title == "Kept"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner estimates are PostgreSQL's")
def test_message_list_never_counts_a_large_table_in_full(staff_client, owner):
    conversation = make_conversation(owner=owner, messages=0)
    Message.objects.bulk_create(
        Message(conversation=conversation, role="user", content="x") for _ in range(10_050)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conversations_message")
    url = reverse("admin:conversations_message_changelist")

    with CaptureQueriesContext(connection) as unfiltered:
        listing = staff_client.get(url)
    with CaptureQueriesContext(connection) as filtered:
        staff_client.get(url, {"role__exact": "user"})

    assert listing.context["cl"].result_count >= 10_000
    # No count of the table (the feedback-by-model table is a GROUP BY over rated replies).
    assert not any(
        "COUNT(" in query["sql"] and "GROUP BY" not in query["sql"]
        for query in unfiltered.captured_queries
    )
    assert any("COUNT(" in query["sql"] for query in filtered.captured_queries)


def test_a_search_counts_and_pages_at_most_the_cap(staff_client, owner, monkeypatch):
    monkeypatch.setattr("conversations.admin.SEARCH_COUNT_CAP", 3)
    monkeypatch.setattr(ConversationAdmin, "list_per_page", 2)
    for index in range(5):
        make_conversation(owner=owner, title=f"Common word {index}")

    first = staff_client.get(CHANGELIST, {"q": "common"})
    last = staff_client.get(CHANGELIST, {"q": "common", "p": "2"})
    listed = staff_client.get(CHANGELIST)

    assert first.context["cl"].result_count == 3
    assert (len(listed_ids(first)), len(listed_ids(last))) == (2, 1)
    assert listed.context["cl"].result_count == 5


def test_a_search_lists_its_matches_by_their_ids_in_one_parameter(staff_client, owner):
    """The matches' ids (up to 2,000) reach the count and the page; on PostgreSQL as one
    array rather than an IN list of a parameter each."""
    matching = [make_conversation(owner=owner, title=f"Kettle {i}") for i in range(60)]
    make_conversation(owner=owner, title="Something else")

    with CaptureQueriesContext(connection) as captured:
        response = staff_client.get(CHANGELIST, {"q": "kettle"})

    assert listed_ids(response) == {c.public_id for c in matching}
    assert response.context["cl"].result_count == 60
    listing = [q["sql"] for q in captured.captured_queries if "ORDER BY" in q["sql"]]
    counting = [q["sql"] for q in captured.captured_queries if "COUNT(*)" in q["sql"]]
    for sql in listing[-1:] + counting:
        if connection.vendor == "postgresql":
            assert '"conversations_conversation"."id" = ANY(' in sql and " IN (" not in sql
        else:
            assert " IN (" in sql


MESSAGES = reverse("admin:conversations_message_changelist")


def test_a_filtered_list_counts_at_most_what_its_pages_can_show(staff_client, owner, monkeypatch):
    monkeypatch.setattr("conversations.admin.MAX_PAGES", 3)
    monkeypatch.setattr(MessageAdmin, "list_per_page", 2)
    make_conversation(owner=owner, messages=20)
    with CaptureQueriesContext(connection) as captured:
        response = staff_client.get(MESSAGES, {"role__exact": "user"})
    # The page's count (the feedback-by-model table is a GROUP BY over rated replies only,
    # through their partial index).
    (count,) = [
        q["sql"]
        for q in captured.captured_queries
        if "COUNT(" in q["sql"] and "GROUP BY" not in q["sql"]
    ]
    # The count reads at most MAX_PAGES pages of rows (10 user messages exist).
    assert "LIMIT 6" in count
    assert response.context["cl"].result_count == 6
    assert response.context["cl"].paginator.num_pages == 3


def test_pages_past_the_bound_do_not_exist(staff_client, owner, monkeypatch):
    monkeypatch.setattr("conversations.admin.MAX_PAGES", 3)
    monkeypatch.setattr(MessageAdmin, "list_per_page", 2)
    make_conversation(owner=owner, messages=20)
    assert staff_client.get(MESSAGES, {"p": "3"}).status_code == 200
    deep = staff_client.get(MESSAGES, {"p": "4"})
    # The admin's answer to a page that does not exist: back to the list with an error flag.
    assert deep.status_code == 302 and deep["Location"].endswith("?e=1")


def test_message_search_uses_the_one_column_an_id_can_be(staff_client, owner):
    conversation = make_conversation(owner=owner, messages=4)
    message = conversation.current_message
    Message.objects.filter(pk=message.parent_id).update(call_id="chatcmpl-42")
    searches = {
        message.public_id: '"public_id" =',
        conversation.public_id: '"conversation_id"',
        "chatcmpl-42": '"call_id" =',
    }
    for term, column in searches.items():
        with CaptureQueriesContext(connection) as captured:
            response = staff_client.get(MESSAGES, {"q": term})
        page = captured.captured_queries[-1]["sql"]
        assert column in page and " OR " not in page
        shown = set(re.findall(r"msg_[0-9a-f]{48}", response.content.decode()))
        if term == message.public_id:
            assert shown == {message.public_id}
        elif term == "chatcmpl-42":
            assert shown == {Message.objects.get(pk=message.parent_id).public_id}
        else:
            assert len(shown) == 4


def test_conversation_search_by_id_reads_only_that_id(staff_client, owner):
    conversation = make_conversation(owner=owner, title="Alpha")
    make_conversation(owner=owner, title=conversation.public_id[:10])
    with CaptureQueriesContext(connection) as captured:
        response = staff_client.get(CHANGELIST, {"q": conversation.public_id})
    assert listed_ids(response) >= {conversation.public_id}
    assert all(" LIKE " not in q["sql"] for q in captured.captured_queries)


def test_the_row_checkbox_is_the_one_checkboxinput_renders(owner):
    conversation = make_conversation(owner=owner, title='<b>"Tom" & Jerry\'s</b>')
    model_admin = ConversationAdmin(Conversation, admin.site)

    mine = model_admin.action_checkbox(conversation)
    djangos = admin.ModelAdmin.action_checkbox(model_admin, conversation)

    assert str(mine) == str(djangos)


@pytest.mark.parametrize(
    "name, query",
    [
        ("conversations_conversation", ""),
        ("conversations_conversation", "?status__exact=locked&o=2.-8"),
        ("conversations_message", "?role__exact=user"),
        ("conversations_moderationevent", "?action__exact=lock"),
    ],
)
def test_row_links_are_the_ones_django_builds(staff_client, owner, name, query, monkeypatch):
    """One reversal per page gives each row the link Django's per-row reverse and
    add_preserved_filters gave: the change URL with the list's filters attached."""
    from django.contrib.admin.views.main import ChangeList

    from conversations.admin import RowLinksChangeList

    conversation = make_conversation(owner=owner, messages=3)
    moderation.conversation_lock(conversation=conversation, actor=None, reason="spam")
    url = reverse(f"admin:{name}_changelist") + query

    def row_links(response):
        assert response.status_code == 200
        return re.findall(r'<a href="([^"]*/change/[^"]*)"', response.content.decode())

    ours = row_links(staff_client.get(url))
    for model_admin in admin.site._registry.values():
        monkeypatch.setattr(model_admin, "get_changelist", lambda request, **kw: ChangeList)
    monkeypatch.setattr(RowLinksChangeList, "__init__", ChangeList.__init__)
    monkeypatch.setattr(RowLinksChangeList, "url_for_result", ChangeList.url_for_result)
    djangos = row_links(staff_client.get(url))
    assert ours == djangos
    assert ours, "the list shows rows with links"
    own = [link for link in ours if link.startswith(reverse(f"admin:{name}_changelist"))]
    assert own and all(("?_changelist_filters=" in link) == bool(query) for link in own)
