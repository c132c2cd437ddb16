import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from conversations import services
from conversations.models import Conversation, Message
from sharing.models import ShareLink
from tests.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_public_ids_are_prefixed_and_random(owner):
    first = ConversationFactory(owner=owner)
    second = ConversationFactory(owner=owner)
    assert first.public_id.startswith("conv_") and len(first.public_id) == 53
    assert first.public_id != second.public_id
    assert all(ch in "0123456789abcdef" for ch in first.public_id[5:])


def test_send_builds_a_tree_and_points_current_message_at_the_reply(owner):
    conversation = ConversationFactory(owner=owner)
    first = services.message_send(conversation=conversation, content="Hello")
    assert first.user_message.parent is None
    assert first.assistant_message.parent == first.user_message
    assert first.assistant_message.status == Message.Status.IN_PROGRESS
    Message.objects.filter(pk=first.assistant_message.pk).update(status="completed")

    second = services.message_send(conversation=conversation, content="Again")
    conversation.refresh_from_db()
    assert second.user_message.parent == first.assistant_message
    assert conversation.current_message == second.assistant_message
    assert conversation.message_count == 4
    assert conversation.preview == "Again"


def test_only_one_reply_in_progress_per_conversation(owner):
    conversation = ConversationFactory(owner=owner)
    MessageFactory(conversation=conversation, role="assistant", status="in_progress")
    with pytest.raises(IntegrityError), transaction.atomic():
        MessageFactory(conversation=conversation, role="assistant", status="in_progress")


def test_second_send_while_generating_is_refused(owner):
    conversation = ConversationFactory(owner=owner)
    services.message_send(conversation=conversation, content="Hello")
    with pytest.raises(services.GenerationInProgress):
        services.message_send(conversation=conversation, content="Interleaved?")
    assert Message.objects.filter(conversation=conversation).count() == 2


def test_repeating_a_send_with_the_same_client_id_creates_nothing(owner):
    conversation = ConversationFactory(owner=owner)
    first = services.message_send(conversation=conversation, content="Hi", client_id="c-1")
    again = services.message_send(conversation=conversation, content="Hi", client_id="c-1")
    assert again.created is False
    assert again.user_message == first.user_message
    assert again.assistant_message == first.assistant_message
    assert Message.objects.filter(conversation=conversation).count() == 2


@pytest.mark.parametrize(
    "metadata",
    [
        {f"k{i}": "v" for i in range(17)},
        {"k" * 65: "v"},
        {"k": "v" * 513},
        {"k": 1},
        ["not", "a", "map"],
    ],
)
def test_metadata_outside_the_limits_is_refused(owner, metadata):
    conversation = ConversationFactory(owner=owner)
    with pytest.raises(ValidationError):
        services.conversation_set_metadata(conversation=conversation, metadata=metadata)
    conversation.refresh_from_db()
    assert conversation.metadata == {}


def test_metadata_at_the_limits_is_kept(owner):
    conversation = ConversationFactory(owner=owner)
    metadata = {f"{i:0>64}": "v" * 512 for i in range(16)}
    services.conversation_set_metadata(conversation=conversation, metadata=metadata)
    conversation.refresh_from_db()
    assert conversation.metadata == metadata


@pytest.mark.parametrize("title", ["", "   ", "x" * 201])
def test_rename_rejects_empty_and_long_titles(owner, title):
    conversation = ConversationFactory(owner=owner, title="Before")
    with pytest.raises(ValidationError):
        services.conversation_rename(conversation=conversation, title=title)
    conversation.refresh_from_db()
    assert conversation.title == "Before"


def test_rename_trims_whitespace(owner):
    conversation = ConversationFactory(owner=owner)
    services.conversation_rename(conversation=conversation, title="  Trip   plans \n")
    conversation.refresh_from_db()
    assert conversation.title == "Trip plans"


