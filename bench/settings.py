"""Settings for benchmarks: the project's own, plus bench-only URLs, with DEBUG off."""

from chatbot.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# Measure what production runs: no query log, no debug pages.
DEBUG = False
