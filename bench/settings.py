"""Settings for benchmarks: the project's own, plus bench-only URLs, with DEBUG off."""

import os

from chatbot.settings import *  # noqa: F403
from chatbot.settings import DATABASES

ROOT_URLCONF = "bench.urls"
# Measure what production runs: no query log, no debug pages.
DEBUG = False

# bench.reads: the database as it stood before the other user's million messages, searched in
# turns with the full one (the "alone" rows). A second alias of the same engine and options.
if alone := os.environ.get("BENCH_ALONE_NAME"):
    DATABASES["alone"] = {
        **DATABASES["default"],
        "NAME": alone,
        "OPTIONS": {**DATABASES["default"].get("OPTIONS", {})},
    }
