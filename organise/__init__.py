"""Organising many conversations at once: search, bulk actions, export and import, projects.

Everything here touches more than one noun (conversations with their projects, a user's whole
history), so it sits downstream of both: core <- accounts <- projects <- conversations <-
sharing <- organise <- api, v1. It may import from every app to its left, none may import it.
"""
