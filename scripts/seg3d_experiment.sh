#!/usr/bin/env bash
# The issue-15 experiment on simulated SPECT/CT (docs/seg3d.md "Results"), sized for a shared
# 2-core CPU: train on profiles 1-4, test on profile_9 (never used in training or selection),
# MT-UNet against a UNet baseline in the same run; then the 5-fold comparison of six networks.
# Usage: scripts/seg3d_experiment.sh OUT   (about an hour on a loaded 2-core machine)
set -euo pipefail
OUT=${1:?usage: scripts/seg3d_experiment.sh OUT}
export OMP_NUM_THREADS=1
OSC=${OSC:-osteoscan}
SHAPE=64,96,96
COMMON=(--spacing 5 --widths 8,16,32 --lr 3e-3)
[ -f "$OUT/train/manifest.csv" ] || $OSC seg3d simulate "$OUT/train" --n 25 --seed 0 --shape $SHAPE \
  --profile profile_1 --profile profile_2 --profile profile_3 --profile profile_4
[ -f "$OUT/test/manifest.csv" ] || $OSC seg3d simulate "$OUT/test" --n 12 --seed 1000 --shape $SHAPE \
  --profile profile_9
for ARCH in mtunet3d unet3d; do
  $OSC seg3d train "$OUT/train" --out "$OUT/ext-$ARCH" --arch $ARCH --epochs 16 --samples 3 \
    --patch 24,32,32 "${COMMON[@]}" --resume
  $OSC seg3d evaluate "$OUT/ext-$ARCH" "$OUT/test" --out "$OUT/eval-$ARCH"
done
$OSC seg3d train "$OUT/train" --cv 5 --out "$OUT/cv" --epochs 4 --samples 2 --patch 16,32,32 \
  "${COMMON[@]}" --tiny --resume --arch mtunet3d --arch unet3d --arch attentionunet3d \
  --arch segresnet3d --arch dynunet3d --arch unetr3d
