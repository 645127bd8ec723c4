#!/usr/bin/env bash
# The second issue-15 run (docs/seg3d.md "Second run"): on the cohorts of
# scripts/seg3d_experiment.sh OUT (train: profiles 1-4; test: profile_9), add a selection
# cohort (profile_7: never trained on, never tested on), train MT-UNet SPECT/CT for 2400 steps
# (~7 min on one thread of an idle core), choose the hot-spot baseline's ratio on profile_7,
# then score the network (lesion threshold 0.5, the default, not tuned) and the baseline on
# profile_9, with the first run's checkpoint re-scored in the same evaluation.
# Usage: scripts/seg3d_second_run.sh OUT   (OUT/train, OUT/test, OUT/ext-mtunet3d from
# seg3d_experiment.sh)
set -euo pipefail
OUT=${1:?usage: scripts/seg3d_second_run.sh OUT}
export OMP_NUM_THREADS=1
OSC=${OSC:-osteoscan}
[ -f "$OUT/select/manifest.csv" ] || $OSC seg3d simulate "$OUT/select" --n 8 --seed 2000 \
  --shape 64,96,96 --profile profile_7
$OSC seg3d train "$OUT/train" --out "$OUT/ext-mtunet3d-2400" --arch mtunet3d --epochs 16 \
  --samples 12 --patch 16,32,32 --spacing 5 --widths 16,32,64 --lr 2e-3 --resume
for R in 2 3 4; do
  $OSC seg3d baseline "$OUT/select" --out "$OUT/sel-hotspot-r$R" --ratio $R --n-boot 200
done
# chosen on profile_7: ratio 3 (highest lesion sensitivity at 1.5 FP/scan, then DSC)
$OSC seg3d evaluate "$OUT/ext-mtunet3d-2400" "$OUT/test" --out "$OUT/test-mtunet3d-2400"
$OSC seg3d baseline "$OUT/test" --out "$OUT/test-hotspot" --ratio 3
$OSC seg3d evaluate "$OUT/ext-mtunet3d" "$OUT/test" --out "$OUT/test-previous"
