"""`python -m ingest.bench`: the exhaustive kernel beside the study's way and a naive vectorised one.

In one process and one go, on one network and one test set:
1. the project's kernel (ingest.kernel.MaskKernel) on all 2^N masks: loss + N gradients each;
2. the study's way, in torch: per mask one forward pass and one autograd backward pass to the mask
   (one thread, its fastest), on --masks masks, timed and extrapolated to 2^N (labelled as such);
3. a naive eager vectorised baseline on all 2^N masks: blocks of 8,192 masks,
   t = bits @ G + g0, softplus(t).mean, sigmoid(t) @ G.T (torch ops on torch's own threads, as the
   warehouse spine had it).
The network is trained briefly (--epochs on --train-points points, the study's optimiser) so its
logits have realistic sizes; --epochs 0 keeps the random Glorot weights. Timing does not depend on
the weights (unless logits reach ~87, where the kernel recomputes masks in float64). The three methods' numbers are compared, so the benchmark also checks the kernel.
Prints a table, then one JSON line with the figures.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from ingest import config as cfg
from ingest import network, points
from ingest.errors import UserError
from ingest.kernel import MaskKernel, logit_terms, mask_bits

CHUNK = 1 << 18  # masks per evaluate_range call: bounds the output buffers whatever N
NAIVE_BLOCK = 8_192  # the warehouse spine's block size
MAX_HIDDEN = 24  # 2^24 masks: ~10 s of kernel, a few minutes of naive baseline


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UserError(f"{message} (see --help)")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m ingest.bench",
                description="Time the exhaustive mask kernel against the study's per-mask way and a "
                            "naive vectorised baseline.")
    p.add_argument("--hidden", type=int, default=20, help="hidden nodes N; all 2^N masks (default: 20)")
    p.add_argument("--test-points", type=int, default=1000, help="test points (default: 1000)")
    p.add_argument("--masks", type=int, default=300,
                   help="masks timed the study's way, then extrapolated to 2^N (default: 300)")
    p.add_argument("--epochs", type=int, default=2,
                   help="training epochs of the benchmarked network; 0 = random weights (default: 2)")
    p.add_argument("--train-points", type=int, default=2000, help="training points (default: 2000)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default: 0)")
    p.add_argument("--device", default="cpu", help="torch device for the kernel and the naive baseline")
    return p


def check(args) -> None:
    if not 1 <= args.hidden <= MAX_HIDDEN:
        raise UserError(f"--hidden must lie in 1 … {MAX_HIDDEN}, got {args.hidden}")
    for name in ("test_points", "masks", "train_points"):
        if getattr(args, name) <= 0:
            raise UserError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.epochs < 0 or args.seed < 0:
        raise UserError("--epochs and --seed must be non-negative")
    try:
        torch.empty(0, device=args.device)
    except (RuntimeError, AssertionError) as exc:
        raise UserError(f"--device {args.device} is not usable here: {str(exc).splitlines()[0]}") from None


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def build_network(args):
    config = cfg.build({"hidden": args.hidden, "test_points": args.test_points,
                        "train_points": args.train_points, "epochs": max(args.epochs, 1)})
    x_test = points.test_points(config)
    y_test = points.label(x_test, config.label_rule)
    if args.epochs == 0:
        torch.manual_seed(args.seed)
        net = network.Network(args.hidden)
    else:
        x_train = points.train_points(config, args.seed)
        y_train = points.label(x_train, config.label_rule)
        net = network.train_many(config, [(x_train, y_train)], [args.seed])[0]
    return net, x_test, y_test


def run_kernel(kernel: MaskKernel, total: int) -> tuple[float, float, np.ndarray, np.ndarray]:
    """All masks, chunk by chunk; keeps a sparse sample of rows for the comparisons."""
    keep = np.arange(0, total, max(1, total // 4096))
    kept_loss, kept_grad = [], []
    wall, cpu = time.perf_counter(), time.process_time()
    for lo in range(0, total, CHUNK):
        hi = min(lo + CHUNK, total)
        loss, grad = kernel.evaluate_range(lo, hi)
        rows = keep[(keep >= lo) & (keep < hi)] - lo
        kept_loss.append(loss[rows])
        kept_grad.append(grad[rows])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, np.concatenate(kept_loss), np.concatenate(kept_grad)


def run_naive(net, x, y, total: int, device) -> tuple[float, np.ndarray, np.ndarray]:
    _, a, c = logit_terms(net, x)
    s = 2.0 * y.astype(np.float32) - 1.0
    G = torch.as_tensor((-s[:, None] * a).T.copy(), device=device)
    g0 = torch.as_tensor(-s * c, dtype=torch.float32, device=device)
    keep = np.arange(0, total, max(1, total // 4096))
    kept_loss, kept_grad = [], []
    wall = time.perf_counter()
    with torch.no_grad():
        for lo in range(0, total, NAIVE_BLOCK):
            hi = min(lo + NAIVE_BLOCK, total)
            bits = torch.as_tensor(mask_bits(np.arange(lo, hi), G.shape[0]), device=device)
            t = bits @ G + g0
            loss = F.softplus(t).mean(dim=1)
            grad = torch.sigmoid(t) @ G.T / G.shape[1]
            rows = keep[(keep >= lo) & (keep < hi)] - lo
            kept_loss.append(loss[rows].cpu().numpy())
            kept_grad.append(grad[rows].cpu().numpy())
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - wall, np.concatenate(kept_loss), np.concatenate(kept_grad)


def run_per_mask(net, x, y, masks: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The study's way: one forward and one backward pass per mask (model.evaluate + gradient)."""
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.int64)
    bits = mask_bits(masks, net.hidden.out_features)
    loss_out = np.empty(len(masks), np.float32)
    grad_out = np.empty(bits.shape, np.float32)
    wall = time.perf_counter()
    with network.one_thread():  # its fastest setting: each step is far too small to share out
        for row, b in enumerate(bits):
            mask = torch.tensor(b, requires_grad=True)
            loss = F.cross_entropy(net(xt, mask), yt)
            loss.backward()
            loss_out[row] = loss.item()
            grad_out[row] = mask.grad.numpy()
    return time.perf_counter() - wall, loss_out, grad_out


