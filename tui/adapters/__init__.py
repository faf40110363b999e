"""Thin adapters over the outside world (Ollama, GGUF files, NVML, IMAP, WhisperX, SQLite)."""
