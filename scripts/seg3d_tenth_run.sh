#!/usr/bin/env bash
# The tenth issue-15 run (docs/seg3d.md "Tenth run (session 9)"): the current simulator
# (features in mm) at the sites' own CT sampling. New selection (12 x profile_7) and test
# (16 x profile_9) cohorts; the chosen fused card measured on both as it is; stage 8 (its
# primary network, stage 5, fine-tuned on the 40 mm-drawn training studies at 5 mm) with its
# post-processing chosen on profile_7; stage 8 replaces the fused card only if its profile_7
# criterion beats the card's on the same scans by one metastasis's share (1/N), and only then
# is profile_9 scored with it (rule in docs, committed before scoring).
# Usage (from the repository root): scripts/seg3d_tenth_run.sh OUT [TRAIN [SIXTH [FUSED]]]
#   TRAIN: the mm-drawn training cohort (default /tmp/mmfeat/train-fine), SIXTH: the sixth
#   run's folder (stage5; default /tmp/seg3d6/exp), FUSED: the current fused card (default
#   /tmp/ctfuse/exp/fused); all read only. Each step is skipped when its output exists; an
#   interrupted training resumes. About 100 min on one loaded core.
set -euo pipefail
OUT=${1:?usage: scripts/seg3d_tenth_run.sh OUT [TRAIN [SIXTH [FUSED]]]}
TRAIN=${2:-/tmp/mmfeat/train-fine}
SIXTH=${3:-/tmp/seg3d6/exp}
FUSED=${4:-/tmp/ctfuse/exp/fused}
export OMP_NUM_THREADS=1
OSC=${OSC:-osteoscan}
PY=${PY:-python}
mkdir -p "$OUT"
[ -f "$TRAIN/manifest.csv" ] || $OSC seg3d simulate "$TRAIN" --n 40 --seed 3000 \
  --profile profile_0 --profile profile_5 --profile profile_6 --profile profile_8 \
  --profile profile_10 --profile profile_11 --ct-spacing profile
[ -f "$OUT/select/manifest.csv" ] || $OSC seg3d simulate "$OUT/select" --n 12 --seed 9500 \
  --profile profile_7 --ct-spacing profile
[ -f "$OUT/test/manifest.csv" ] || $OSC seg3d simulate "$OUT/test" --n 16 --seed 9600 \
  --profile profile_9 --ct-spacing profile
# stage 8: stage 5 fine-tuned on the mm-drawn cohort (24 x 120 steps), then its lesion and
# origin models (skipped once the card has the lesion model, fitted last)
RESUME=(); [ -f "$OUT/stage8/state.json" ] && RESUME=(--resume)
grep -q lesion_model "$OUT/stage8/model.json" 2>/dev/null || $OSC seg3d train "$TRAIN" \
  --out "$OUT/stage8" --arch mtunet3d --patch 16,32,32 --spacing 5 --widths 16,32,64 \
  --negatives bone --channels spectct2w --crops kind --loss lesion --samples 6 --epochs 24 \
  --lr 1e-3 --init "$SIXTH/stage5" "${RESUME[@]}" > "$OUT/train.log"
# 1. the current fused card as it is, on both new cohorts
for P in select test; do
  [ -f "$OUT/$P-current/summary.json" ] || $OSC seg3d evaluate "$FUSED" "$OUT/$P" \
    --out "$OUT/$P-current" > /dev/null
done
$PY -m benchmarks.seg3d_heldout "$OUT/current.json" profile7="$OUT/select-current" \
  profile9="$OUT/test-current"
# 2. stage 8's post-processing on profile_7, then the rule
[ -f "$OUT/stage8-sel/model.json" ] || $OSC seg3d select "$OUT/stage8" "$OUT/select" \
  --out "$OUT/stage8-sel" --thresholds 0.3,0.5,0.8 --min-sizes 2,4 --min-p-lesion 0,0.2,0.4 \
  --cuts all > "$OUT/select.log"
$PY - "$OUT" <<'PYEOF'
import csv, json, sys
out = sys.argv[1]
n = sum(int(r["n_metastases"]) for r in csv.DictReader(open(f"{out}/select/manifest.csv")))
new = max(float(r["criterion"]) for r in csv.DictReader(open(f"{out}/stage8-sel/selection.csv")))
s = json.load(open(f"{out}/select-current/summary.json"))
cur = s["dice_lesion"]["value"] + s["froc"]["sens@1.5"]
adopt = new >= cur + 1.0 / n
print(f"profile_7 criterion: stage 8 {new:.3f}, current fused {cur:.3f}, margin 1/{n} -> "
      f"{'stage 8 adopted' if adopt else 'current fused card stays'}")
json.dump({"n_metastases": n, "stage8": new, "current": cur, "margin": 1.0 / n,
           "adopted": bool(adopt)}, open(f"{out}/decision.json", "w"), indent=1)
PYEOF
# 3. profile_9 once with stage 8, only if it was adopted
if $PY -c "import json,sys; sys.exit(0 if json.load(open('$OUT/decision.json'))['adopted'] else 1)"; then
  [ -f "$OUT/test-stage8/summary.json" ] || $OSC seg3d evaluate "$OUT/stage8-sel" "$OUT/test" \
    --out "$OUT/test-stage8" > /dev/null
  $PY -m benchmarks.seg3d_heldout "$OUT/heldout.json" stage8="$OUT/test-stage8" \
    current="$OUT/test-current" paired=stage8,current
fi
# 4. a reading, nothing chosen from it: the same 16 test patients on the old grid (--shape
#    64,96,96), drawn by the old simulator (8f6cdb6; OLD_SRC, from `git archive 8f6cdb6 src`)
#    and by the current one, scored by the current card: the simulator's change alone on the
#    old grid, then the sites' sampling (test, above)
OLD_SRC=${OLD_SRC:-/tmp/mmfeat/old/src}
[ -f "$OUT/test-oldgrid-oldsim/manifest.csv" ] || PYTHONPATH="$OLD_SRC" $PY -m osteoscan \
  seg3d simulate "$OUT/test-oldgrid-oldsim" --n 16 --seed 9600 --profile profile_9 --shape 64,96,96
[ -f "$OUT/test-oldgrid/manifest.csv" ] || $OSC seg3d simulate "$OUT/test-oldgrid" --n 16 \
  --seed 9600 --profile profile_9 --shape 64,96,96
for C in test-oldgrid-oldsim test-oldgrid; do
  [ -f "$OUT/$C-current/summary.json" ] || $OSC seg3d evaluate "$FUSED" "$OUT/$C" \
    --out "$OUT/$C-current" > /dev/null
done
$PY -m benchmarks.seg3d_heldout "$OUT/simulator.json" oldsim="$OUT/test-oldgrid-oldsim-current" \
  newsim="$OUT/test-oldgrid-current" paired=newsim,oldsim
$PY -m benchmarks.seg3d_heldout "$OUT/sampling.json" newsim="$OUT/test-oldgrid-current" \
  site="$OUT/test-current" paired=site,newsim
