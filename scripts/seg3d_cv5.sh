#!/usr/bin/env bash
# The 5-fold comparison of six 3-D networks at a budget where they learn (docs/seg3d.md
# "5-fold comparison at 600 steps"). Cohort: 25 of the fourth run's 120 training studies
# (rows 0, 4, 9, 14, ... = int(i x 4.8), every profile of the ten, 25 patients; linked, read
# only), patient-level folds stratified by primary (seg3d train --cv). Every arm: SPECT/CT,
# 5 mm, patch 16,32,32, widths 16,32,64 (UNETR: feature size 16, ViT hidden 192), 10 epochs x
# 60 steps of 2 patches (20 training studies x 6 patches) = 600 steps, Adam 2e-3 with cosine
# decay, negatives centred in CT bone. Killed runs continue with the same command (--resume: a
# finished fold of an arm is skipped, a training continues after its last epoch).
# Usage (repository root): scripts/seg3d_cv5.sh OUT [TRAIN]   (RESULT=... : the JSON's path)
#   TRAIN: the fourth run's training cohort (default /tmp/seg3d-long/exp/train,
#   scripts/seg3d_fourth_run.sh). About 70 min on the shared 2-core machine, one thread.
set -euo pipefail
OUT=${1:?usage: scripts/seg3d_cv5.sh OUT [TRAIN]}
TRAIN=${2:-/tmp/seg3d-long/exp/train}
export OMP_NUM_THREADS=1
OSC=${OSC:-osteoscan}
PY=${PY:-python}
if [ ! -f "$OUT/cohort/manifest.csv" ]; then
  mkdir -p "$OUT/cohort"
  $PY - "$TRAIN" "$OUT/cohort" <<'PYEOF'
import csv, os, sys
src, dst = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(f"{src}/manifest.csv")))
picked = [rows[int(i * 4.8)] for i in range(25)]
for row in picked:
    os.symlink(os.path.realpath(f"{src}/{row['study_id']}"), f"{dst}/{row['study_id']}")
with open(f"{dst}/manifest.part", "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(picked)
os.replace(f"{dst}/manifest.part", f"{dst}/manifest.csv")
PYEOF
fi
# UNETR second: the issue names it; if the run must stop early the last arms are the ones lost
$OSC seg3d train "$OUT/cohort" --cv 5 --out "$OUT/study" --arch mtunet3d --arch unetr3d \
  --arch unet3d --arch dynunet3d --arch segresnet3d --arch attentionunet3d \
  --channels spectct --spacing 5 --patch 16,32,32 --widths 16,32,64 --samples 6 --epochs 10 \
  --lr 2e-3 --negatives bone --seed 0 --resume
$OSC compare --render-only "$OUT/study"
# the learning-free hot-spot rule (ratio 3, chosen on profile_7 in the third run) on the same
# 25 studies, then every figure in one JSON/CSV (benchmarks/seg3d_cv_summary.py)
[ -f "$OUT/hotspot/summary.json" ] || $OSC seg3d baseline "$OUT/cohort" --out "$OUT/hotspot" --ratio 3
$PY -m benchmarks.seg3d_cv_summary "$OUT/study" "${RESULT:-benchmarks/results/seg3d_cv5.json}" \
  hotspot="$OUT/hotspot"
