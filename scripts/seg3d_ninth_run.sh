#!/usr/bin/env bash
# The ninth issue-15 run (docs/seg3d.md "Ninth run (session 8)"): a CT-only companion for
# the cold lytic metastases. First the ceiling (training cohort and profile_7 only): per
# lytic metastasis, its HU contrast and CNR against the surrounding bone, found or missed by
# stage 5. Then stage 7: the seventh run's modality-dropout network (stage 6) fine-tuned with
# its SPECT channel always zeroed (--modality-dropout 1) and lytic metastases weighted 4x in
# the lesion-weighted CE (--kind-weight osteolytic=4); its lesion and origin models are
# fitted by `train` on its own CT-only instances of the training cohort. It is fused into
# stage 5 as the CT path, its post-processing chosen on the 16 profile_7 scans by select's
# criterion; the new fused card replaces the current one only if its profile_7 criterion is
# higher (rule in docs, written before training). Both fused cards are then scored once on
# the 24 profile_9 scans by the same code, and per lesion type.
# Usage (from the repository root): scripts/seg3d_ninth_run.sh OUT [PREV [SIXTH [SEVENTH [FUSED]]]]
#   PREV: the fourth run's folder (cohorts; default /tmp/seg3d-long/exp), SIXTH: the sixth
#   run's (stage5-sel; default /tmp/seg3d6/exp), SEVENTH: the seventh run's (stage6; default
#   /tmp/seg3d7/exp), FUSED: the current fused card (default /tmp/ctfuse/exp/fused); all read
#   only. Each step is skipped when its output exists; an interrupted training resumes.
set -euo pipefail
OUT=${1:?usage: scripts/seg3d_ninth_run.sh OUT [PREV [SIXTH [SEVENTH [FUSED]]]]}
PREV=${2:-/tmp/seg3d-long/exp}
SIXTH=${3:-/tmp/seg3d6/exp}
SEVENTH=${4:-/tmp/seg3d7/exp}
FUSED=${5:-/tmp/ctfuse/exp/fused}
export OMP_NUM_THREADS=1
OSC=${OSC:-osteoscan}
PY=${PY:-python}
mkdir -p "$OUT"
# 1. the ceiling: which lytic metastases stage 5 misses (training cohort; profile_7 from the
#    sixth run's table) and how visible they are on the CT at the cohort's and the model's grid
[ -f "$OUT/fp-stage5-train.json" ] || $PY -m benchmarks.analyze_seg3d_fp "$SIXTH/stage5-sel" \
  "$PREV/train" "$OUT/fp-stage5-train" > /dev/null
$PY -m benchmarks.seg3d_lytic_ceiling "$OUT/fp-stage5-train-lesions.csv" "$PREV/train" \
  "$OUT/ceiling-train.json" native 5
$PY -m benchmarks.seg3d_lytic_ceiling "$SIXTH/fp-stage5-profile7-lesions.csv" "$PREV/select" \
  "$OUT/ceiling-profile7.json" native 5 4
# 2. stage 7, the CT-only companion (resumes an interrupted run)
RESUME=(); [ -f "$OUT/stage7/state.json" ] && RESUME=(--resume)
[ -f "$OUT/stage7/train.done" ] || { $OSC seg3d train "$PREV/train" --out "$OUT/stage7" \
  --arch mtunet3d --patch 16,32,32 --spacing 5 --widths 16,32,64 --negatives bone \
  --channels spectct2w --crops kind --loss lesion --kind-weight osteolytic=4 \
  --modality-dropout 1 --samples 6 --epochs 16 --lr 1e-3 --init "$SEVENTH/stage6" \
  "${RESUME[@]}" > "$OUT/train.log" && touch "$OUT/stage7/train.done"; }
# 3. the fused candidate (stage 5 + stage 7), chosen on profile_7; the current fused card on
#    the same scans by seg3d evaluate (same figures as its selection: 1.302)
[ -f "$OUT/fused/selection.json" ] || $OSC seg3d select "$SIXTH/stage5-sel" "$PREV/select" \
  --out "$OUT/fused" --ct-path "$OUT/stage7" > "$OUT/select.log"
tail -4 "$OUT/select.log"
[ -f "$OUT/select-current/summary.json" ] || $OSC seg3d evaluate "$FUSED" "$PREV/select" \
  --out "$OUT/select-current" > /dev/null
$PY - "$OUT" <<'EOF'
import json, sys
out = sys.argv[1]
new = json.load(open(f"{out}/fused/selection.json"))["best"]["criterion"]
s = json.load(open(f"{out}/select-current/summary.json"))
cur = s["dice_lesion"]["value"] + s["froc"]["sens@1.5"]
print(f"profile_7 criterion: new fused {new:.3f}, current fused {cur:.3f} -> "
      f"{'new fused card chosen' if new > cur else 'current fused card stays'}")
EOF
$PY -m benchmarks.seg3d_found_by_kind "$OUT/found_profile7.json" "$PREV/select" \
  new="$OUT/fused" current="$FUSED"
# 4. profile_9 once, both fused cards, same code
[ -f "$OUT/test-new/summary.json" ] || $OSC seg3d evaluate "$OUT/fused" "$PREV/test" --out "$OUT/test-new"
[ -f "$OUT/test-current/summary.json" ] || $OSC seg3d evaluate "$FUSED" "$PREV/test" --out "$OUT/test-current"
$PY -m benchmarks.seg3d_heldout "$OUT/heldout.json" new="$OUT/test-new" \
  current="$OUT/test-current" paired=new,current
$PY -m benchmarks.seg3d_found_by_kind "$OUT/found_profile9.json" "$PREV/test" \
  new="$OUT/fused" current="$FUSED"
# 5. a reading after the scoring: which cut keeps or removes the missed lytic lesions
for P in select test; do
  $PY -m benchmarks.seg3d_ct_path_reach "$OUT/reach-$P.json" "$OUT/fused" "$PREV/$P" > /dev/null
done
