#!/usr/bin/env bash
# The second device call for the embedded engine's segfault (bench/GPU-RESULTS.md, "The
# embedded engine"): build the CUDA shared libraries as embedded_gpu_session.sh does, then
#   1. what libggml-cuda.so is linked with and exports (C++ runtime symbols), which symbols of
#      the other libraries bind to it in a Python process (LD_DEBUG=bindings);
#   2. load a model on the GPU (the step that crashed) through llama-cpp-python and decode:
#      as it is, with libstdc++ loaded RTLD_GLOBAL first (what tui/llm/llamacpp_engine.py now
#      does), and with LD_PRELOAD;
#   3. the embedded measurement (`llm_gpu_memory.py embedded`, the product's code) if 2 found a
#      way that loads;
#   4. the libraries relinked with -Wl,--exclude-libs,ALL, loaded as they are.
# Carry .embcarry; SmolLM2's other part stashed in /tmp/emb2 by a call just before.
set -u
started=$SECONDS
: "${OUT:?}"
E=/tmp/emb W=/tmp/llm-gpu
mkdir -p "$E" "$W"
cp -r .embcarry/. "$E/"
tar -xJf "$E/site.tar.xz" -C "$E"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-} PYTHONUNBUFFERED=1
say() { echo "[$((SECONDS - started)) s] $*"; }
exec > >(tee "$OUT/probe.log") 2>&1

python3 "$E/llm_gpu_memory.py" build-shared --carry "$E" --workdir "$W" --no-fa-kernels \
  || { tail -c 4000 "$W/build-shared.log"; exit 1; }
L=$W/build-shared/bin SMOL=$W/SmolLM2-135M-Instruct.gguf
cat "$E/smollm2.part-a" /tmp/emb2/smollm2.part-b > "$SMOL" 2>/dev/null
python3 -c "import hashlib,json,sys; m=json.load(open('$E/smollm2.json'));
sys.exit(hashlib.sha256(open('$SMOL','rb').read()).hexdigest() != m['sha256'])" \
  && models=(devstral smollm2) probe_model=$SMOL \
  || { models=(devstral); probe_model=$W/vocab.gguf; say "no SmolLM2: probing a Devstral-shaped file"
       python3 -c "import sys; from pathlib import Path; sys.path.insert(0, '$E')
from devstral_gguf import write_gguf, CHAT_TEMPLATE
write_gguf(Path('$probe_model'), 1, '$W/llama.cpp/gguf-py', CHAT_TEMPLATE)"; }

say "1. libggml-cuda.so"
g++ --version | head -1; nvcc --version | tail -1
readelf -d "$L/libggml-cuda.so.0" | grep -E "NEEDED|RUNPATH"
for lib in libggml-cuda.so.0 libllama.so.0 libggml-base.so.0; do
  echo "$lib exports $(nm -D --defined-only "$L/$lib" | c++filt | grep -c ' std::') std:: symbols"
done
nm -D --defined-only "$L/libggml-cuda.so.0" | c++filt \
  | grep -E ' std::(locale|collate|ctype|codecvt|__cxx11::regex|__detail|basic_string)' | head -12
grep -A8 '^build bin/libggml-cuda.so' "$W/build-shared/build.ninja" \
  | grep -E 'LINK_LIBRARIES|LINK_FLAGS' | cut -c1-700
cat > "$W/probe.py" <<'PY'
import ctypes, os, sys
mode, model, lib = sys.argv[1:4]
os.environ["LLAMA_CPP_LIB_PATH"] = lib
sys.path.insert(0, "/tmp/emb/site")
if mode == "global":
    ctypes.CDLL("libstdc++.so.6", mode=ctypes.RTLD_GLOBAL)
import llama_cpp
# A full load on the GPU (the crash came once the device was prepared: a vocabulary-only
# load passed without the fix on 2026-12-02), then one decode.
llm = llama_cpp.Llama(model_path=model, n_gpu_layers=-1, n_ctx=512, verbose=False)
llm.eval(llm.tokenize(b"Hello, world"))
print(f"   {mode}: loaded on the GPU and decoded ({llm.n_vocab()} tokens)", flush=True)
PY
probe() {  # mode [env...]
  local mode=$1; shift
  env "$@" timeout 60 python3 -X faulthandler "$W/probe.py" "$mode" "$probe_model" "$L" \
    > "$W/probe-$mode.out" 2>&1
  local rc=$?
  grep -E "decoded|Segmentation|Fatal" "$W/probe-$mode.out" | head -2
  echo "   $mode: exit $rc"
  return $rc
}
say "2. loading on the GPU through llama-cpp-python"
LD_DEBUG=bindings LD_DEBUG_OUTPUT=$W/bindings probe plain
echo "   symbols bound to libggml-cuda.so from other objects (first 25):"
grep -h "to $L/libggml-cuda.so.0" "$W"/bindings.* | grep -v "binding file $L/libggml-cuda" \
  | sed -E 's/^ *[0-9]+: *binding file //' | head -25
probe global && global_ok=1 || global_ok=0
stdcxx=$(ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
probe ldpreload "LD_PRELOAD=$stdcxx"

if [[ $global_ok == 1 ]]; then
  say "3. the embedded engine, measured (product code: libstdc++ loaded globally first)"
  python3 "$E/llm_gpu_memory.py" embedded --carry "$E" --workdir "$W" --lib-dir "$L" \
    --models "${models[@]}" --smollm2 "$SMOL" --json "$OUT/llm_embedded.json" --deadline-s 150 \
    | grep -vE '^   \| (llama_model_loader|print_info|load:|llama_context|llama_kv|graph_reserve|sched_reserve|init_tokenizer)'
fi

say "4. relinked with -Wl,--exclude-libs,ALL"
cmake -S "$W/llama.cpp" -B "$W/build-shared" -DCMAKE_SHARED_LINKER_FLAGS=-Wl,--exclude-libs,ALL > /dev/null \
  && cmake --build "$W/build-shared" --target llama -j "$(nproc)" > "$W/relink.log" 2>&1
tail -n 2 "$W/relink.log"
for lib in libggml-cuda.so.0 libllama.so.0; do
  echo "$lib exports $(nm -D --defined-only "$L/$lib" | c++filt | grep -c ' std::') std:: symbols"
done
probe plain && relink_ok=1 || relink_ok=0
if [[ $global_ok == 0 && $relink_ok == 1 ]]; then
  say "3'. the embedded engine, measured on the relinked libraries"
  python3 "$E/llm_gpu_memory.py" embedded --carry "$E" --workdir "$W" --lib-dir "$L" \
    --models "${models[@]}" --smollm2 "$SMOL" --json "$OUT/llm_embedded.json" --deadline-s 150 \
    | grep -vE '^   \| (llama_model_loader|print_info|load:|llama_context|llama_kv|graph_reserve|sched_reserve|init_tokenizer)'
fi
say "done"
