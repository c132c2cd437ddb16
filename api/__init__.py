"""The DRF door (/api): serializers, views per noun, SSE, the OpenAPI schema. Thin over services.

Order of apps (README, Layout; tests/foundation/test_layering.py enforces it):
core <- accounts <- projects <- conversations <- sharing <- organise <- api, v1 <- chatbot.
A module imports only its own app and the apps before it.
"""
