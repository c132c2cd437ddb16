import factory
from django.contrib.auth import get_user_model

from conversations.models import Conversation, Message
from projects.models import Project


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Project {n}")


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Conversation {n}")


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    role = Message.Role.USER
    content = factory.Sequence(lambda n: f"Message {n}")


def deep_conversation(owner, depth: int) -> Conversation:
    """Return a conversation whose one branch is `depth` messages long (ids preassigned)."""
    conversation = ConversationFactory(owner=owner)
    start = (Message.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    Message.objects.bulk_create(
        Message(
            pk=start + i,
            conversation=conversation,
            parent_id=start + i - 1 if i else None,
            role="user" if i % 2 == 0 else "assistant",
            content=f"message {i}",
        )
        for i in range(depth)
    )
    conversation.current_message_id = start + depth - 1
    conversation.message_count = depth
    conversation.save(update_fields=["current_message", "message_count"])
    return conversation
