"""The transcript pipeline: drop folder → resident WhisperX → streamed, saved transcripts.

Usable headless (`triage-tui transcribe`, `triage-tui watch`); never imports Textual.
"""
