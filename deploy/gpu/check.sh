#!/usr/bin/env bash
# The GPU check, on the GPU machine, from the repository root, once the parts that deploy/gpu/bundle.sh made are in
# $WORK (deploy/gpu/README.md lists the device calls). Every figure and log goes under $OUT:
#   1. unpack the bundle (server, bench with the exporter, .NET runtime, ICU) unless already unpacked;
#   2. export the $PRESET random preset at fp16 (the candidate) and fp32 (the CPU reference), and int4 for CUDA, same seed;
#   3. `Qwen.Bench parity`: fp16 on $EP against fp32 on the CPU, once per slot count in $PARITY_SEQS; then int4 for CUDA on
#      $EP against the same file on the CPU ($INT4_SEQS slots; a divergence passes only where the CPU's top two were within
#      $TIE_MARGIN); a candidate whose log says ONNX Runtime placed nodes on the CPU fails;
#   4. `Qwen.Bench engine` on $EP in process at $ENGINE_STREAMS streams, full logits rows against the candidates graph, and
#      the int4 CUDA export at $INT4_STREAMS streams;
#   5. the server on $EP (fp16, $SEQS slots) under `Qwen.Bench load` at each concurrency in $LEVELS, GPU memory sampled;
#   6. a short summary (also in $OUT/summary.txt).
# Exit 0 when every parity run passed and the load sweep had no errors.
# Environment (default): OUT (required), EP (cuda; cpu runs the same flow without a GPU: EP=cpu PRESET=tiny LEVELS=1,2),
#   PRESET (qwen2.5-0.5b), SEED (1), PROMPTS (12), TOKENS (32), PARITY_SEQS (64,1), PARITY_FLAGS (--copy-inputs-at-bind
#   on cpu, none on cuda), SEQS (128), MAX_MODEL_LEN (2048), LEVELS (1,8,32,64,128), PROMPT_TOKENS (128),
#   MAX_TOKENS (128), WORK (/tmp/qwen-gpu), PORT (8000), SERVER_FLAGS (none), ENGINE_STREAMS (1,8,64), INT4_SEQS (64),
#   TIE_MARGIN (0.1: twice the chosen token's logprob tolerance, the most two sides within it can move a pair apart),
#   INT4_STREAMS (1,64).
set -u
: "${OUT:?set OUT to the folder to bring back}"
EP=${EP:-cuda} PRESET=${PRESET:-qwen2.5-0.5b} SEED=${SEED:-1} PROMPTS=${PROMPTS:-12} TOKENS=${TOKENS:-32}
PARITY_SEQS=${PARITY_SEQS:-64,1} SEQS=${SEQS:-128} MAX_MODEL_LEN=${MAX_MODEL_LEN:-2048} LEVELS=${LEVELS:-1,8,32,64,128}
PROMPT_TOKENS=${PROMPT_TOKENS:-128} MAX_TOKENS=${MAX_TOKENS:-128} WORK=${WORK:-/tmp/qwen-gpu} PORT=${PORT:-8000}
ENGINE_STREAMS=${ENGINE_STREAMS:-1,8,64} INT4_SEQS=${INT4_SEQS:-64} TIE_MARGIN=${TIE_MARGIN:-0.1} INT4_STREAMS=${INT4_STREAMS:-1,64}
# On the CPU, copy-at-bind mode makes host inputs behave as on a device (src/Qwen.Inference/README.md, "IoBinding").
if [ "$EP" = cpu ]; then PARITY_FLAGS=${PARITY_FLAGS---copy-inputs-at-bind}; else PARITY_FLAGS=${PARITY_FLAGS-}; fi
mkdir -p "$OUT" "$WORK" && OUT=$(cd "$OUT" && pwd)
: > "$OUT/summary.txt"
say() { echo "$*" | tee -a "$OUT/summary.txt"; }
step() { echo "== $(date +%T) $*"; }
failed=0

step "unpack"
if [ ! -f "$WORK/unpacked" ]; then
  (cd "$WORK" && sha256sum -c --quiet z/SHA256SUMS) || { say "FAIL: a part is missing or damaged (expected: $(cut -d' ' -f3 "$WORK/z/SHA256SUMS" | tr '\n' ' '))"; exit 1; }
  cat $(ls "$WORK"/c[0-9]/p[0-9] | sort -V) | LD_LIBRARY_PATH=$WORK/z "$WORK/z/zstd" -d -q --long=31 | tar x -C "$WORK" \
    && touch "$WORK/unpacked" || { say "FAIL: unpacking the bundle"; exit 1; }
