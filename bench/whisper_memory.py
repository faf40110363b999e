"""WhisperX's transcription memory on a real GPU, against the planner's estimate.

Builds CTranslate2 Whisper models with RANDOM weights at the real shapes (values do not change
memory; nothing is downloaded), then, for every size × compute type × batch size, starts a
fresh process that does what whisperx's `WhisperModel.generate_segment_batched` does:
`model.encode(features)` on a batch of 30 s log-mel chunks, then `model.generate(encoder_output,
[prompt] * batch, beam_size=5, max_length=448, ...)`. The end-of-text token is suppressed so
every hypothesis decodes the full 448 tokens (the worst case; random weights would stop at
random points otherwise). A sampler thread polls NVML's per-process list every 5 ms for this
process's GPU memory; the peak is the largest value it saw.

A separate probe measures the CUDA context of a CTranslate2 process (a tiny model loaded and
run, weights subtracted), with and without PyTorch initialised first in the same process.

Run on a machine with an NVIDIA GPU (ctranslate2 and nvidia-ml-py installed):
    python3 bench/whisper_memory.py --sizes large-v3 medium small \
        --compute-types float16 int8_float16 --batch-sizes 1 2 4 8 16 32
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# Only the planner's pure-Python submodules: no Textual, torch or pydantic.
from tui.budget.units import MIB  # noqa: E402
from tui.budget.whisper import (  # noqa: E402
    ComputeType,
    asr_activation_bytes,
    whisper_spec,
    whisper_weights_bytes,
)

try:
    from tui.budget.plan import TORCH_CUDA_CONTEXT_BYTES as PLANNED_CONTEXT_BYTES
except Exception:
    PLANNED_CONTEXT_BYTES = 500 * MIB

# Model shapes (openai/whisper model.py dims). vocab: 51865 multilingual, 51866 for v3.
SHAPES = {
    "large-v3": dict(d_model=1280, enc_layers=32, dec_layers=32, heads=20, n_mels=128,
                     vocab=51866),
    "large-v2": dict(d_model=1280, enc_layers=32, dec_layers=32, heads=20, n_mels=80,
                     vocab=51865),
    "medium": dict(d_model=1024, enc_layers=24, dec_layers=24, heads=16, n_mels=80,
                   vocab=51865),
    "small": dict(d_model=768, enc_layers=12, dec_layers=12, heads=12, n_mels=80, vocab=51865),
    "large-v3-turbo": dict(d_model=1280, enc_layers=32, dec_layers=4, heads=20, n_mels=128,
                           vocab=51866),
    "distil-large-v3": dict(d_model=1280, enc_layers=32, dec_layers=2, heads=20, n_mels=128,
                            vocab=51866),
    "base": dict(d_model=512, enc_layers=6, dec_layers=6, heads=8, n_mels=80, vocab=51865),
    "tiny": dict(d_model=384, enc_layers=4, dec_layers=4, heads=6, n_mels=80, vocab=51865),
    # The context probe: as small as a Whisper model gets; its weights are subtracted.
    "probe": dict(d_model=64, enc_layers=1, dec_layers=1, heads=1, n_mels=80, vocab=51865),
}
AUDIO_CTX = 1500  # encoder frames per 30 s chunk
TEXT_CTX = 448  # decoder positions
MEL_FRAMES = 3000  # log-mel frames per 30 s chunk
EOT = 50257
SOT = 50258


def special_tokens(vocab: int) -> dict[str, object]:
    """Token ids of a multilingual Whisper vocabulary (v3 has one more language)."""
    n_langs = 100 if vocab == 51866 else 99
    first_lang = SOT + 1
    translate = first_lang + n_langs
    return {
        "lang_ids": list(range(first_lang, first_lang + n_langs)),
        "en": first_lang,
        "transcribe": translate + 1,
        "no_timestamps": translate + 5,
    }


def vocabulary(vocab: int) -> list[str]:
    """Placeholder text tokens, then the special tokens CTranslate2 looks up by name."""
    tokens = special_tokens(vocab)
    words = [f"<tok{i}>" for i in range(EOT)] + ["<|endoftext|>", "<|startoftranscript|>"]
    langs = [f"<|lang{i}|>" for i in range(len(tokens["lang_ids"]))]
    langs[0] = "<|en|>"
    no_speech = "<|nospeech|>" if vocab == 51866 else "<|nocaptions|>"
    words += [*langs, "<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
              no_speech, "<|notimestamps|>"]
    words += ["<|%.2f|>" % (i * 0.02) for i in range(vocab - len(words))]
    assert words[tokens["no_timestamps"]] == "<|notimestamps|>", tokens
    return words


# ---------------------------------------------------------------------------------------------
# Building a random model
# ---------------------------------------------------------------------------------------------


def build_model(size: str, out_dir: Path) -> dict[str, int]:
    """Write a float16 CTranslate2 Whisper model with random weights; returns its counts."""
    import numpy as np
    from ctranslate2.specs import whisper_spec as ct2_whisper

    dims = SHAPES[size]
    d, n_mels, vocab = dims["d_model"], dims["n_mels"], dims["vocab"]
    spec = ct2_whisper.WhisperSpec(dims["enc_layers"], dims["heads"], dims["dec_layers"],
                                   dims["heads"])
    # One pool of N(0, 0.02) float16 values; every tensor is a view of its first elements.
    # Values never change memory, and without spec.optimize() nothing is aliased by value.
    pool_size = max(vocab * d, 4 * d * d, d * n_mels * 3, AUDIO_CTX * d)
    rng = np.random.default_rng(0)
    pool = (rng.standard_normal(pool_size, dtype=np.float32) * 0.02).astype(np.float16)
    ones = np.ones(4 * d, dtype=np.float16)
    zeros = np.zeros(4 * d, dtype=np.float16)

    def rand(*shape: int) -> np.ndarray:
        n = int(np.prod(shape))
        return pool[:n].reshape(shape)

    def linear(spec_linear, out_features: int, in_features: int, bias: bool = True) -> None:
        spec_linear.weight = rand(out_features, in_features)
        if bias:
            spec_linear.bias = rand(out_features)

    def norm(spec_norm) -> None:
        spec_norm.gamma = ones[:d]
        spec_norm.beta = zeros[:d]

    def ffn(spec_ffn) -> None:
        norm(spec_ffn.layer_norm)
        linear(spec_ffn.linear_0, 4 * d, d)
        linear(spec_ffn.linear_1, d, 4 * d)

    def self_attention(spec_attn) -> None:
        norm(spec_attn.layer_norm)
        linear(spec_attn.linear[0], 3 * d, d)  # fused q, k, v (k has no bias: zeros)
        linear(spec_attn.linear[1], d, d)

    enc = spec.encoder
    enc.conv1.weight = rand(d, n_mels, 3)
    enc.conv1.bias = rand(d)
    enc.conv2.weight = rand(d, d, 3)
    enc.conv2.bias = rand(d)
    enc.position_encodings.encodings = rand(AUDIO_CTX, d)
    norm(enc.layer_norm)
    for layer in enc.layer:
        self_attention(layer.self_attention)
        ffn(layer.ffn)

    dec = spec.decoder
    dec.embeddings.weight = rand(vocab, d)
    dec.position_encodings.encodings = rand(TEXT_CTX, d)
    norm(dec.layer_norm)
    for layer in dec.layer:
        self_attention(layer.self_attention)
        norm(layer.attention.layer_norm)
        linear(layer.attention.linear[0], d, d)  # cross-attention query
        linear(layer.attention.linear[1], 2 * d, d)  # fused key, value over encoder output
        linear(layer.attention.linear[2], d, d)
        ffn(layer.ffn)
    dec.projection.weight = rand(vocab, d)  # replaced by an alias below (tied, as in Whisper)

    tokens = special_tokens(vocab)
    spec.register_vocabulary(vocabulary(vocab))
    config = spec.config
    config.suppress_ids = [1, 2, 7, 8, 9, 10, 14, 25, 26, 27, 28, 29, 31, 58, 59, 60, 61, 62,
                           63, 90, 91, 92, 93, 359, 503, 522, 542, 873, 893, 902, 918, 922,
                           931, 1350, 1853, 1982, 2460, 2627, 3246, 3253, 3268, 3536, 3846,
                           3961, 4183, 4667, 6585, 6647, 7273, 9061, 9383, 10428, 10929,
                           11938, 12033, 12331, 12562, 13793, 14157, 14635, 15265, 15618,
                           16553, 16604, 18362, 18956, 20075, 21675, 22520, 26130, 26161,
                           26435, 28279, 29464, 31650, 32302, 32470, 36865, 42863, 47425,
                           49870, 50254, 50258, 50358, 50359, 50360, 50361, 50362]
    config.suppress_ids_begin = [220, EOT]
    config.lang_ids = tokens["lang_ids"]
    config.alignment_heads = [(layer, head) for layer in range(dims["dec_layers"] // 2,
                                                                dims["dec_layers"])
                              for head in range(dims["heads"])]
    spec.validate()
    # Whisper ties the output projection to the token embeddings; the converter's
    # spec.optimize() turns that into an alias, so one copy of the matrix is stored.
    variables = spec.variables()
    embedding_name = next(name for name in variables if name.endswith("embeddings/weight")
                          and name.startswith("decoder"))
    dec.projection.weight = embedding_name
    parameters = sum(int(np.prod(v.shape)) for v in spec.variables().values()
                     if not isinstance(v, str) and len(v.shape) > 0)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec.save(str(out_dir))
    (out_dir / "bench_info.json").write_text(json.dumps({"parameters": parameters, **dims}))
    return {"parameters": parameters}


# ---------------------------------------------------------------------------------------------
# NVML: this process's GPU memory
# ---------------------------------------------------------------------------------------------


class ProcessMemory:
    """This process's entry in NVML's compute-process list, polled by a sampler thread."""

    def __init__(self, index: int, period_s: float = 0.005) -> None:
        self.pid = os.getpid()
        self.period_s = period_s
        self.peak = 0
        self.samples = 0
        try:
            import pynvml

            self._nvml = pynvml
            pynvml.nvmlInit()
            self.handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        except Exception as error:
            if os.environ.get("BENCH_REQUIRE_NVML", "1") == "1":
                raise
            print(f"no NVML ({error}); memory reads are 0", file=sys.stderr)
            self._nvml = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def now(self) -> int:
        if self._nvml is None:
            return 0
        for proc in self._nvml.nvmlDeviceGetComputeRunningProcesses(self.handle):
            if proc.pid == self.pid:
                return int(proc.usedGpuMemory or 0)
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                value = self.now()
            except Exception:
                value = 0
            self.samples += 1
            if value > self.peak:
                self.peak = value
            time.sleep(self.period_s)

    def reset_peak(self) -> None:
        self.peak = self.now()

    def settled(self, delay_s: float = 0.3) -> int:
        time.sleep(delay_s)
        return self.now()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def card(self) -> dict[str, object]:
        pynvml = self._nvml
        if pynvml is None:
            return {"name": "no NVML", "total_bytes": 0, "driver": "n/a", "sm_count": None}
        name = pynvml.nvmlDeviceGetName(self.handle)
        mem = pynvml.nvmlDeviceGetMemoryInfo(self.handle)
        return {
            "name": name.decode() if isinstance(name, bytes) else name,
            "total_bytes": int(mem.total),
            "driver": _text(pynvml.nvmlSystemGetDriverVersion()),
            "sm_count": _sm_count(pynvml, self.handle),
        }


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _sm_count(pynvml, handle) -> int | None:
    try:
        return int(pynvml.nvmlDeviceGetNumGpuCores(handle)) or None
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# Workers (each runs in a fresh process)
# ---------------------------------------------------------------------------------------------


def _whisperx_call(model, size: str, batch_size: int, beam_size: int, max_length: int):
    """What whisperx's generate_segment_batched does, with token ids instead of a tokenizer."""
    import ctranslate2
    import numpy as np

    dims = SHAPES[size]
    tokens = special_tokens(dims["vocab"])
    rng = np.random.default_rng(1)
    features = rng.uniform(-1.0, 1.0, (batch_size, dims["n_mels"], MEL_FRAMES)).astype(
        np.float32)
    prompt = [SOT, tokens["en"], tokens["transcribe"], tokens["no_timestamps"]]
    encoder_output = model.encode(ctranslate2.StorageView.from_array(features), to_cpu=False)
    return encoder_output, prompt