def rel_diff(a_loss, a_grad, b_loss, b_grad) -> float:
    """Largest difference, relative to the loss and to the largest gradient of the same mask."""
    loss = np.abs(a_loss - b_loss) / np.abs(b_loss)
    scale = np.maximum(np.abs(b_grad).max(axis=1, keepdims=True), 1e-30)
    return float(max(loss.max(), (np.abs(a_grad - b_grad) / scale).max()))


def bench(args) -> dict:
    total = 1 << args.hidden
    net, x, y = build_network(args)
    for p in net.parameters():
        p.requires_grad_(False)

    before_rss = rss_mb()
    setup = time.perf_counter()
    kernel = MaskKernel(net, x, y, device=args.device)
    kernel.evaluate_range(0, min(total, 4 * kernel.block))  # first call: buffers, threads
    setup = time.perf_counter() - setup
    k_wall, k_cpu, k_loss, k_grad = run_kernel(kernel, total)
    kernel_rss = rss_mb()

    sample = np.random.default_rng(args.seed).integers(0, total, args.masks)
    p_wall, p_loss, p_grad = run_per_mask(net, x, y, sample)
    s_loss, s_grad = kernel.evaluate(sample)

    n_wall, n_loss, n_grad = run_naive(net, x, y, total, args.device)

    per_mask_rate = args.masks / p_wall
    return {
        "hidden": args.hidden, "test_points": args.test_points, "masks": total,
        "device": str(kernel.device), "backend": kernel.backend, "workers": kernel.workers,
        "kernel_seconds": round(k_wall, 4), "kernel_masks_per_s": round(total / k_wall),
        "kernel_cpu_cores_busy": round(k_cpu / k_wall, 2), "kernel_setup_seconds": round(setup, 3),
        "naive_seconds": round(n_wall, 4), "naive_masks_per_s": round(total / n_wall),
        "naive_threads": torch.get_num_threads(),
        "per_mask_masks": args.masks, "per_mask_seconds": round(p_wall, 4),
        "per_mask_masks_per_s": round(per_mask_rate, 1),
        "per_mask_extrapolated_seconds": round(total / per_mask_rate, 1),
        "speedup_vs_naive": round(n_wall / k_wall, 2),
        "speedup_vs_per_mask": round(total / per_mask_rate / k_wall, 1),
        "max_rel_diff_vs_naive": rel_diff(k_loss, k_grad, n_loss, n_grad),
        "max_rel_diff_vs_per_mask": rel_diff(s_loss, s_grad, p_loss, p_grad),
        "rss_before_kernel_mb": round(before_rss, 1), "kernel_peak_rss_mb": round(kernel_rss, 1),
        "peak_rss_mb": round(rss_mb(), 1),
    }


def report(r: dict) -> None:
    n = r["masks"]
    print(f"Knockout benchmark: N = {r['hidden']} hidden nodes, {r['test_points']:,} test points, "
          f"all {n:,} masks, loss + {r['hidden']} gradients each")
    print(f"kernel backend: {r['backend']} on {r['device']}, {r['workers']} worker thread(s); "
          f"setup (tables, compile, first block) {r['kernel_setup_seconds']:.2f} s, not timed below\n")
    rows = [
        ("kernel (exhaustive)", n, r["kernel_seconds"], r["kernel_masks_per_s"], "1×"),
        (f"naive eager torch ({r['naive_threads']} threads)", n, r["naive_seconds"],
         r["naive_masks_per_s"], f"{r['speedup_vs_naive']:,.1f}×"),
        ("study's way: forward+backward per mask", r["per_mask_masks"], r["per_mask_seconds"],
         r["per_mask_masks_per_s"], ""),
        ("  … extrapolated to all masks", n, r["per_mask_extrapolated_seconds"],
         r["per_mask_masks_per_s"], f"{r['speedup_vs_per_mask']:,.0f}×"),
    ]
    print(f"{'method':<40} {'masks':>10} {'seconds':>10} {'masks/s':>11} {'kernel is':>10}")
    for name, masks, sec, rate, speed in rows:
        print(f"{name:<40} {masks:>10,} {sec:>10,.2f} {rate:>11,.0f} {speed:>10}")
    print(f"\nkernel: {r['kernel_cpu_cores_busy']:.2f} cores busy on average; peak RSS "
          f"{r['rss_before_kernel_mb']:,.0f} MB before it, {r['kernel_peak_rss_mb']:,.0f} MB after it, "
          f"{r['peak_rss_mb']:,.0f} MB for the whole run (the naive baseline's big blocks)")
    print(f"agreement (max relative difference, loss and gradients): vs naive "
          f"{r['max_rel_diff_vs_naive']:.1e}, vs per-mask autograd {r['max_rel_diff_vs_per_mask']:.1e}")


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        check(args)
        result = bench(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report(result)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
