#!/usr/bin/env bash
# The eighth issue-15 run (docs/seg3d.md "Eighth run"): late fusion of a CT path, no network
# trained. The chosen model (stage 5 as selected, both channels) plus the lesions that stage
# 6 (modality dropout) marks from CT alone (SPECT channel zeroed) where stage 5 marks none;
# the CT path's lesion and origin models refitted on its CT-only instances of the training
# cohort, its post-processing (threshold, size, P(lesion), HU contrast to the bone around)
# chosen on the 16 profile_7 scans by select's criterion. The fused card replaces stage 5
# only if its profile_7 criterion beats stage 5's (rule in docs, written before scoring).
# Both are then scored on the 24 profile_9 scans by the same code, and per lesion type.
# Usage (from the repository root): scripts/seg3d_eighth_run.sh OUT [PREV [SIXTH [SEVENTH]]]
#   PREV: the fourth run's folder (cohorts; default /tmp/seg3d-long/exp), SIXTH: the sixth
#   run's (default /tmp/seg3d6/exp; stage5-sel), SEVENTH: the seventh run's (default
#   /tmp/seg3d7/exp; stage6), all read only. About 56 min on the shared 2-core machine
#   (CT-path refit on 120 studies and the select sweep 26 min, each profile_9 evaluation
#   2-4 min, the per-kind counts and readings the rest).
set -euo pipefail
OUT=${1:?usage: scripts/seg3d_eighth_run.sh OUT [PREV [SIXTH [SEVENTH]]]}
PREV=${2:-/tmp/seg3d-long/exp}
SIXTH=${3:-/tmp/seg3d6/exp}
SEVENTH=${4:-/tmp/seg3d7/exp}
export OMP_NUM_THREADS=1
OSC=${OSC:-osteoscan}
PY=${PY:-python}
mkdir -p "$OUT"
# the fused card (selection.json: the chosen path's row and stage 5 alone, same code)
[ -f "$OUT/fused/selection.json" ] || $OSC seg3d select "$SIXTH/stage5-sel" "$PREV/select" \
  --out "$OUT/fused" --ct-path "$SEVENTH/stage6" --ct-fit "$PREV/train" > "$OUT/select.log"
tail -4 "$OUT/select.log"
# profile_7 (selection): per lesion type, and every fused instance (where the added ones lie)
$PY -m benchmarks.seg3d_found_by_kind "$OUT/found_profile7.json" "$PREV/select" \
  fused="$OUT/fused" stage5="$SIXTH/stage5-sel"
$PY -m benchmarks.analyze_seg3d_fp "$OUT/fused" "$PREV/select" "$OUT/fp-fused-profile7" > /dev/null
# profile_9 once, both models, same code
for RUN in fused stage5; do
  SRC="$OUT/fused"; [ "$RUN" = stage5 ] && SRC="$SIXTH/stage5-sel"
  $OSC seg3d evaluate "$SRC" "$PREV/test" --out "$OUT/test-$RUN"
done
$PY -m benchmarks.seg3d_heldout "$OUT/heldout.json" fused="$OUT/test-fused" \
  stage5="$OUT/test-stage5" paired=fused,stage5
$PY -m benchmarks.seg3d_found_by_kind "$OUT/found_profile9.json" "$PREV/test" \
  fused="$OUT/fused" stage5="$SIXTH/stage5-sel"
$PY -m benchmarks.analyze_seg3d_fp "$OUT/fused" "$PREV/test" "$OUT/fp-fused-profile9" > /dev/null
# a reading of the chosen card, after the scoring: which CT-path cut keeps or removes the
# lesions stage 5 misses and the marks outside lesions, on both profiles
for P in select test; do
  $PY -m benchmarks.seg3d_ct_path_reach "$OUT/reach-$P.json" "$OUT/fused" "$PREV/$P" > /dev/null
done