def worker_run(args: argparse.Namespace) -> dict[str, object]:
    import ctranslate2

    path = Path(args.model_root) / args.size
    suppress = json.loads((path / "config.json").read_text())["suppress_ids"] + [EOT]
    mem = ProcessMemory(args.device_index)
    before = mem.now()
    t0 = time.perf_counter()
    model = ctranslate2.models.Whisper(str(path), device=args.device,
                                       device_index=args.device_index,
                                       compute_type=args.compute_type)
    load_s = time.perf_counter() - t0
    loaded = mem.settled()
    load_peak = max(mem.peak, loaded)
    mem.reset_peak()
    peaks = []
    encode_peak = 0
    for _ in range(args.repeats):
        # whisperx transcribes batch after batch in one process: later batches can peak
        # higher than the first when the caching allocator keeps freed blocks.
        t0 = time.perf_counter()
        encoder_output, prompt = _whisperx_call(model, args.size, args.batch_size,
                                               args.beam_size, args.max_length)
        encode_peak = max(encode_peak, mem.peak, mem.settled(0.05))
        results = model.generate(
            encoder_output,
            [prompt] * args.batch_size,
            beam_size=args.beam_size,
            patience=1,
            length_penalty=1,
            max_length=args.max_length,
            suppress_blank=True,
            suppress_tokens=suppress,
            no_repeat_ngram_size=0,
            repetition_penalty=1,
            return_scores=True,
        )
        del encoder_output
        run_s = time.perf_counter() - t0
        after = mem.settled(0.05)
        peaks.append(max(mem.peak, after, encode_peak))
    peak = max(peaks)
    lengths = [len(r.sequences_ids[0]) for r in results]
    mem.stop()
    return {
        "kind": "run", "size": args.size, "compute_type": args.compute_type,
        "batch_size": args.batch_size, "beam_size": args.beam_size,
        "max_length": args.max_length, "before": before, "loaded": loaded,
        "load_peak": load_peak, "encode_peak": encode_peak, "peak": peak, "after": after,
        "peak_first": peaks[0], "peaks_cumulative": peaks,
        "tokens_min": min(lengths), "tokens_max": max(lengths), "load_s": round(load_s, 2),
        "run_s": round(run_s, 2), "samples": mem.samples,
    }


