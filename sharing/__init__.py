"""Share links: a frozen, read-only snapshot of a conversation for anyone with the token.

Order of apps (README, Layout; tests/foundation/test_layering.py enforces it):
core <- accounts <- projects <- conversations <- sharing <- organise <- api, v1 <- chatbot.
A module imports only its own app and the apps before it.
"""
