"""triage-tui: WhisperX transcription and LLM email triage sharing one GPU."""

__version__ = "0.1.0"