def worker_probe(args: argparse.Namespace) -> dict[str, object]:
    """The CUDA context of a CTranslate2 process (optionally after PyTorch's)."""
    result: dict[str, object] = {"kind": "probe", "with_torch": args.with_torch}
    mem = ProcessMemory(args.device_index)
    result["before"] = mem.now()
    if args.with_torch:
        import torch

        x = torch.randn(1024, 1024, device="cuda", dtype=torch.float16)
        (x @ x).sum().item()
        del x
        torch.cuda.empty_cache()
        torch.cuda.synchronize()
        result["torch_context"] = mem.settled()
    import ctranslate2

    path = Path(args.model_root) / "probe"
    info = json.loads((path / "bench_info.json").read_text())
    weights = info["parameters"] * 2  # float16 on the GPU
    model = ctranslate2.models.Whisper(str(path), device=args.device,
                                       device_index=args.device_index,
                                       compute_type="float16" if args.device == "cuda"
                                       else "float32")
    result["probe_weights"] = weights
    result["loaded"] = mem.settled()
    encoder_output, prompt = _whisperx_call(model, "probe", 1, 5, 8)
    model.generate(encoder_output, [prompt], beam_size=5, max_length=8,
                   suppress_tokens=[EOT])
    del encoder_output
    result["after_run"] = mem.settled()
    result["peak"] = mem.peak
    mem.stop()
    return result


