"""Settings for the chatbot project, driven by environment variables.

With no environment at all it runs locally: DEBUG on, SQLite, the in-memory channel layer
and the offline demo model. See README.md for the production variables.
"""

import os
import secrets
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    return os.environ.get(name, default).strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", "True")
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable (50+ random "
            "characters) when DEBUG is off."
        )
    # A local run makes a key once and keeps it, so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "channels",
    "accounts",
    "projects",
    "conversations",
    "sharing",
    "organise",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.limits.RequestLimitsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.timezone.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "chatbot.urls"
ASGI_APPLICATION = "chatbot.asgi.application"
WSGI_APPLICATION = "chatbot.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # `when`: every shown time in one format, in the reader's zone.
            "builtins": ["core.clock"],
        },
    },
]

# Database: SQLite file by default, anything dj-database-url understands via DATABASE_URL.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if test_name := os.environ.get("DB_TEST_NAME"):
        DATABASES["default"]["TEST"] = {"NAME": test_name}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": envint("DB_POOL_MIN", 2),
            "max_size": envint("DB_POOL_MAX", 20),
            "timeout": 10,
        }
else:
    # SQLite creates the file, never its directory: a local run has VAR_DIR from the secret
    # key; with SECRET_KEY set, VAR_DIR (or SQLITE_PATH's directory) must exist.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", VAR_DIR / "db.sqlite3"),
            "OPTIONS": {
                # Writers queue instead of failing with "database is locked".
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": os.environ.get("SQLITE_TEST_PATH") or None},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Threads one server process runs sync views on (chatbot/asgi.py); 0: Django's thread per request.
SYNC_THREADS = int(os.environ.get("SYNC_THREADS", "2"))

# Channel layer: in-memory for one process, Redis to scale past it.
REDIS_URL = os.environ.get("REDIS_URL", "")
# Separates several sites on one Redis: channel layer, cache and engine queue keys.
REDIS_PREFIX = os.environ.get("REDIS_PREFIX", "chatbot")
# Sends made where no event loop runs (gunicorn's workers) go to `manage.py run_engine`
# through Redis (conversations/engine/queue.py) instead of running inside the request.
ENGINE_QUEUE = envbool("ENGINE_QUEUE", "False")
if ENGINE_QUEUE and not REDIS_URL:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("ENGINE_QUEUE needs REDIS_URL: the engine queue is in Redis.")
# Messages a socket's channel holds before the layer drops new ones (see CHANNEL_LAYERS).
CHANNEL_CAPACITY = int(os.environ.get("CHANNEL_CAPACITY", "1000"))

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Redis pub/sub: a group send is one PUBLISH, and each process reads every event
            # on one subscribed connection and hands it to its own sockets. The list-based
            # RedisChannelLayer pops one event per round trip per process, which capped a
            # process near 2,000 events a second: at 100 streams, frames queued for seconds
            # (bench/README.md, Streams). Events are not stored: a socket that misses one
            # resyncs (seq), and a reply's end is also in the database.
            "BACKEND": "core.layers.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
                "prefix": REDIS_PREFIX,
            },
        }
    }
    CACHES = {
        "default": {
            # One connection pool per process, not one per request or task (core/cache.py).
            "BACKEND": "core.cache.SharedRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_CAPACITY, "expiry": 30},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SIGNUP_ENABLED = envbool("SIGNUP_ENABLED", "True")

LANGUAGE_CODE = "en-us"
# The fallback zone: each request runs in the browser's zone when it sent one (core/timezone.py).
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
# One date and time format everywhere ("Dec 1, 2026, 19:25"), overriding the locale's.
FORMAT_MODULE_PATH = ["core.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
# WhiteNoise serves static files from daphne too; finders make collectstatic optional.
WHITENOISE_USE_FINDERS = True
# STATIC_ROOT exists once collectstatic has run; until then the finders serve every file and
# WhiteNoise's warning about the missing directory says nothing useful.
warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)

# Security. Production defaults switch on with DEBUG off; every one can be overridden.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", str(not DEBUG))
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", str(not DEBUG))
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", str(not DEBUG))
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", str(not DEBUG))
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", str(not DEBUG))
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Nothing is loaded from other sites; model output can never pull in a remote image.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON nested past MAX_JSON_DEPTH is a 400, not a RecursionError.
    "DEFAULT_PARSER_CLASSES": ["core.limits.DepthLimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.WriteThrottle"],
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
}
# The cache alias the rate limit counters live in (a shared one when processes scale out).
# A running reply refreshes its liveness key this often (seconds); the key lives
# GENERATION_HEARTBEAT_TTL, so Stop finds a dead engine within that and marks the reply at once.
GENERATION_HEARTBEAT_INTERVAL = float(os.environ.get("GENERATION_HEARTBEAT_INTERVAL", "1"))
GENERATION_HEARTBEAT_TTL = float(os.environ.get("GENERATION_HEARTBEAT_TTL", "3"))
THROTTLE_CACHE = os.environ.get("THROTTLE_CACHE", "default")
# Rate limits ("<count>/<s|min|hour|day>", "off" disables), counted per user over every
# door and per API key; see accounts/throttling.py.
API_WRITE_RATE = os.environ.get("API_WRITE_RATE", "120/min")
GENERATION_RATE = os.environ.get("GENERATION_RATE", "20/min")
API_KEY_WRITE_RATE = os.environ.get("API_KEY_WRITE_RATE", API_WRITE_RATE)
API_KEY_GENERATION_RATE = os.environ.get("API_KEY_GENERATION_RATE", GENERATION_RATE)
SPECTACULAR_SETTINGS = {
    "TITLE": "Chatbot API",
    "DESCRIPTION": (
        "Conversations, messages, projects and share links: `/api/` (this product's own "
        "JSON API) and `/v1/` (OpenAI's wire formats and the Jan Server guide's routes)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # 3.1 (JSON Schema 2020-12) can describe the JSON inside server-sent events.
    "OAS_VERSION": "3.1.0",
    # The docs page's assets come from our static files: the CSP allows no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_events_path",
        "v1.schema.add_v1_paths",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ConversationStatusEnum": "conversations.models.Conversation.Status",
        "MessageStatusEnum": "conversations.models.Message.Status",
    },
}

# Models. CHAT_MODELS is a comma list; the first is the default. With no OPENAI_API_KEY
# the offline demo model answers and the list defaults to it.
OPENAI_API_KEY = os.environ.get("OPENAI_API_KEY", "")
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "") or None
CHAT_MODELS = envlist("CHAT_MODELS", "gpt-4o-mini" if OPENAI_API_KEY else "demo")
TITLE_MODEL = os.environ.get("TITLE_MODEL", "") or CHAT_MODELS[0]
# Seconds to open a connection to the model endpoint, and how often the SDK retries a
# connection error or 5xx before the first token.
OPENAI_CONNECT_TIMEOUT = float(os.environ.get("OPENAI_CONNECT_TIMEOUT", 10))
OPENAI_MAX_RETRIES = envint("OPENAI_MAX_RETRIES", 2)
# Seconds between two words of the offline demo model's reply (0 streams at once).
DEMO_TOKEN_DELAY = float(os.environ.get("DEMO_TOKEN_DELAY", 0.03))
# Seconds without a token before a reply is cut off as incomplete.
GENERATION_TIMEOUT = float(os.environ.get("GENERATION_TIMEOUT", 60))
# How often partial text is written to the database while streaming.
GENERATION_FLUSH_INTERVAL = float(os.environ.get("GENERATION_FLUSH_INTERVAL", 0.25))
# A streaming reply's frames go out at most this often (seconds), tokens coalesced between.
GENERATION_PUBLISH_INTERVAL = float(os.environ.get("GENERATION_PUBLISH_INTERVAL", 0.03))
# Context budget in tokens per model ("name=tokens,…"); DEFAULT_CONTEXT_TOKENS otherwise.
MODEL_CONTEXT_TOKENS = {
    name: int(size)
    for name, size in (item.split("=", 1) for item in envlist("MODEL_CONTEXT_TOKENS"))
}
DEFAULT_CONTEXT_TOKENS = envint("DEFAULT_CONTEXT_TOKENS", 16_000)
REPLY_RESERVE_TOKENS = envint("REPLY_RESERVE_TOKENS", 2_000)

