"""Opaque public identifiers: a type prefix and 192 random bits, never the primary key."""

import secrets


def new_public_id(prefix: str) -> str:
    """Return a new public id such as ``conv_3f2a…`` (48 hex characters after the prefix)."""
    return f"{prefix}_{secrets.token_hex(24)}"


def new_conversation_id() -> str:
    return new_public_id("conv")


def new_message_id() -> str:
    return new_public_id("msg")


def new_project_id() -> str:
    return new_public_id("proj")
