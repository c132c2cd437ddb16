"""What the model is sent: project instructions and the active branch, within its budget."""

from django.conf import settings

from conversations.llm import DEMO_MODEL, ChatMessage, estimate_tokens
from conversations.models import Conversation, Message
from conversations.selectors import message_path

# Tokens counted for each message's framing in the context, on top of its text.
MESSAGE_OVERHEAD_TOKENS = 4


# Chat Completions has no "go on" switch: most servers answer a trailing assistant message
# instead of extending it, so the model is asked to. Its deltas are appended to the stored
# text as they come, so it must not start over. The demo model extends the trailing text itself.
CONTINUE_INSTRUCTION = (
    "Continue your last reply exactly where it stopped, from the next character on. "
    "Do not repeat any of it and do not comment on the interruption."
)


def context_budget(model: str) -> int:
    """Return the tokens the context may take for `model`, leaving room for the reply."""
    size = settings.MODEL_CONTEXT_TOKENS.get(model, settings.DEFAULT_CONTEXT_TOKENS)
    return size - settings.REPLY_RESERVE_TOKENS


def build_context(
    *, conversation: Conversation, leaf_id: int, model: str
) -> tuple[list[ChatMessage], str]:
    """Return the messages to send (instructions + active branch trimmed oldest-first).

    Also return the text to title the conversation from: its first user message.
    """
    budget = context_budget(model)
    system: list[ChatMessage] = []
    project = conversation.project
    if project is not None and project.instructions.strip():
        system = [{"role": "system", "content": project.instructions}]
        budget -= estimate_tokens(project.instructions) + MESSAGE_OVERHEAD_TOKENS
    # No more messages can fit than this, however short they are.
    limit = max(budget // MESSAGE_OVERHEAD_TOKENS, 1)
    path = message_path(conversation=conversation, leaf_id=leaf_id, limit=limit)
    kept: list[ChatMessage] = []
    for message in reversed(path):
        if message.role == Message.Role.TOOL or not message.content:
            continue
        cost = estimate_tokens(message.content) + MESSAGE_OVERHEAD_TOKENS
        if kept and cost > budget:
            break
        kept.append({"role": message.role, "content": message.content})
        budget -= cost
    kept.reverse()
    title_source = ""
    if path and path[0].parent_id is None and path[0].role == Message.Role.USER:
        title_source = path[0].content
    return system + kept, title_source


def continue_context(context: list[ChatMessage], *, model: str) -> list[ChatMessage]:
    """Return the context of a continued reply: it ends with the reply's text so far.

    `context` was built up to and including that reply (an assistant message); an
    OpenAI-compatible model is then told to go on, the demo model needs no telling.
    """
    if model == DEMO_MODEL:
        return context
    return [*context, {"role": "user", "content": CONTINUE_INSTRUCTION}]
