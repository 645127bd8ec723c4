#!/usr/bin/env bash
# The third issue-15 run (docs/seg3d.md "Third run"): fresh cohorts from today's simulator
# (train: 60 studies of profiles 1-4; selection: 8 of profile_7; test: 12 of profile_9, never
# used in training or selection), the label-resampling fix, MT-UNet SPECT/CT trained in two
# stages (random negatives, then bone-centred negatives), the second-stage lesion and origin
# models, post-processing chosen on profile_7, then the network and the hot-spot baseline
# (its ratio chosen on profile_7) scored on profile_9 in the same evaluation code.
# Usage: scripts/seg3d_third_run.sh OUT   (about 60 min on the shared 2-core machine)
set -euo pipefail
OUT=${1:?usage: scripts/seg3d_third_run.sh OUT}
export OMP_NUM_THREADS=1
OSC=${OSC:-osteoscan}
sim() { [ -f "$OUT/$1/manifest.csv" ] || $OSC seg3d simulate "$OUT/$1" --shape 64,96,96 "${@:2}"; }
sim train --n 60 --seed 0 --profile profile_1 --profile profile_2 --profile profile_3 \
  --profile profile_4
sim test --n 12 --seed 1000 --profile profile_9
sim select --n 8 --seed 2000 --profile profile_7
NET="--arch mtunet3d --patch 16,32,32 --spacing 5 --widths 16,32,64 --samples 8"
# stage 1: 16 epochs x 240 steps of 2 patches, negatives anywhere (--resume also refits the
# lesion and origin models of a finished run)
$OSC seg3d train "$OUT/train" --out "$OUT/ext-mtunet3d" $NET --epochs 16 --lr 2e-3 --resume
# stage 2: 24 more epochs from stage 1, negatives centred in CT bone
$OSC seg3d train "$OUT/train" --out "$OUT/ext-bone" $NET --epochs 24 --lr 1e-3 \
  --negatives bone --init "$OUT/ext-mtunet3d" --resume
for RUN in ext-mtunet3d ext-bone; do
  $OSC seg3d select "$OUT/$RUN" "$OUT/select" --out "$OUT/$RUN-sel"
done
for R in 2 3 4; do
  $OSC seg3d baseline "$OUT/select" --out "$OUT/sel-hotspot-r$R" --ratio $R --n-boot 200
done
RATIO=${RATIO:-3}   # chosen on profile_7 (docs/seg3d.md: highest DSC + sensitivity at 1.5 FP)
for RUN in ext-mtunet3d-sel ext-bone-sel; do
  $OSC seg3d evaluate "$OUT/$RUN" "$OUT/test" --out "$OUT/test-$RUN"
done
$OSC seg3d baseline "$OUT/test" --out "$OUT/test-hotspot" --ratio "$RATIO"
