#!/usr/bin/env bash
# The seventh issue-15 run (docs/seg3d.md "Seventh run"): a sixth training stage from the sixth
# run's stage-5 weights, same data, settings, crops and loss, with one change: modality
# dropout (--modality-dropout P: the SPECT channel of a training patch is zeroed with
# probability P, so the network must find lesions from CT alone; osteoscan.volumetric.inputs.
# RandDropChannelsd). Post-processing chosen on the same 16 profile_7 scans and grid as the
# fourth to sixth runs; the model is kept only if its profile_7 criterion beats stage 5's
# (rule in docs, written before scoring). Both models are scored on the 24 profile_9 scans by
# the same code, and per lesion type.
# Usage (from the repository root): scripts/seg3d_seventh_run.sh OUT [PREV [SIXTH]]
#   PREV: the fourth run's folder (cohorts; default /tmp/seg3d-long/exp), SIXTH: the sixth
#   run's folder (default /tmp/seg3d6/exp; its stage5 and stage5-sel), both read only.
#   About 45 min on the shared 2-core machine (training 40 epochs 14-25 min, lesion and origin
#   models 7 min).
set -euo pipefail
OUT=${1:?usage: scripts/seg3d_seventh_run.sh OUT [PREV [SIXTH]]}
PREV=${2:-/tmp/seg3d-long/exp}
SIXTH=${3:-/tmp/seg3d6/exp}
export OMP_NUM_THREADS=1
OSC=${OSC:-osteoscan}
PY=${PY:-python}
EPOCHS=${EPOCHS:-40}
DROP=${DROP:-0.5}
mkdir -p "$OUT"
# stage 6: EPOCHS x 360 steps of 2 patches from stage 5's weights (skipped once its card has
# the lesion model, which is fitted last; --resume continues an interrupted run)
grep -q lesion_model "$OUT/stage6/model.json" 2>/dev/null || $OSC seg3d train "$PREV/train" --out "$OUT/stage6" --arch mtunet3d --patch 16,32,32 \
  --spacing 5 --widths 16,32,64 --negatives bone --channels spectct2w --crops kind \
  --loss lesion --modality-dropout "$DROP" --samples 6 --epochs "$EPOCHS" --lr 1e-3 \
  --init "$SIXTH/stage5" --resume
[ -f "$OUT/stage6-sel/model.json" ] || $OSC seg3d select "$OUT/stage6" "$PREV/select" \
  --out "$OUT/stage6-sel" --thresholds 0.3,0.5,0.8 --min-sizes 2,4 --min-p-lesion 0,0.2,0.4
# profile_7 (selection) per lesion type; then profile_9 once, both models, same code
$PY -m benchmarks.seg3d_found_by_kind "$OUT/found_profile7.json" "$PREV/select" \
  stage6="$OUT/stage6-sel" stage5="$SIXTH/stage5-sel"
for RUN in stage6 stage5; do
  SRC="$OUT/$RUN-sel"; [ "$RUN" = stage5 ] && SRC="$SIXTH/stage5-sel"
  $OSC seg3d evaluate "$SRC" "$PREV/test" --out "$OUT/test-$RUN"
done
$PY -m benchmarks.seg3d_heldout "$OUT/heldout.json" stage6="$OUT/test-stage6" \
  stage5="$OUT/test-stage5" paired=stage6,stage5
$PY -m benchmarks.seg3d_found_by_kind "$OUT/found_profile9.json" "$PREV/test" \
  stage6="$OUT/stage6-sel" stage5="$SIXTH/stage5-sel"
# profile_7 only: the largest voxel lesion probability of every true lesion (stage 5's table
# is the sixth run's, $SIXTH/fp-stage5-profile7*): did the CT-only patches move the missed
# lesions at all?
$PY -m benchmarks.analyze_seg3d_fp "$OUT/stage6-sel" "$PREV/select" "$OUT/fp-stage6-profile7"
