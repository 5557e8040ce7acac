#!/bin/bash
# Fine-tune the builtin model on a GPU machine that has torch but not this project's other packages.
#
# Run from the repository root, with:
#   OUT    folder for the results (weights split in 10 MB parts w0, w1; builtin.json, loss.csv, val.csv, log)
#   DATA   packed training shards (python -m physreel.engine.builtin.shards pack ...; default .carry/train)
#   VAL    packed validation shards (default .carry/val)
#   .whl/  wheels of diffusers, pydantic (+ pydantic_core, annotated_types, typing_inspection,
#          importlib_metadata, typing_extensions) for that machine's Python, where it lacks them
# Leg 1 trains LEG1 steps and saves its weights (mid.w0, mid.w1); leg 2 resumes up to the step
# count the time left in BUDGET_S allows (a multiple of 250, at most MAX_STEPS). Both legs run
# `python -m physreel.engine.cli.cmd_train`, i.e. `physreel train` with the same arguments.
set -euo pipefail
: "${OUT:?set OUT to the folder for the results}"
START=$(date +%s); BUDGET_S=${BUDGET_S:-450}; MAX_STEPS=${MAX_STEPS:-6000}; LEG1=${LEG1:-1000}
PY=${PY:-python3}; REPO=$PWD; DATA=${DATA:-$REPO/.carry/train}; VAL=${VAL:-$REPO/.carry/val}
# typing_extensions only where the machine's is older than pydantic needs (a newer one stays first).
TE_OK=$($PY -c "import importlib.metadata as m; from packaging.version import Version as V; print(int(V(m.version('typing_extensions')) >= V('4.16')))" 2>/dev/null || echo 0)
if [ -d .whl ] && [ -z "${SKIP_WHL:-}" ]; then
  WHEELS=$(ls .whl/*.whl | grep -v typing_extensions || true); [ "$TE_OK" = 1 ] || WHEELS="$WHEELS $(ls .whl/typing_extensions*.whl)"
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site $WHEELS
fi
# The installed layout (physreel.sim = sim/, ...) as links, outside the repository root, whose own
# physreel/ folder holds no engine/ and would be found first.
rm -rf /tmp/shim && mkdir -p /tmp/shim && cp -r physreel /tmp/shim/
for d in sim engine conditioning; do ln -s "$REPO/$d" /tmp/shim/physreel/$d; done
cd /tmp/shim
export PYTHONPATH=/tmp/shim:/tmp/site PYTHONUNBUFFERED=1
LOG=$OUT/log
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true; } > "$LOG" 2>&1
$PY -c "import torch, diffusers, numpy; print('torch', torch.__version__, 'diffusers', diffusers.__version__, 'numpy', numpy.__version__, 'cuda', torch.cuda.is_available())" >> "$LOG" 2>&1
ARGS=(-o /tmp/m --data "$DATA" --val-data "$VAL" --init "$REPO/engine/builtin/weights" --caption-time-embedding
      --device "${DEVICE:-cuda}" --precision bf16 --batch "${BATCH:-256}" --lr "${LR:-5e-4}" --threads 8 --checkpoint-every 250)
$PY -m physreel.engine.cli.cmd_train "${ARGS[@]}" --steps "$LEG1" >> "$LOG" 2>&1
split -b 10M -d -a 1 /tmp/m/builtin.safetensors "$OUT/mid.w"
# Leg 2's length: the train loop's rate from leg 1's own wall time, the time left from this script's clock.
STEPS=$($PY - "$START" "$BUDGET_S" "$MAX_STEPS" "$LEG1" <<'PY'
import json, sys, time
start, budget, cap, leg1 = (float(a) for a in sys.argv[1:])
wall = json.load(open("/tmp/m/train.json"))["wall_time_s"]
left = budget - (time.time() - start) - 25   # 25 s: restart, data load, final writes
print(int(min(cap, leg1 + max(0.0, left) * leg1 / wall) // 250 * 250))
PY
)
echo "leg 1: $LEG1 steps at $(( $(date +%s) - START )) s; leg 2 to $STEPS steps" >> "$LOG"
if [ "$STEPS" -gt "$LEG1" ]; then
  $PY -m physreel.engine.cli.cmd_train "${ARGS[@]}" --steps "$STEPS" --resume >> "$LOG" 2>&1
fi
split -b 10M -d -a 1 /tmp/m/builtin.safetensors "$OUT/w"
cp /tmp/m/builtin.json /tmp/m/val.csv /tmp/m/loss.csv "$OUT/"
echo "done in $(( $(date +%s) - START )) s" >> "$LOG"
grep -E "validation|steps on|leg|done|torch|H200" "$LOG"
