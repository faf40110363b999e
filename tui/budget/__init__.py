"""The context-capping planner: pure arithmetic over model shapes, no I/O.

Everything in this package is deterministic and importable without Textual, torch or a
network; adapters elsewhere feed it shapes and measurements.
"""
