"""The shared layer: request helpers, ids, events and domain errors every app builds on.

It imports no app of the project (see README, Layout).
"""
