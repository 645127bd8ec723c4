#!/usr/bin/env bash
# The issue-15 experiment on simulated SPECT/CT (docs/seg3d.md "Results"), sized for a shared
# 2-core CPU: train on profiles 1-4, test on profile_9 (never used in training or selection);
# then the 5-fold comparison of six networks on the training cohort.
# Usage: scripts/seg3d_experiment.sh OUT   (about an hour on a loaded 2-core machine)
# ARCHS="mtunet3d unet3d" adds the UNet baseline on the external profile (not run for the
# figures in docs/seg3d.md: out of time).
set -euo pipefail
OUT=${1:?usage: scripts/seg3d_experiment.sh OUT}
export OMP_NUM_THREADS=1
OSC=${OSC:-osteoscan}
SHAPE=64,96,96
[ -f "$OUT/train/manifest.csv" ] || $OSC seg3d simulate "$OUT/train" --n 25 --seed 0 --shape $SHAPE \
  --profile profile_1 --profile profile_2 --profile profile_3 --profile profile_4
[ -f "$OUT/test/manifest.csv" ] || $OSC seg3d simulate "$OUT/test" --n 12 --seed 1000 --shape $SHAPE \
  --profile profile_9
for ARCH in ${ARCHS:-mtunet3d}; do
  $OSC seg3d train "$OUT/train" --out "$OUT/ext-$ARCH" --arch $ARCH --epochs 16 --samples 3 \
    --patch 24,32,32 --spacing 5 --widths 8,16,32 --lr 3e-3 --resume
  $OSC seg3d evaluate "$OUT/ext-$ARCH" "$OUT/test" --out "$OUT/eval-$ARCH"
done
$OSC seg3d train "$OUT/train" --cv 5 --out "$OUT/cv" --epochs 3 --samples 1 --patch 16,32,32 \
  --spacing 8 --widths 8,16,32 --lr 3e-3 --tiny --resume --arch mtunet3d --arch unet3d \
  --arch attentionunet3d --arch segresnet3d --arch dynunet3d --arch unetr3d