fi
app=$WORK/app
export DOTNET_ROOT=$WORK/dotnet PATH=$WORK/dotnet:$PATH DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
libs=$app:$WORK/icu
if [ "$EP" = cuda ]; then
  # ONNX Runtime 1.32.0's CUDA provider needs CUDA 13's cuBLAS(Lt), cudart and cuRAND: wherever this machine has them.
  sites=$(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null)
  cuda=$(find /usr /opt $sites \( -name 'libcublasLt.so.13*' -o -name 'libcudart.so.13*' -o -name 'libcurand.so.10*' -o -name 'libcudnn.so.9*' \) -printf '%h\n' 2>/dev/null | sort -u | paste -sd:)
  libs=${cuda:+$cuda:}$libs
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu.txt" 2>&1
  say "gpu: $(cat "$OUT/gpu.txt")"
  LD_LIBRARY_PATH=$libs ldd "$app/libonnxruntime_providers_cuda.so" > "$OUT/ldd-cuda-provider.txt" 2>&1
  grep -q 'not found' "$OUT/ldd-cuda-provider.txt" && say "missing for the CUDA provider: $(grep 'not found' "$OUT/ldd-cuda-provider.txt" | awk '{print $1}' | paste -sd' ')"
fi
export LD_LIBRARY_PATH=$libs

step "export $PRESET fp16, fp32 and int4 for cuda (seed $SEED)"
model() { # precision [target]
  local name=$1${2:+-$2}
  local dir=$WORK/models/$PRESET-$name-seed$SEED
  if [ ! -f "$dir/manifest.json" ]; then
    timeout 600 dotnet "$app/Qwen.OnnxExport.dll" --random "$PRESET" --seed "$SEED" --precision "$1" ${2:+--target "$2"} --output "$dir" --force > "$OUT/export-$name.log" 2>&1 \
      || { say "FAIL: export $name: $(tail -1 "$OUT/export-$name.log")" >&2; exit 1; }
  fi
  echo "$dir"
}
m16=$(model fp16) || exit 1
m32=$(model fp32) || exit 1
m4=$(model int4 cuda) || exit 1

