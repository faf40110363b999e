"""A random-weight Whisper model directory that faster-whisper and whisperx load offline.

`bench/whisper_memory.py`'s `build_model` writes a CTranslate2 Whisper `model.bin` with random
weights at a real shape (large-v3: 32 + 32 layers, d_model 1280, 128 mel bins, 51,866 tokens).
`whisperx.load_model(DIR, ...)` and the `whisperx` CLI's `--model DIR` also need, beside it:

* `preprocessor_config.json`: faster-whisper reads the mel bin count (`feature_size`) from it;
  without it large-v3's encoder would be fed 80 bins instead of 128.
* `tokenizer.json`: without it faster-whisper downloads openai/whisper-tiny's tokenizer (no
  network on the lent GPU machine). This one is a byte-level BPE with no merges: ids 0-255 are
  GPT-2's byte alphabet in GPT-2's order (so id 220 is the space, as in Whisper, which the
  model's `suppress_ids_begin` relies on), 256-50255 are placeholder text tokens, 50256 is the
  empty string (as in Whisper's multilingual vocabulary; CTranslate2 4.7+ decides
  "multilingual" by its presence), and from
  50257 on Whisper's special tokens at Whisper's ids: `<|endoftext|>`, `<|startoftranscript|>`,
  the language tokens in Whisper's order (`<|en|>` = 50259), `<|translate|>`,
  `<|transcribe|>`, `<|startoflm|>`, `<|startofprev|>`, `<|nospeech|>` (v3) or
  `<|nocaptions|>`, `<|notimestamps|>`, then the timestamps `<|0.00|>` … up to the vocabulary
  size. Any text encodes (byte by byte) and any id decodes, which is all faster-whisper's
  `Tokenizer` needs (special-token lookups, `non_speech_tokens`, `decode`).
* `vocabulary.json` is rewritten with the same token strings, so CTranslate2 and the tokenizer
  agree id for id.

Random weights make the text meaningless; what the model costs (load time, memory, encoder and
beam-search decoder work per 30 s chunk) is the real model's. Build one here with
    .venv/bin/python bench/random_whisper.py --size tiny /tmp/random-tiny
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from whisper_memory import EOT, SHAPES, build_model

# Whisper's language tokens, in Whisper's order (openai/whisper tokenizer.py LANGUAGES);
# large-v3 has the 100th, Cantonese.
LANGUAGE_CODES = [
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it",
    "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur",
    "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn",
    "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si",
    "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo",
    "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln",
    "ha", "ba", "jw", "su", "yue",
]

PREPROCESSOR = {
    "chunk_length": 30,
    "feature_extractor_type": "WhisperFeatureExtractor",
    "hop_length": 160,
    "n_fft": 400,
    "n_samples": 480000,
    "nb_max_frames": 3000,
    "padding_side": "right",
    "padding_value": 0.0,
    "processor_class": "WhisperProcessor",
    "return_attention_mask": False,
    "sampling_rate": 16000,
}


def byte_alphabet() -> list[str]:
    """GPT-2's `bytes_to_unicode` characters, in the order GPT-2's (and Whisper's) vocabulary
    lists them: printable bytes first, then the rest shifted past U+0100."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    chars = [chr(b) for b in printable]
    shifted = 0
    for byte in range(256):
        if byte not in printable:
            chars.append(chr(256 + shifted))
            shifted += 1
    return chars


def token_strings(vocab_size: int) -> list[str]:
    """Every token string by id, Whisper's special tokens at Whisper's ids."""
    n_languages = 100 if vocab_size == 51866 else 99
    alphabet = byte_alphabet()
    # The last text token is the empty string, as in Whisper's multilingual vocabulary:
    # CTranslate2 (4.7+) takes a model for multilingual only when it finds that token.
    tokens = alphabet + [f"tok{i}" for i in range(len(alphabet), EOT - 1)] + [""]
    tokens += ["<|endoftext|>", "<|startoftranscript|>"]
    tokens += [f"<|{code}|>" for code in LANGUAGE_CODES[:n_languages]]
    tokens += ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
               "<|nospeech|>" if vocab_size == 51866 else "<|nocaptions|>", "<|notimestamps|>"]
    tokens += [f"<|{i * 0.02:.2f}|>" for i in range(vocab_size - len(tokens))]
    assert len(tokens) == vocab_size and tokens[220] == "Ġ", (len(tokens), tokens[220])
    return tokens


def write_tokenizer(path: Path, tokens: list[str]) -> None:
    """A byte-level BPE tokenizer.json (no merges) over `tokens`, specials from EOT on."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    model = models.BPE(vocab={token: index for index, token in enumerate(tokens)}, merges=[])
    tokenizer = Tokenizer(model)
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(token, special=True, normalized=False)
                                  for token in tokens[EOT:]])
    for index in (EOT, EOT + 1, EOT + 2, len(tokens) - 1):
        assert tokenizer.token_to_id(tokens[index]) == index, tokens[index]
    tokenizer.save(str(path))


def build_whisperx_model_dir(size: str, out_dir: Path) -> dict[str, int]:
    """Write a complete random-weight model directory for `whisperx.load_model(out_dir)`.

    Returns the parameter count; an existing complete directory is reused."""
    info_path = out_dir / "bench_info.json"
    needed = ("model.bin", "config.json", "preprocessor_config.json", "tokenizer.json")
    if info_path.exists() and all((out_dir / name).exists() for name in needed):
        return {"parameters": int(json.loads(info_path.read_text())["parameters"])}
    info = build_model(size, out_dir)
    dims = SHAPES[size]
    tokens = token_strings(dims["vocab"])
    vocabulary = out_dir / "vocabulary.json"
    if vocabulary.exists():  # CTranslate2's copy of the same token strings
        vocabulary.write_text(json.dumps(tokens, ensure_ascii=False))
    (out_dir / "preprocessor_config.json").write_text(
        json.dumps({**PREPROCESSOR, "feature_size": dims["n_mels"]}, indent=2))
    write_tokenizer(out_dir / "tokenizer.json", tokens)
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="large-v3", choices=sorted(SHAPES))
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    info = build_whisperx_model_dir(args.size, args.out_dir)
    print(f"{args.out_dir}: random {args.size}, {info['parameters']:,} parameters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
