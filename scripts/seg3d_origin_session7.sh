#!/usr/bin/env bash
# Origin study of session 7 (docs/seg3d.md "Origin: ceiling and features (session 7)").
# Usage (from the repository root): scripts/seg3d_origin_session7.sh STEP
#   dump:    run stage 5 once over the training, selection and test cohorts (model-grid
#            outputs under $OUT/dump; about 8 s per study on the shared 2-core machine)
#   ceiling: the training-cohort oracles (truth and measured true instances)
#   choose:  the candidates' patient-level CV on the training cohort + profile_7
#   test:    profile_9, once (the candidates fitted on the training cohort vs the card)
#   refit:   a copy of stage 5 with the chosen origin model ($KIND) fitted by the toolkit's
#            fit_origin on the training cohort (the network runs over the 120 studies again)
set -euo pipefail
STEP=${1:?usage: scripts/seg3d_origin_session7.sh dump|ceiling|choose|test|refit}
RUN=${RUN:-/tmp/seg3d6/exp/stage5-sel}     # the chosen 3-D model (read only)
DATA=${DATA:-/tmp/seg3d-long/exp}          # train / select / test cohorts (read only)
OUT=${OUT:-/tmp/origin3d}
KIND=${KIND:-patient}
PY=${PY:-python}
RES=benchmarks/results
export OMP_NUM_THREADS=1
case "$STEP" in
  dump) nice -n 10 $PY -m benchmarks.seg3d_origin_dump "$RUN" "$OUT/dump" \
          train="$DATA/train" select="$DATA/select" test="$DATA/test" ;;
  ceiling) nice -n 10 $PY -m benchmarks.seg3d_origin_ceiling "$OUT/dump/train" \
             "$RES/seg3d_origin_ceiling.json" measured ;;
  choose) nice -n 10 $PY -m benchmarks.seg3d_origin_candidates "$RUN" "$OUT/dump" cv,select \
            "$RES/seg3d_origin_candidates.json" ;;
  test) nice -n 10 $PY -m benchmarks.seg3d_origin_candidates "$RUN" "$OUT/dump" test \
          "$RES/seg3d_origin_test.json" ;;
  refit) mkdir -p "$OUT/stage5-origin"
         cp "$RUN/model.json" "$RUN/model.safetensors" "$OUT/stage5-origin/"
         nice -n 10 $PY - "$OUT/stage5-origin" "$DATA/train" "$KIND" <<'PYEOF'
import sys
import torch
from osteoscan.volumetric.training import fit_origin
from osteoscan.workflows.seg3d import read_cases
torch.set_num_threads(1)
print(fit_origin(sys.argv[1], read_cases(sys.argv[2]), origin_model=sys.argv[3]))
PYEOF
         ;;
  *) echo "unknown step $STEP" >&2; exit 2 ;;
esac