parity() { # name candidate reference slots [flags]
  local name=$1 candidate=$2 reference=$3 slots=$4; shift 4
  step "parity $name, $slots slots"
  # shellcheck disable=SC2086 # PARITY_FLAGS is a list of flags
  timeout 420 dotnet "$app/Qwen.Bench.dll" parity --model "$candidate" --reference "$reference" --execution-provider "$EP" $PARITY_FLAGS \
    --prompts "$PROMPTS" --tokens "$TOKENS" --max-num-seqs "$slots" --out "$OUT/parity-$name-$slots.json" "$@" > "$OUT/parity-$name-$slots.txt" 2>&1
  local rc=$?
  cat "$OUT/parity-$name-$slots.txt"
  say "parity $name on $EP, $slots slots: $(grep '^parity ' "$OUT/parity-$name-$slots.txt" || echo "no verdict (exit $rc): $(tail -1 "$OUT/parity-$name-$slots.txt")")"
  [ $rc -eq 0 ] || failed=1
  # ONNX Runtime only warns when it places a node on the CPU under CUDA (a float32 GroupQueryAttention did): that is a failure here.
  if grep -q 'not assigned to the preferred execution providers' "$OUT/parity-$name-$slots.txt"; then
    say "FAIL: ONNX Runtime placed nodes of $name on the CPU: $(grep -m1 'not assigned' "$OUT/parity-$name-$slots.txt")"; failed=1
  fi
}
for slots in ${PARITY_SEQS//,/ }; do parity fp16 "$m16" "$m32" "$slots"; done
# int4 for CUDA against the same file on the CPU: the same quantized weights, float16 arithmetic on both sides.
parity int4-cuda "$m4" "$m4" "$INT4_SEQS" --tie-margin "$TIE_MARGIN"

for mode in off on; do
  step "engine bench on $EP, candidates $mode"
  # In process, no HTTP: decode tok/s at 1, 8 and 64 streams with full logits rows (off) against the candidates graph
  # (on); --steps yes also times runner steps alone and checks every row's candidates against its full logits.
  timeout 240 dotnet "$app/Qwen.Bench.dll" engine --model-dir "$m16" --precision fp16 --ep "$EP" --streams "$ENGINE_STREAMS" \
    --quick yes --steps yes --candidates "$mode" > "$OUT/engine-candidates-$mode.txt" 2>&1 || say "engine bench, candidates $mode: exit $?"
  say "engine, candidates $mode: $(grep -E '^decode:' "$OUT/engine-candidates-$mode.txt" || tail -1 "$OUT/engine-candidates-$mode.txt")"
done

step "engine bench on $EP, int4 for cuda"
timeout 240 dotnet "$app/Qwen.Bench.dll" engine --model-dir "$m4" --precision int4 --ep "$EP" --streams "$INT4_STREAMS" \
  --quick yes > "$OUT/engine-int4-cuda.txt" 2>&1 || say "engine bench, int4 for cuda: exit $?"
say "engine, int4 for cuda: $(grep -E '^decode:' "$OUT/engine-int4-cuda.txt" || tail -1 "$OUT/engine-int4-cuda.txt")"

step "server on $EP: fp16, $SEQS slots, max-model-len $MAX_MODEL_LEN"
ready() {
  if command -v curl > /dev/null; then curl -fs "$1" > /dev/null
  else python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2> /dev/null; fi
}
gpu_memory() { [ "$EP" = cuda ] && nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1; }
before=$(gpu_memory)
# shellcheck disable=SC2086 # SERVER_FLAGS is a list of flags
dotnet "$app/Qwen.Server.dll" --model "$m16" --execution-provider "$EP" --max-num-seqs "$SEQS" --max-model-len "$MAX_MODEL_LEN" \
  --max-waiting 1024 --urls "http://127.0.0.1:$PORT" ${SERVER_FLAGS:-} > "$OUT/server.log" 2>&1 &
server=$!
for _ in $(seq 1 180); do ready "http://127.0.0.1:$PORT/health/ready" && break; kill -0 $server 2> /dev/null || break; sleep 1; done
if ! ready "http://127.0.0.1:$PORT/health/ready"; then
  say "FAIL: the server did not become ready; its log ends:"; tail -20 "$OUT/server.log" | tee -a "$OUT/summary.txt"
  kill $server 2> /dev/null; exit 1
fi
idle=$(gpu_memory)
say "server startup: $(grep -m1 -E 'Serving' "$OUT/server.log")"
grep -iE 'warn|wrn|not assigned' "$OUT/server.log" | head -5 | sed 's/^/  /' | tee -a "$OUT/summary.txt"

step "load at concurrency $LEVELS"
sampler=
if [ "$EP" = cuda ]; then
  nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader,nounits -l 1 > "$OUT/gpu-samples.csv" 2>&1 &
  sampler=$!
fi
timeout 480 dotnet "$app/Qwen.Bench.dll" load --url "http://127.0.0.1:$PORT" --concurrency "$LEVELS" --prompt-tokens "$PROMPT_TOKENS" \
  --max-tokens "$MAX_TOKENS" --out "$OUT/load.json" > "$OUT/load.txt" 2>&1
rc=$?
[ -n "$sampler" ] && kill $sampler 2> /dev/null
kill $server 2> /dev/null; wait $server 2> /dev/null
grep -E '^\| (load|[0-9])' "$OUT/load.txt" | tee -a "$OUT/summary.txt"
[ $rc -eq 0 ] || { failed=1; say "load: exit $rc; $(tail -1 "$OUT/load.txt")"; }
if [ "$EP" = cuda ]; then
  peak=$(awk -F', ' '$2 + 0 > m {m = $2 + 0} END {print m}' "$OUT/gpu-samples.csv")
  busy=$(awk -F', ' '{s += $3; n++} END {if (n) printf "%.0f", s / n}' "$OUT/gpu-samples.csv")
  say "gpu memory used: ${before} MiB before the server, ${idle} MiB with it idle, ${peak} MiB peak under load; mean utilization under load ${busy}%"
fi
say "check $([ $failed -eq 0 ] && echo PASS || echo FAIL); figures in $OUT"
exit $failed
