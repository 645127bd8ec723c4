"""Preprocessing and model-zoo costs, as ratios measured within one run.

Writes ``benchmarks/results/models.json``. Times are CPU seconds of this process
(``time.process_time``) with one numpy/torch thread, so other jobs on a shared machine
slow the wall clock but not the figures; every figure is a ratio to a baseline timed in
the same run, alternating rounds.

1. ``pipeline``: per-study preprocessing (eval and with augmentation) at 384x96 (the
   reference config), 512x128 and native 1024x256 on a simulated study, in ms, over the
   resnet18 training step per image it feeds
   (forward + backward, batch 4, same size) and, at 512x128, over a naive baseline
   (``scipy.ndimage.zoom`` of both views + min-max scaling, no alignment or statistics);
2. ``kernels``: the hand-written pieces against the library call they replace
   (strided block means vs ``reshape().mean()``, separable alignment resampling vs
   ``ndimage.affine_transform``, area resampling vs Gaussian pre-filter + ``ndimage.zoom``,
   thinning on 2x2 block sums vs on native pixels);
3. ``models``: forward + backward per image (batch 4, 512x128, 2 channels) of full-size
   registry models over resnet18, plus parameter counts. ``--all`` adds the large ones
   (vit_large_patch16, convnext_large, swin_base, deit_base, vgg16, convnextv2_base).

Run: ``.venv/bin/python -m benchmarks.bench_models [--rounds 5] [--all]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

RESULTS = Path(__file__).parent / "results"
DEFAULT_MODELS = (
    "resnet18",
    "inrac18",
    "outrac18",
    "inrac18_noattn",
    "efficientnet_lite0",
    "convnextv2_atto",
    "convnextv2_nano",
    "inception_v1",
    "densenet169",
    "vgg11",
)
LARGE_MODELS = (
    "deit_base",
    "swin_base",
    "convnextv2_base",
    "vgg16",
    "convnext_large",
    "vit_large_patch16",
)


def cpu_ms(fn, reps: int) -> float:
    """Mean CPU milliseconds of ``fn()`` over ``reps`` calls (after one warm-up call)."""
    fn()
    t0 = time.process_time()
    for _ in range(reps):
        fn()
    return 1e3 * (time.process_time() - t0) / reps


def paired(fn, base, reps: int, rounds: int) -> dict:
    """Alternate ``fn`` and ``base`` for ``rounds`` rounds; medians and their ratio."""
    a, b = [], []
    for _ in range(rounds):
        a.append(cpu_ms(fn, reps))
        b.append(cpu_ms(base, reps))
    ma, mb = statistics.median(a), statistics.median(b)
    return {"ms": round(ma, 3), "baseline_ms": round(mb, 3), "ratio": round(ma / mb, 3)}


def naive(scan, size):
    """The baseline: zoom both views to size, min-max scale, no alignment or statistics."""
    h, w = scan.shape
    out = np.stack(
        [
            ndimage.zoom(v, (size[0] / h, size[1] / w), order=1)
            for v in (scan.anterior, scan.posterior)
        ]
    )
    return (out - out.min()) / (out.max() - out.min() + 1e-6)


def _resnet18_step_per_image(size: tuple[int, int]):
    """A callable: one resnet18 forward + backward on a batch of 4, returning nothing."""
    import torch

    from osteoscan.models import create_model

    torch.set_num_threads(1)
    model = create_model("resnet18", in_chans=2, img_size=size)
    x = torch.randn(4, 2, *size)

    def run():
        model.zero_grad(set_to_none=True)
        model(x).logsumexp(1).sum().backward()

    return run


def bench_pipeline(rounds: int) -> dict:
    from osteoscan.preprocessing import AugmentConfig, PreprocessConfig, build_pipeline
    from osteoscan.simulate import simulate_study

    scan = simulate_study(3, force_label="metastasis").scan
    rng = np.random.default_rng(0)
    out = {
        "study": {"shape": list(scan.shape), "total_counts": list(scan.acquisition.total_counts)}
    }
    for size in ((384, 96), (512, 128), (1024, 256)):
        step = _resnet18_step_per_image(size)
        step_ms = statistics.median(cpu_ms(step, 1) for _ in range(rounds)) / 4
        out[f"resnet18_train_step_ms_per_image_{size[0]}x{size[1]}"] = round(step_ms, 2)
        for views in ("stack", "aggregate"):
            pre = PreprocessConfig(views=views, size=size)
            ev, tr = build_pipeline(pre), build_pipeline(pre, AugmentConfig())
            key = f"{views}_{size[0]}x{size[1]}"
            runs = (
                ("eval", lambda ev=ev: ev(scan, None)),
                ("augment", lambda tr=tr: tr(scan, rng)),
            )
            for mode, fn in runs:
                res = paired(fn, lambda size=size: naive(scan, size), 10, rounds)
                if size == (1024, 256):  # zoom by 1.0 is a copy: no meaningful naive baseline
                    res = {"ms": res["ms"]}
                res["over_resnet18_step"] = round(res["ms"] / step_ms, 4)
                out[f"{key}_{mode}"] = res
    return out


def bench_kernels(rounds: int) -> dict:
    from osteoscan.preprocessing.augment import thin_counts
    from osteoscan.preprocessing.intensity import block_mean, resample
    from osteoscan.preprocessing.views import scale_shift

    rng = np.random.default_rng(0)
    img = rng.poisson(3.0, (2, 1024, 256)).astype(np.float32)
    one = img[0]
    return {
        "block_mean_vs_reshape_mean": paired(
            lambda: block_mean(img, 2, 2),
            lambda: img.reshape(2, 512, 2, 128, 2).mean(axis=(2, 4)),
            20,
            rounds,
        ),
        "scale_shift_vs_affine_transform": paired(
            lambda: scale_shift(one, (0.97, 1.02), (4.0, -3.0)),
            lambda: ndimage.affine_transform(one, (0.97, 1.02), offset=(4.0, -3.0), order=1),
            10,
            rounds,
        ),
        "area_resample_384x96_vs_gaussian_zoom": paired(
            lambda: resample(img, (384, 96)),
            lambda: ndimage.zoom(
                ndimage.gaussian_filter(img, (0, 0.83, 0.83)), (1, 0.375, 0.375), order=1
            ),
            10,
            rounds,
        ),
        "thin_block_sums_vs_native": paired(
            lambda: thin_counts(block_mean(img, 2, 2) * 4, 0.5, rng) / 4,
            lambda: block_mean(thin_counts(img, 0.5, rng), 2, 2),
            5,
            rounds,
        ),
    }


def bench_models(names: tuple[str, ...], rounds: int) -> dict:
    import torch

    from osteoscan.models import create_model

    torch.set_num_threads(1)
    x = torch.randn(4, 2, 512, 128)

    def step(model):
        def run():
            model.zero_grad(set_to_none=True)
            model(x).logsumexp(1).sum().backward()

        return run

    base = create_model("resnet18", in_chans=2, img_size=(512, 128))
    out = {}
    for name in names:
        model = create_model(name, in_chans=2, img_size=(512, 128))
        res = paired(step(model), step(base), 1, rounds)
        res["ms_per_image"] = round(res["ms"] / 4, 1)
        res["params_M"] = round(sum(p.numel() for p in model.parameters()) / 1e6, 2)
        out[name] = res
        del model
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--all", action="store_true", help="also time the large models")
    parser.add_argument(
        "--skip-models",
        action="store_true",
        help="preprocessing only (keeps the model timings already in the JSON)",
    )
    args = parser.parse_args()
    result = {
        "machine": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "timer": "process_time, 1 thread",
        "pipeline": bench_pipeline(args.rounds),
        "kernels": bench_kernels(args.rounds),
    }
    path = RESULTS / "models.json"
    if not args.skip_models:
        names = DEFAULT_MODELS + (LARGE_MODELS if args.all else ())
        result["models"] = bench_models(names, max(2, args.rounds // 2))
    elif path.is_file():  # keep the model timings of the last full run
        result["models"] = json.loads(path.read_text()).get("models", {})
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, path)
    print(json.dumps(result, indent=2))  # a script, not library code: the JSON is its output


if __name__ == "__main__":
    main()