def run_worker(args: argparse.Namespace, extra: list[str], timeout_s: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--model-root", args.model_root,
           "--device-index", str(args.device_index), "--device", args.device, *extra]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"error": (proc.stderr or proc.stdout).strip()[-800:] or f"rc {proc.returncode}"}


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------


def mib(value: float | int | None) -> str:
    return "n/a" if value is None else f"{value / MIB:.0f}"


def pct(measured: float, planned: float) -> str:
    return f"{100 * (planned - measured) / measured:+.1f}" if measured else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["large-v3", "medium", "small"])
    parser.add_argument("--compute-types", nargs="+", default=["float16", "int8_float16"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 2, 4, 8, 16, 32])
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=448)
    parser.add_argument("--model-root", default="/tmp/ct2-random-whisper")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--device-index", type=int, default=0)
    parser.add_argument("--jsonl", help="append every raw measurement to this file")
    parser.add_argument("--repeats", type=int, default=1,
                        help="encode + generate this many batches in each process")
    parser.add_argument("--budget-s", type=float, default=1e9,
                        help="start no new measurement after this many seconds")
    parser.add_argument("--worker-timeout-s", type=float, default=240)
    # Internal: one measurement in this (fresh) process.
    parser.add_argument("--worker", choices=["run", "probe"])
    parser.add_argument("--size")
    parser.add_argument("--compute-type")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--with-torch", action="store_true")
    args = parser.parse_args()

    if args.worker == "run":
        print(json.dumps(worker_run(args)), flush=True)
        return 0
    if args.worker == "probe":
        print(json.dumps(worker_probe(args)), flush=True)
        return 0

    start = time.perf_counter()
    jsonl = open(args.jsonl, "a") if args.jsonl else None  # noqa: SIM115

    def record(row: dict) -> None:
        if jsonl:
            jsonl.write(json.dumps(row) + "\n")
            jsonl.flush()

    import ctranslate2

    mem = ProcessMemory(args.device_index)
    card = mem.card()
    mem.stop()
    print(f"card: {card['name']}, {card['total_bytes'] / 1024**3:.2f} GiB, driver "
          f"{card['driver']}; ctranslate2 {ctranslate2.__version__}; "
          f"CT2_CUDA_ALLOCATOR={os.environ.get('CT2_CUDA_ALLOCATOR', '(default: malloc_async)')}")
    record({"kind": "card", **card, "ctranslate2": ctranslate2.__version__})

    root = Path(args.model_root)
    for size in ["probe", *args.sizes]:
        if not (root / size / "model.bin").exists():
            t0 = time.perf_counter()
            info = build_model(size, root / size)
            print(f"built random {size}: {info['parameters']:,} parameters "
                  f"({time.perf_counter() - t0:.1f} s)", flush=True)

    # CUDA context of a CT2 process, without and with PyTorch in the same process.
    contexts: dict[bool, dict] = {}
    for with_torch in (False, True) if args.device == "cuda" else (False,):
        extra = ["--worker", "probe"] + (["--with-torch"] if with_torch else [])
        row = run_worker(args, extra, args.worker_timeout_s)
        record({"kind": "probe", "with_torch": with_torch, **row})
        contexts[with_torch] = row
    print()
    print("CUDA context (NVML, this process; probe model's weights subtracted)")
    for with_torch, row in contexts.items():
        if "error" in row:
            print(f"  {'torch + CT2' if with_torch else 'CT2 only'}: ERROR {row['error']}")
            continue
        w = row["probe_weights"]
        label = "torch + CT2" if with_torch else "CT2 only (no torch)"
        torch_part = (f", torch alone {mib(row['torch_context'])} MiB" if with_torch else "")
        print(f"  {label}: after load {mib(row['loaded'] - w)} MiB, after one generate "
              f"{mib(row['after_run'] - w)} MiB{torch_part}; planner keeps "
              f"{mib(PLANNED_CONTEXT_BYTES)} MiB")
    ct2_ctx = contexts[False]
    ctx_loaded = (ct2_ctx["loaded"] - ct2_ctx["probe_weights"]) if "loaded" in ct2_ctx else 0
    ctx_run = (ct2_ctx["after_run"] - ct2_ctx["probe_weights"]) if "after_run" in ct2_ctx else 0

    for size in args.sizes:
        spec = whisper_spec(size)
        params = json.loads((root / size / "bench_info.json").read_text())["parameters"]
        for compute_type in args.compute_types:
            ct = ComputeType(compute_type)
            planned_w = whisper_weights_bytes(spec, ct)
            print()
            print(f"{size} {compute_type}: {params:,} parameters in the random model "
                  f"(planner: {spec.parameters:,}); beam {args.beam_size}, max_length "
                  f"{args.max_length}; {args.repeats} batch(es) per process; MiB; "
                  "error % = (planned - measured) / measured")
            header = (f"{'batch':>5} {'loaded':>7} {'weights':>7} {'plan W':>7} {'err%':>6} "
                      f"{'peak':>7} {'act':>6} {'plan A':>6} {'err%':>6} {'plan tot':>8} "
                      f"{'err%':>6} {'1st pk':>7} {'enc pk':>7} {'ld pk':>6} {'tokens':>7} "
                      f"{'run s':>6}")
            print(header)
            print("-" * len(header))
            for batch in args.batch_sizes:
                if time.perf_counter() - start > args.budget_s:
                    print(f"{batch:>5}  skipped: time budget of {args.budget_s:.0f} s spent")
                    record({"kind": "skipped", "size": size, "compute_type": compute_type,
                            "batch_size": batch})
                    continue
                row = run_worker(args, ["--worker", "run", "--size", size, "--compute-type",
                                        compute_type, "--batch-size", str(batch),
                                        "--beam-size", str(args.beam_size), "--max-length",
                                        str(args.max_length), "--repeats",
                                        str(args.repeats)], args.worker_timeout_s)
                row.update(size=size, compute_type=compute_type, batch_size=batch)
                if "error" in row:
                    record({"kind": "error", **row})
                    print(f"{batch:>5}  ERROR {row['error']}", flush=True)
                    continue
                weights = row["loaded"] - ctx_loaded
                # Activations: everything the run added over the loaded model, less the
                # context's own growth on first use (cuBLAS handle, lazily loaded kernels).
                activations = row["peak"] - row["loaded"] - (ctx_run - ctx_loaded)
                planned_a = asr_activation_bytes(spec, ct, batch)
                planned_total = planned_w + planned_a + PLANNED_CONTEXT_BYTES
                row.update(ctx_loaded=ctx_loaded, ctx_run=ctx_run, weights=weights,
                           activations=activations, planned_weights=planned_w,
                           planned_activations=planned_a, planned_total=planned_total,
                           parameters=params, planner_parameters=spec.parameters)
                record(row)
                print(f"{batch:>5} {mib(row['loaded']):>7} {mib(weights):>7} "
                      f"{mib(planned_w):>7} {pct(weights, planned_w):>6} "
                      f"{mib(row['peak']):>7} {mib(activations):>6} {mib(planned_a):>6} "
                      f"{pct(activations, planned_a):>6} {mib(planned_total):>8} "
                      f"{pct(row['peak'], planned_total):>6} {mib(row['peak_first']):>7} "
                      f"{mib(row['encode_peak']):>7} "
                      f"{mib(row['load_peak']):>6} "
                      f"{row['tokens_min']:>3}-{row['tokens_max']:<3} {row['run_s']:>6}",
                      flush=True)
    print()
    print("loaded: process memory after the model loaded; weights = loaded - CT2 context "
          f"after load ({mib(ctx_loaded)} MiB); peak: NVML 5 ms sampler over encode + "
          "generate (the largest over all batches; 1st pk: over the first batch alone); "
          "act = peak - loaded - context growth on first run "
          f"({mib(ctx_run - ctx_loaded)} MiB); plan tot = planned weights + activations + "
          f"{mib(PLANNED_CONTEXT_BYTES)} MiB context, against the measured peak; enc pk: peak "
          "after encode; ld pk: peak while loading; tokens: generated per hypothesis.")
    print(f"total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
