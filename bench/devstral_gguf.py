"""A GGUF with Devstral Small's tensors (names, shapes, Q4_K_M types) and zero weights.

Devstral Small 2505 as Ollama and llama.cpp see it: architecture `llama` (the Mistral Small 3.1
text stack), 40 layers, hidden 5120, 32 query heads and 8 KV heads of head_dim 128 (so the
attention width, 4096, is not the hidden size: `key_length`/`value_length` say so), FFN 32768,
vocabulary 131072 (Tekken), rope theta 1e9, trained context 131072, untied output matrix.

Q4_K_M types are llama.cpp's recipe (`llama_tensor_get_type_impl` in src/llama-quant.cpp, the
sdist of llama-cpp-python 0.3.36): every 2-D weight Q4_K, except `output.weight` Q6_K and
`attn_v`/`ffn_down` Q6_K in the "more bits" layers (the first and last eighth, and every third
in between: 20 of 40); norms F32. The tensor bytes come to 14,326,026,240 B; the real Devstral
Q4_K_M file is 14,333,905,760 B: the 7.9 MB between them is the real file's header (Tekken's
131,072 token strings, their types and the BPE merges, the chat template), which this file
replaces with a synthetic tokenizer laid out like Tekken (a 2.7 MB header).

The weights are zeros and are never written: the header is written with gguf-py (from
llama.cpp's own sources) and the file is then extended to its full length with `truncate`,
which leaves a sparse file (holes read as zeros; a zero Q4_K/Q6_K block has scale 0, so it
dequantises to 0). Only the header takes disk space.

    python3 bench/devstral_gguf.py OUT.gguf [--layers N] [--gguf-py PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LAYERS = 40
EMBEDDING = 5120
HEADS = 32
KV_HEADS = 8
HEAD_DIM = 128
FFN = 32768
VOCAB = 131072
CONTEXT = 131072
ROPE_THETA = 1_000_000_000.0
RMS_EPS = 1e-5
ALIGNMENT = 32  # GGUF's default general.alignment
REAL_FILE_BYTES = 14_333_905_760  # devstral-small Q4_K_M as Ollama ships it
LLAMA_FTYPE_MOSTLY_Q4_K_M = 15

# ggml type: (id, elements per block, bytes per block)
GGML_TYPES: dict[str, tuple[int, int, int]] = {
    "F32": (0, 1, 4),
    "Q4_K": (12, 256, 144),
    "Q6_K": (14, 256, 210),
}

# Tekken's layout: 1000 control tokens (<unk>, <s>, </s>, [INST], ...), then 256 byte tokens.
N_SPECIAL = 1000


@dataclass(frozen=True)
class TensorSpec:
    name: str
    ne: tuple[int, ...]  # ggml order: ne[0] is the row length
    ggml_type: str

    @property
    def elements(self) -> int:
        n = 1
        for d in self.ne:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        _, block, size = GGML_TYPES[self.ggml_type]
        assert self.ne[0] % block == 0, self
        return self.elements // block * size


def use_more_bits(i_layer: int, n_layers: int) -> bool:
    """llama.cpp's choice of the layers that get Q6_K under Q4_K_M."""
    return (i_layer < n_layers // 8 or i_layer >= 7 * n_layers // 8
            or (i_layer - n_layers // 8) % 3 == 2)


def devstral_tensors(layers: int = LAYERS) -> list[TensorSpec]:
    q_width = HEADS * HEAD_DIM
    kv_width = KV_HEADS * HEAD_DIM
    tensors = [TensorSpec("token_embd.weight", (EMBEDDING, VOCAB), "Q4_K")]
    for i in range(layers):
        more = use_more_bits(i, layers)
        tensors += [
            TensorSpec(f"blk.{i}.attn_norm.weight", (EMBEDDING,), "F32"),
            TensorSpec(f"blk.{i}.attn_q.weight", (EMBEDDING, q_width), "Q4_K"),
            TensorSpec(f"blk.{i}.attn_k.weight", (EMBEDDING, kv_width), "Q4_K"),
            TensorSpec(f"blk.{i}.attn_v.weight", (EMBEDDING, kv_width),
                       "Q6_K" if more else "Q4_K"),
            TensorSpec(f"blk.{i}.attn_output.weight", (q_width, EMBEDDING), "Q4_K"),
            TensorSpec(f"blk.{i}.ffn_norm.weight", (EMBEDDING,), "F32"),
            TensorSpec(f"blk.{i}.ffn_gate.weight", (EMBEDDING, FFN), "Q4_K"),
            TensorSpec(f"blk.{i}.ffn_up.weight", (EMBEDDING, FFN), "Q4_K"),
            TensorSpec(f"blk.{i}.ffn_down.weight", (FFN, EMBEDDING),
                       "Q6_K" if more else "Q4_K"),
        ]
    tensors += [
        TensorSpec("output_norm.weight", (EMBEDDING,), "F32"),
        TensorSpec("output.weight", (EMBEDDING, VOCAB), "Q6_K"),
    ]
    return tensors


def tensor_bytes(tensors: list[TensorSpec]) -> int:
    return sum(t.nbytes for t in tensors)


def parameter_count(tensors: list[TensorSpec]) -> int:
    return sum(t.elements for t in tensors)


def _pad(n: int, align: int = ALIGNMENT) -> int:
    return -(-n // align) * align


def _byte_tokens() -> list[str]:
    """GPT-2's byte-to-unicode table: the 256 byte tokens of a byte-level BPE vocabulary."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    chars = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in chars:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def synthetic_vocab() -> tuple[list[str], list[int], list[str]]:
    """Tokens, token types and merges laid out as Tekken lays them out (control tokens, byte
    tokens, then ordinary tokens), with made-up ordinary tokens. Text tokenises to bytes; the
    benchmark sends token ids, so no real tokenizer is needed."""
    control, normal = 3, 1
    tokens = ["<unk>", "<s>", "</s>"] + [f"<SPECIAL_{i}>" for i in range(3, N_SPECIAL)]
    types = [2, control, control] + [control] * (N_SPECIAL - 3)
    tokens += _byte_tokens()
    types += [normal] * 256
    ordinary = VOCAB - len(tokens)
    tokens += ["Ġt"] + [f"tok{i}" for i in range(1, ordinary)]
    types += [normal] * ordinary
    merges = ["Ġ t"]  # gpt2 vocabularies need at least one merge (gguf-py drops empty arrays)
    return tokens, types, merges


def _import_gguf(gguf_py: str | None) -> Any:
    if gguf_py:
        sys.path.insert(0, gguf_py)
    import gguf

    return gguf


# A Mistral-style chat template (Devstral's own is longer; the tokens it writes are text in
# the synthetic vocabulary either way). llama.cpp needs none; the embedded engine refuses a
# model without one (a base model), so `embedded` writes the file with this.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}[SYSTEM_PROMPT]{{ message['content'] }}[/SYSTEM_PROMPT]"
    "{% elif message['role'] == 'user' %}[INST]{{ message['content'] }}[/INST]"
    "{% else %}{{ message['content'] }}{{ eos_token }}{% endif %}{% endfor %}"
)


def write_gguf(path: Path, layers: int = LAYERS, gguf_py: str | None = None,
               chat_template: str | None = None) -> dict[str, Any]:
    """Write the sparse GGUF; return its sizes. `chat_template`: written to the header
    (`tokenizer.chat_template`) when given."""
    gguf = _import_gguf(gguf_py)
    import numpy as np

    tensors = devstral_tensors(layers)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("Devstral-Small-2505 shape, zero weights (bench/devstral_gguf.py)")
    writer.add_file_type(LLAMA_FTYPE_MOSTLY_Q4_K_M)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(EMBEDDING)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_key_length(HEAD_DIM)
    writer.add_value_length(HEAD_DIM)
    writer.add_rope_dimension_count(HEAD_DIM)
    writer.add_rope_freq_base(ROPE_THETA)
    writer.add_layer_norm_rms_eps(RMS_EPS)
    writer.add_vocab_size(VOCAB)
    tokens, types, merges = synthetic_vocab()
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("tekken")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    if chat_template:
        writer.add_chat_template(chat_template)
    for t in tensors:
        qtype = gguf.GGMLQuantizationType(GGML_TYPES[t.ggml_type][0])
        # gguf-py wants the numpy order (reversed ne) in elements, for a non-uint8 dtype
        writer.add_tensor_info(t.name, tuple(reversed(t.ne)), np.dtype(np.float32), t.nbytes,
                               raw_dtype=qtype)
    writer.write_header_to_file(path)
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    assert writer.fout is not None
    fout = writer.fout[0]
    header_bytes = fout.tell()
    data_start = _pad(header_bytes)
    total = data_start + sum(_pad(t.nbytes) for t in tensors)
    fout.truncate(total)  # sparse: no data blocks written
    writer.close()
    stat = os.stat(path)
    return {
        "path": str(path),
        "layers": layers,
        "file_bytes": stat.st_size,
        "header_bytes": header_bytes,
        "tensor_bytes": tensor_bytes(tensors),
        "token_embd_bytes": tensors[0].nbytes,
        "disk_bytes": stat.st_blocks * 512,
        "parameters": parameter_count(tensors),
        "real_file_bytes": REAL_FILE_BYTES if layers == LAYERS else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path)
    parser.add_argument("--layers", type=int, default=LAYERS,
                        help="fewer layers for a quick CPU check (default 40)")
    parser.add_argument("--gguf-py", default=None,
                        help="llama.cpp's gguf-py folder (default: the importable gguf)")
    parser.add_argument("--chat-template", action="store_true",
                        help="write a Mistral-style chat template into the header")
    args = parser.parse_args(argv)
    info = write_gguf(args.output, args.layers, args.gguf_py,
                      CHAT_TEMPLATE if args.chat_template else None)
    print(json.dumps(info, indent=2))
    if info["real_file_bytes"]:
        diff = info["real_file_bytes"] - info["file_bytes"]
        print(f"real Devstral Q4_K_M {info['real_file_bytes']:,} B, this file "
              f"{info['file_bytes']:,} B: {diff:+,} B ({diff / info['real_file_bytes']:+.3%}); "
              f"tensors {info['tensor_bytes']:,} B (real file minus tensors "
              f"{info['real_file_bytes'] - info['tensor_bytes']:,} B of header)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
