#!/usr/bin/env bash
# The sixth issue-15 run (docs/seg3d.md "Sixth run"): a fifth training stage from the fifth
# run's stage-4 weights, same data, settings and crops, with one change: the cross-entropy
# weighs every lesion instance the same whatever its voxel count (--loss lesion;
# osteoscan.volumetric.losses). Post-processing chosen on the same 16 profile_7 scans and grid
# as the fourth and fifth runs; the model is kept only if its profile_7 criterion beats stage
# 4's (rule in docs, written before scoring). Both models are scored on the 24 profile_9 scans
# by the same code, and per lesion type.
# Usage (from the repository root): scripts/seg3d_sixth_run.sh OUT [PREV [FIFTH]]
#   PREV: the fourth run's folder (cohorts; default /tmp/seg3d-long/exp), FIFTH: the fifth
#   run's folder (default /tmp/seg3d5/exp; its stage4 and stage4-sel), both read only.
#   About 30 min on the shared 2-core machine (training 8 min, lesion and origin models 7 min).
set -euo pipefail
OUT=${1:?usage: scripts/seg3d_sixth_run.sh OUT [PREV [FIFTH]]}
PREV=${2:-/tmp/seg3d-long/exp}
FIFTH=${3:-/tmp/seg3d5/exp}
export OMP_NUM_THREADS=1
OSC=${OSC:-osteoscan}
PY=${PY:-python}
EPOCHS=${EPOCHS:-12}
mkdir -p "$OUT"
# stage 5: EPOCHS x 360 steps of 2 patches from stage 4's weights (skipped once its card has
# the lesion model, which is fitted last; --resume continues an interrupted run)
grep -q lesion_model "$OUT/stage5/model.json" 2>/dev/null || $OSC seg3d train "$PREV/train" --out "$OUT/stage5" --arch mtunet3d --patch 16,32,32 \
  --spacing 5 --widths 16,32,64 --negatives bone --channels spectct2w --crops kind \
  --loss lesion --samples 6 --epochs "$EPOCHS" --lr 1e-3 --init "$FIFTH/stage4" --resume
[ -f "$OUT/stage5-sel/model.json" ] || $OSC seg3d select "$OUT/stage5" "$PREV/select" \
  --out "$OUT/stage5-sel" --thresholds 0.3,0.5,0.8 --min-sizes 2,4 --min-p-lesion 0,0.2,0.4
# profile_7 (selection) per lesion type; then profile_9 once, both models, same code
$PY -m benchmarks.seg3d_found_by_kind "$OUT/found_profile7.json" "$PREV/select" \
  stage5="$OUT/stage5-sel" stage4="$FIFTH/stage4-sel"
for RUN in stage5 stage4; do
  SRC="$OUT/$RUN-sel"; [ "$RUN" = stage4 ] && SRC="$FIFTH/stage4-sel"
  $OSC seg3d evaluate "$SRC" "$PREV/test" --out "$OUT/test-$RUN"
done
$PY -m benchmarks.seg3d_heldout "$OUT/heldout.json" stage5="$OUT/test-stage5" \
  stage4="$OUT/test-stage4" paired=stage5,stage4
$PY -m benchmarks.seg3d_found_by_kind "$OUT/found_profile9.json" "$PREV/test" \
  stage5="$OUT/stage5-sel" stage4="$FIFTH/stage4-sel"
# profile_7 only: the largest voxel lesion probability of every true lesion (missed ones at
# 0.00 in the fourth run's table): did the lesion weights move the missed lesions at all?
for RUN in stage5 stage4; do
  SRC="$OUT/$RUN-sel"; [ "$RUN" = stage4 ] && SRC="$FIFTH/stage4-sel"
  $PY -m benchmarks.analyze_seg3d_fp "$SRC" "$PREV/select" "$OUT/fp-$RUN-profile7"
done
