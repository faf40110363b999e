"""The mail pipeline: IMAP inbox → budget-sized LLM batches → reviewed actions on the server.

Usable headless (`triage-tui triage`); never imports Textual.
"""