def test_delete_cascades_to_messages_and_shares(owner):
    conversation = ConversationFactory(owner=owner)
    message = MessageFactory(conversation=conversation)
    conversation.current_message = message
    conversation.save()
    ShareLink.objects.create(owner=owner, conversation=conversation, message=message)
    other = ConversationFactory(owner=owner)
    MessageFactory(conversation=other)

    services.conversation_delete(conversation=conversation)

    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()
    assert not ShareLink.objects.exists()
    assert Message.objects.filter(conversation=other).count() == 1


def test_deleting_a_message_removes_its_subtree_and_moves_the_leaf_up(owner):
    conversation = ConversationFactory(owner=owner)
    root = services.message_append(conversation=conversation, role="user", content="a")
    middle = services.message_append(conversation=conversation, role="assistant", content="b")
    services.message_append(conversation=conversation, role="user", content="c")

    services.message_delete(message=middle)

    conversation.refresh_from_db()
    assert conversation.current_message == root
    assert conversation.message_count == 1
    assert list(Message.objects.filter(conversation=conversation)) == [root]


def test_locked_conversation_refuses_new_messages(owner):
    conversation = ConversationFactory(
        owner=owner, status=Conversation.Status.LOCKED, status_reason="Under review"
    )
    with pytest.raises(services.ConversationNotOpen, match="Under review"):
        services.message_send(conversation=conversation, content="Hello")
    assert not Message.objects.exists()


def test_message_over_the_length_limit_is_refused(owner, settings):
    settings.MAX_MESSAGE_CHARS = 10
    conversation = ConversationFactory(owner=owner)
    with pytest.raises(services.MessageTooLong):
        services.message_send(conversation=conversation, content="x" * 11)
    assert not Message.objects.exists()


def test_full_conversation_refuses_more(owner, settings):
    settings.MAX_MESSAGES_PER_CONVERSATION = 2
    conversation = ConversationFactory(owner=owner, message_count=2)
    with pytest.raises(services.ConversationFull):
        services.message_send(conversation=conversation, content="Hello")


def test_every_conversation_delete_path_handles_threads_deeper_than_sqlite_cascades(owner):
    # SQLite cascades the parent link one trigger level per message and stops at 1,000.
    from organise import bulk
    from organise.services import project_delete
    from tests.factories import ProjectFactory, deep_conversation

    project = ProjectFactory(owner=owner)
    in_project = deep_conversation(owner, 1010)
    in_project.project = project
    in_project.save(update_fields=["project"])
    bulk_target = deep_conversation(owner, 1010)

    bulk.conversations_bulk_delete(user=owner, public_ids=[bulk_target.public_id])
    project_delete(project=project, delete_conversations=True)

    assert not Conversation.objects.exists()
    assert not Message.objects.exists()


def test_a_loaded_message_is_what_model_init_builds(owner, django_assert_num_queries):
    # Message.from_db skips Model.__init__: the row must come out with the same attribute
    # values and state as Django's own loading, behave as loaded (an UPDATE on save), and
    # still defer a column that was not read.
    conversation = ConversationFactory(owner=owner)
    made = MessageFactory(conversation=conversation, content="hi", model="demo")
    loaded = Message.objects.get(pk=made.pk)
    fields = Message._meta.concrete_fields
    row = Message.objects.filter(pk=made.pk).values_list(*(f.attname for f in fields)).get()
    standard = Message(*row)
    assert {f.attname: getattr(loaded, f.attname) for f in fields} == {
        f.attname: getattr(standard, f.attname) for f in fields
    }
    assert loaded._state.adding is False and loaded._state.db == "default"
    assert loaded.conversation_id == conversation.pk
    with django_assert_num_queries(1):  # the conversation, through the foreign key
        assert loaded.conversation == conversation
    loaded.content = "changed"
    with django_assert_num_queries(1):  # an UPDATE, not an INSERT
        loaded.save(update_fields=["content"])
    assert Message.objects.count() == 1

    partial = Message.objects.only("id", "role").get(pk=made.pk)
    assert partial.get_deferred_fields() >= {"content", "created_at"}
    with django_assert_num_queries(1):  # the deferred column, read when first used
        assert partial.content == "changed"
    with django_assert_num_queries(0):
        assert partial.role == made.role
