"""DDP through torchrun: 2 CPU processes on gloo train one tiny model; only rank 0 writes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

SCRIPT = """
import runpy, sys, torch, torch.distributed as dist
from osteoscan.training import fit
from osteoscan.config.train import resolve_config
from osteoscan.training.trainer import train

helpers = runpy.run_path(sys.argv[1])
epochs = fit.Fit._epochs
def record(self, start):  # every rank dumps its replica's parameters after the last epoch
    result = epochs(self, start)
    total = sum(float(p.detach().double().sum()) for p in self.model.parameters())
    open(f"{sys.argv[2]}.rank{dist.get_rank()}.txt", "w").write(repr(total))
    return result
fit.Fit._epochs = record
cfg = resolve_config(helpers["TINY_CONFIG"], ["optim.batch_size=2"])
train(cfg, sys.argv[2], studies=helpers["synthetic_cohort"](16))
"""


def test_torchrun_two_cpu_processes(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(SCRIPT)
    conftest = Path(__file__).with_name("conftest.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(script), str(conftest), str(tmp_path / "run")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "run"
    assert pd.read_csv(run / "log.csv")["epoch"].tolist() == [1, 2]
    card = json.loads((run / "best" / "model.json").read_text())
    assert card["training"]["world_size"] == 2
    assert (run / "predictions_test.csv").is_file()
    sums = [float((tmp_path / f"run.rank{r}.txt").read_text()) for r in (0, 1)]
    assert sums[0] == sums[1]  # gradients were all-reduced: identical replicas
    # no stray temporary files from a second writer
    assert not list(run.rglob("*.tmp"))
