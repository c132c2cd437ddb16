"""URL path converters for ids and tokens: a segment that cannot name a row is a 404 at once.

A segment that does not match never reaches a view, so no query runs for `/c/conv_%00/` or
`/s/a%00b/`. Importing this module registers the converters; urlconfs use them as
`<conv_id:public_id>`, `<msg_id:message_id>`, `<proj_id:public_id>`, `<share_token:token>`.
Doors whose 404 has a body of their own (/api, /v1) can keep `str` segments and ask
`is_public_id` / `is_share_token` in the getter before the query instead.
"""

import re

from django.urls import register_converter

# core.ids.new_public_id: a prefix, "_", 48 lowercase hex characters (192 bits).
PUBLIC_ID_HEX = "[0-9a-f]{48}"
# sharing.models.new_share_token: secrets.token_urlsafe(32), 43 URL-safe base64 characters;
# the column holds 64, so the pattern allows any URL-safe token up to that length.
SHARE_TOKEN = "[A-Za-z0-9_-]{16,64}"

_SHARE_TOKEN_RE = re.compile(SHARE_TOKEN)


def is_public_id(value: object, *, prefix: str) -> bool:
    """Return whether value has the shape of a public id with this prefix ("conv", "msg"...)."""
    return isinstance(value, str) and re.fullmatch(f"{prefix}_{PUBLIC_ID_HEX}", value) is not None


def is_share_token(value: object) -> bool:
    """Return whether value has the shape of a share token."""
    return isinstance(value, str) and _SHARE_TOKEN_RE.fullmatch(value) is not None


class _Converter:
    regex = ""

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        value = str(value)
        if re.fullmatch(self.regex, value) is None:
            # reverse() then fails loudly instead of building a link that answers 404.
            raise ValueError(f"{value!r} does not match {self.regex}")
        return value


class ConversationIdConverter(_Converter):
    regex = f"conv_{PUBLIC_ID_HEX}"


class MessageIdConverter(_Converter):
    regex = f"msg_{PUBLIC_ID_HEX}"


class ProjectIdConverter(_Converter):
    regex = f"proj_{PUBLIC_ID_HEX}"


class ShareTokenConverter(_Converter):
    regex = SHARE_TOKEN


CONVERTERS = {
    "conv_id": ConversationIdConverter,
    "msg_id": MessageIdConverter,
    "proj_id": ProjectIdConverter,
    "share_token": ShareTokenConverter,
}

for _name, _converter in CONVERTERS.items():
    register_converter(_converter, _name)
