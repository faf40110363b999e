#!/usr/bin/env bash
# One device call (bench/GPU-RESULTS.md, "The embedded engine"): build llama.cpp once with CUDA
# (shared libraries and llama-server on them), then at the same time
#   - bench/triage_quality.py over the whole labelled set, SmolLM2-135M-Instruct on llama-server
#     on the GPU (started in its own session: a later call can collect it if this one ends first);
#   - the embedded engine (`llm_gpu_memory.py embedded`: each model in a child process with
#     faulthandler); if a run crashes, again under cuda-gdb for the native stack, then with
#     llama-server's split mode and without the NVML thread, to tell the causes apart.
# Run from the repository root on the device, carrying .embcarry (`llm_gpu_memory.py pack
# --embedded --quality`); SmolLM2's other part stashed in /tmp/emb2 by a call just before.
# Writes at most 8 files under $OUT.
set -u
started=$SECONDS
: "${OUT:?}"
E=/tmp/emb W=/tmp/llm-gpu Q=/tmp/quality
mkdir -p "$E" "$W" "$Q"
cp -r .embcarry/. "$E/"
tar -xJf "$E/site.tar.xz" -C "$E"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-} PYTHONUNBUFFERED=1
say() { echo "[$((SECONDS - started)) s] $*"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -V; nproc

python3 "$E/llm_gpu_memory.py" build-shared --carry "$E" --workdir "$W" --server \
  --no-fa-kernels || { tail -c 4000 "$W/build-shared.log"; exit 1; }
B=$W/build-shared/bin SMOL=$W/SmolLM2-135M-Instruct.gguf
cat "$E/smollm2.part-a" /tmp/emb2/smollm2.part-b > "$SMOL" 2>/dev/null
python3 -c "import hashlib,json,sys; m=json.load(open('$E/smollm2.json'));
sys.exit(hashlib.sha256(open('$SMOL','rb').read()).hexdigest() != m['sha256'])" \
  && have_smol=1 || { have_smol=0; say "SmolLM2 incomplete: no quality run, no SmolLM2 embedded"; }

if [[ $have_smol == 1 ]]; then
  say "llama-server + triage quality (background)"
  setsid nohup "$B/llama-server" -m "$SMOL" -c 8192 -np 1 -ngl 99 -fa off --port 8080 \
    --alias smollm2 > "$Q/server.log" 2>&1 < /dev/null &
  for _ in $(seq 120); do
    python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/health', timeout=2)" \
      2>/dev/null && break
    sleep 0.5
  done
  (cd "$E/app" && PYTHONPATH="$E/site:$E/app" setsid nohup python3 bench/triage_quality.py \
    --config bench/triage_quality/llama-server.toml --json-out "$Q/run.json" \
    > "$Q/quality.log" 2>&1 < /dev/null &)
fi

say "embedded engine"
models=(devstral); [[ $have_smol == 1 ]] && models+=(smollm2)
python3 "$E/llm_gpu_memory.py" embedded --carry "$E" --workdir "$W" --lib-dir "$B" \
  --models "${models[@]}" --smollm2 "$SMOL" --json "$OUT/llm_embedded.json" --deadline-s 240
crashed=$(python3 -c "import json; r=json.load(open('$OUT/llm_embedded.json'))['runs'];
print(' '.join(x['model'] for x in r if 'killed by' in str(x.get('error',''))))")
say "crashed: ${crashed:-none}"
if [[ -n $crashed ]]; then
  m=${crashed%% *}
  say "$m under cuda-gdb"
  timeout 150 cuda-gdb -q -batch -ex 'set pagination off' -ex 'set confirm off' -ex run \
    -ex 'bt 40' -ex 'info threads' -ex 'thread apply all bt 12' --args "$(command -v python3)" -X faulthandler \
    "$E/llm_gpu_memory.py" embedded --in-process --carry "$E" --workdir "$W" --lib-dir "$B" \
    --models "$m" --smollm2 "$SMOL" --json "$W/gdb/llm_embedded.json" > "$OUT/gdb.log" 2>&1
  for variant in "--split-mode layer" "--nvml-interval-ms 0"; do
    d=$W/variant-${variant// /}; mkdir -p "$d"
    say "$m with $variant"
    # shellcheck disable=SC2086
    timeout 90 python3 "$E/llm_gpu_memory.py" embedded --carry "$E" --workdir "$W" \
      --lib-dir "$B" --models "$m" --smollm2 "$SMOL" --json "$d/llm_embedded.json" $variant \
      > "$d/out.log" 2>&1
    python3 -c "import json; r=json.load(open('$d/llm_embedded.json'))['runs'][0];
print('   ', r.get('error') or 'ran', r.get('last_step') or r.get('step'))"
  done
fi

if [[ $have_smol == 1 ]]; then
  say "waiting for the quality run"
  while [[ ! -f $Q/run.json ]] && (( SECONDS - started < ${QUALITY_WAIT_UNTIL_S:-575} )); do
    sleep 2
  done
  tail -n 3 "$Q/quality.log"
  [[ -f $Q/run.json ]] && cp "$Q/run.json" "$OUT/quality-run.json"
  cp "$Q/quality.log" "$OUT/quality.log"
fi
tar -czf "$OUT/extras.tgz" -C / "${W#/}/build-shared.log" "${W#/}/configure-shared.json" \
  "${Q#/}/server.log" $(cd / && ls -d "${W#/}"/gdb "${W#/}"/variant-* 2>/dev/null) 2>/dev/null
say "done"
