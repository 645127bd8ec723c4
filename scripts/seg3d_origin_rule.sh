#!/usr/bin/env bash
# Which instances the patient's origin averages (docs/seg3d.md "Origin over the mask"): the
# fourth run's mask-only-cut checkpoints scored on the 16 profile_7 selection scans with
# `--origin all` (every metastatic candidate, the earlier rule) and `--origin mask` (those
# kept in the mask; every one when none is), with a paired DeLong test; the chosen rule is
# then scored once on the 24 profile_9 test scans (stage 3). About 2 min per evaluation of
# 16 scans on the shared 2-core machine.
# Usage (from the repository root): scripts/seg3d_origin_rule.sh RUN OUT
#   RUN: the fourth run's folder (scripts/seg3d_fourth_run.sh RUN), read only; its mask-only
#   selections are RUN/stageN-$SEL (SEL=sel from that script; /tmp/seg3d-long/exp names them
#   stageN-selcut: SEL=selcut).
set -euo pipefail
RUN=${1:?usage: scripts/seg3d_origin_rule.sh RUN OUT}
OUT=${2:?usage: scripts/seg3d_origin_rule.sh RUN OUT}
export OMP_NUM_THREADS=1
OSC=${OSC:-osteoscan}
PY=${PY:-python}
SEL=${SEL:-sel}
for STAGE in stage3 stage2; do
  for RULE in all mask; do
    [ -f "$OUT/sel-$STAGE-$RULE/summary.json" ] || $OSC seg3d evaluate "$RUN/$STAGE-$SEL" \
      "$RUN/select" --out "$OUT/sel-$STAGE-$RULE" --origin "$RULE"
  done
  $PY - "$OUT/sel-$STAGE-mask/scans.csv" "$OUT/sel-$STAGE-all/scans.csv" <<'PYEOF'
import sys
import numpy as np
import pandas as pd
from osteoscan.evaluation.statistics import delong_roc_test
a, b = (pd.read_csv(p) for p in sys.argv[1:3])
m = a.merge(b, on="case_id", suffixes=("_a", "_b"))
m = m[m.primary_a.isin(["lung", "other"])]
y = (m.primary_a == "lung").to_numpy()
sa, sb = (np.where(np.isfinite(m[c]), m[c], 0.5) for c in ("origin_p_lung_a", "origin_p_lung_b"))
r = delong_roc_test(y, sa, sb)
print(sys.argv[1], "mask vs all:", {k: round(float(v), 3) for k, v in r.items()}, "n", len(y))
PYEOF
done
# only after the choice on profile_7: the chosen rule on profile_9 (stage 3)
$OSC seg3d evaluate "$RUN/stage3-$SEL" "$RUN/test" --out "$OUT/test-stage3-mask" --origin mask