MAX_MESSAGE_CHARS = envint("MAX_MESSAGE_CHARS", 100_000)
MAX_MESSAGES_PER_CONVERSATION = envint("MAX_MESSAGES_PER_CONVERSATION", 10_000)
RETENTION_DAYS = envint("RETENTION_DAYS", 0) or None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- Hardening limits (README, Limits). Self-contained: keep this block last. ---------------
# Query strings longer than this many characters are a 414 (core.limits).
MAX_QUERY_STRING_LENGTH = envint("MAX_QUERY_STRING_LENGTH", 4096)
# JSON bodies nested deeper than this are a 400 (core.limits.DepthLimitedJSONParser).
MAX_JSON_DEPTH = envint("MAX_JSON_DEPTH", 32)
# Paths whose limit refusals are JSON in the API error shape rather than a text page.
JSON_ERROR_PATH_PREFIXES = ["/api/", "/v1/"]
# Failed credential checks (accounts/throttling.py). Failures within CREDENTIAL_FAILURE_WINDOW
# seconds are counted per account and per client address; past a limit, that account or
# address is refused (even with the right password) for CREDENTIAL_COOLDOWN seconds. 0 is off.
LOGIN_FAILURES_PER_ACCOUNT = envint("LOGIN_FAILURES_PER_ACCOUNT", 10)
LOGIN_FAILURES_PER_ADDRESS = envint("LOGIN_FAILURES_PER_ADDRESS", 50)
API_KEY_FAILURES_PER_ADDRESS = envint("API_KEY_FAILURES_PER_ADDRESS", 20)
CREDENTIAL_FAILURE_WINDOW = envint("CREDENTIAL_FAILURE_WINDOW", 900)
CREDENTIAL_COOLDOWN = envint("CREDENTIAL_COOLDOWN", 900)
# Any key check can meet a cool-down, so every operation documents its 429.
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"].append("accounts.schema.add_credential_cooldown")
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"].append("api.schema.add_query_limit")
