"""The transcripts' fixtures, for the summary tests that start from a recording: the espeak-ng
dialogue and tiny.en's folder."""

from tests.functional.transcripts.conftest import dialogue, tiny_model_dir

__all__ = ["dialogue", "tiny_model_dir"]
