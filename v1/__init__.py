"""The OpenAI-compatible door (/v1) plus the Jan guide's conversation routes. Thin over services.

Order of apps (README, Layout; tests/foundation/test_layering.py enforces it):
core <- accounts <- projects <- conversations <- sharing <- organise <- api, v1 <- chatbot.
A module imports only its own app and the apps before it.
"""
