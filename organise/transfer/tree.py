"""The plain shape every import format is read into before it is written."""

from dataclasses import dataclass, replace
from datetime import datetime


class Malformed(Exception):
    """One conversation of an import cannot be read; the others still can."""

    def __init__(self, label: str, reason: str):
        super().__init__(f"{label}: {reason}")
        self.label = label
        self.reason = reason


@dataclass(frozen=True)
class ImportedMessage:
    key: str
    parent_key: str | None
    role: str
    content: str
    status: str
    model: str
    created_at: datetime | None
    updated_at: datetime | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    # (rating, comment, rated at) of a reply; only our own format carries it.
    feedback: tuple[str, str, datetime | None] | None = None

    def with_keys(
        self, *, key: str, parent_key: str | None, default_time: datetime
    ) -> "ImportedMessage":
        created_at = self.created_at or default_time
        return replace(
            self,
            key=key,
            parent_key=parent_key,
            created_at=created_at,
            updated_at=self.updated_at or created_at,
        )


@dataclass(frozen=True)
class ImportedConversation:
    label: str
    title: str
    created_at: datetime
    updated_at: datetime
    archived: bool
    pinned: bool
    metadata: dict
    # (metadata key, value) that marks this conversation as imported already.
    dedup_key: tuple[str, str]
    # Parents before children.
    messages: list[ImportedMessage]
    current_key: str | None
    # {"title", "description", "instructions"} of the project it belonged to, if any.
    project: dict | None = None
