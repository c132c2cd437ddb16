"""Accounts: sign-up and auth pages, API keys, credential cool-downs. Builds on core only.

Order of apps (README, Layout; tests/foundation/test_layering.py enforces it):
core <- accounts <- projects <- conversations <- sharing <- organise <- api, v1 <- chatbot.
A module imports only its own app and the apps before it.
"""
