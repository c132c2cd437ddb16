"""Time to the first SSE event of a streamed /v1/responses, in-process, with a 0-delay model.

The demo model with DEMO_TOKEN_DELAY=0 costs nothing, so the figure is what the app adds:
key check, validation, storing the prompt and the reply row, starting the engine and the
first `response.created` frame. Run against a scratch database:

    SQLITE_PATH=/tmp/v1-ttfe.sqlite3 .venv/bin/python -m bench.v1_ttfe

Django's test client has no event loop, so the engine runs inline in message_send (as under
WSGI): the figure includes the (instant) generation. Under ASGI it is detached.
"""

import argparse
import json
import os
import statistics
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from accounts.services import api_key_create

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.DEMO_TOKEN_DELAY = 0.0
    settings.API_WRITE_RATE = settings.GENERATION_RATE = settings.API_KEY_GENERATION_RATE = (
        "100000/min"
    )
    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create_user(f"v1-ttfe-{time.time_ns()}")
    try:
        _, raw_key = api_key_create(user=owner)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
        client = Client()
        body = json.dumps({"model": settings.CHAT_MODELS[0], "input": "Hi", "stream": True})
        first, total = [], []
        for _ in range(args.repeat + 1):
            began = time.perf_counter()
            response = client.post(
                "/v1/responses", body, content_type="application/json", secure=True, **headers
            )
            assert response.status_code == 200, response.content
            chunks = iter(response.streaming_content)
            next(chunks)
            first.append((time.perf_counter() - began) * 1000)
            for _chunk in chunks:
                pass
            total.append((time.perf_counter() - began) * 1000)
        first, total = first[1:], total[1:]  # the first request warms caches
        print(
            f"{args.repeat} streamed /v1/responses, {settings.DATABASES['default']['ENGINE']}: "
            f"first event p50 {statistics.median(first):.1f} ms "
            f"(max {max(first):.1f}), whole stream p50 {statistics.median(total):.1f} ms"
        )
    finally:
        owner.delete()


if __name__ == "__main__":
    main()
