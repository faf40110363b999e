"""The transcript files whisperx writes, by their `--output_format` names. Apart from the
options (which read the config's defaults) so that the command line can offer them without
loading the config's models."""

ALL_FORMATS = ("srt", "vtt", "txt", "tsv", "json", "aud")
