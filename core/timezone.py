"""The reader's clock: each request (and websocket) runs in the browser's time zone.

static/app.js stores the browser's IANA zone name (``Intl.DateTimeFormat().resolvedOptions()
.timeZone``) in the ``tz`` cookie; these middlewares activate it, so every date group, time
and date filter uses the reader's local day. A missing, malformed or unknown name falls back
to settings.TIME_ZONE: the cookie is client input and must never cause a 500.
"""

import re
import zoneinfo
from functools import lru_cache

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.utils import timezone

COOKIE_NAME = "tz"
# The longest IANA name is 32 characters ("America/Argentina/ComodRivadavia"); names are
# letters, digits and "_+-/" only, never "." (so no path tricks reach the zone loader).
MAX_NAME_CHARS = 64
_NAME = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")


@lru_cache(maxsize=256)
def _load(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def zone_from_name(name: str | None) -> zoneinfo.ZoneInfo | None:
    """Return the zone a cookie value names, or None for anything that is not a known zone."""
    if not name or len(name) > MAX_NAME_CHARS or not _NAME.fullmatch(name):
        return None
    return _load(name)


class TimeZoneMiddleware:
    """Activate the browser's zone (the ``tz`` cookie) for the request, the server's without."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        with timezone.override(zone_from_name(request.COOKIES.get(COOKIE_NAME))):
            return self.get_response(request)

    async def _acall(self, request):
        with timezone.override(zone_from_name(request.COOKIES.get(COOKIE_NAME))):
            return await self.get_response(request)


class TimeZoneASGIMiddleware:
    """The same for websockets: frames a consumer renders use the zone of its browser.

    Sits inside Channels' cookie middleware (AuthMiddlewareStack), which fills scope["cookies"].
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        zone = zone_from_name(scope.get("cookies", {}).get(COOKIE_NAME))
        with timezone.override(zone):
            return await self.app(scope, receive, send)
