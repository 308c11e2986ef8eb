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

`--hidden 10,10` (two or more hidden layers, `--activation relu|tanh`) benchmarks the deep evaluator
(ingest.deep.DeepKernel) the same way: all 2^N masks of every hidden unit, against the study's
per-mask forward + backward (extrapolated) and a naive eager baseline that runs the masked network
batched over blocks of 1,024 masks and gets the gradients by autograd (torch's own threads). That
baseline takes ~15 minutes for 2^20 masks, so by default it runs --naive-masks 65,536 of them (whole
blocks spread over the range; a block's work does not depend on its masks) and its time is
extrapolated, labelled as such; --naive-masks 0 runs them all. The network is a Glorot-initialised
MLP trained briefly with the study's optimiser. The load average is printed: the machine may be shared.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from ingest import config as cfg
from ingest import network, points
from ingest.deep import MAX_DEPTH, DeepKernel
from ingest.errors import Parser, UserError
from ingest.kernel import MaskKernel, logit_terms, mask_bits

CHUNK = 1 << 18  # masks per evaluate_range call: bounds the output buffers whatever N
NAIVE_BLOCK = 8_192  # the warehouse spine's block size
MAX_HIDDEN = 24  # 2^24 masks: ~10 s of kernel, a few minutes of naive baseline
DEEP_NAIVE_BLOCK = 1_024  # masks per batched forward + backward of the deep naive baseline (~0.4 GB)



def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m ingest.bench",
                description="Time the exhaustive mask kernel against the study's per-mask way and a "
                            "naive vectorised baseline.")
    p.add_argument("--hidden", type=layer_sizes, default=[20],
                   help="hidden layer sizes, e.g. 20 (one layer) or 10,10 (two; up to 4); all 2^N "
                        "masks of the N hidden units (default: 20)")
    p.add_argument("--activation", choices=("relu", "tanh"), default="relu",
                   help="hidden activation of a multi-layer network (default: relu)")
    p.add_argument("--test-points", type=int, default=1000, help="test points (default: 1000)")
    p.add_argument("--masks", type=int, default=300,
                   help="masks timed the study's way, then extrapolated to 2^N (default: 300)")
    p.add_argument("--naive-masks", type=int, default=1 << 16,
                   help="multi-layer mode: masks the naive baseline runs (whole blocks spread over all "
                        "masks), its time extrapolated to 2^N; 0 = all masks (default: 65536)")
    p.add_argument("--epochs", type=int, default=2,
                   help="training epochs of the benchmarked network; 0 = random weights (default: 2)")
    p.add_argument("--train-points", type=int, default=2000, help="training points (default: 2000)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default: 0)")
    p.add_argument("--device", default="cpu", help="torch device for the kernel and the naive baseline")
    return p


def layer_sizes(text: str) -> list[int]:
    """'20' or '10,10': positive layer sizes (argparse turns a ValueError into a one-line error)."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"wants sizes like 20 or 10,10, got {text!r}") from None
    return sizes


def check(args) -> None:
    sizes = args.hidden
    if len(sizes) > MAX_DEPTH or min(sizes) < 1 or not 1 <= sum(sizes) <= MAX_HIDDEN:
        raise UserError(f"--hidden wants 1 … {MAX_DEPTH} positive layer sizes with at most {MAX_HIDDEN} "
                        f"units in all, got {','.join(map(str, sizes))}")
    if len(sizes) == 1:
        if args.activation != "relu":
            raise UserError("--activation tanh needs two or more hidden layers (the one-layer kernel is relu)")
        args.hidden = sizes[0]  # the one-layer benchmark, as it always was
    for name in ("test_points", "masks", "train_points"):
        if getattr(args, name) <= 0:
            raise UserError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.epochs < 0 or args.seed < 0 or args.naive_masks < 0:
        raise UserError("--epochs, --seed and --naive-masks must be non-negative")
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


def figures(total: int, masks: int, setup: float, kernel: tuple[float, float], n_wall: float, p_wall: float,
            diff_naive: float, diff_per_mask: float) -> dict:
    """The timing figures and ratios both benchmarks report: the kernel's wall and CPU seconds on all
    `total` masks, the naive baseline's seconds for all of them, the per-mask way's on `masks`."""
    k_wall, k_cpu = kernel
    per_mask_rate = masks / p_wall
    return {
        "kernel_seconds": round(k_wall, 4), "kernel_masks_per_s": round(total / k_wall),
        "kernel_cpu_cores_busy": round(k_cpu / k_wall, 2), "kernel_setup_seconds": round(setup, 3),
        "naive_seconds": round(n_wall, 4), "naive_masks_per_s": round(total / n_wall),
        "naive_threads": torch.get_num_threads(),
        "per_mask_masks": masks, "per_mask_seconds": round(p_wall, 4),
        "per_mask_masks_per_s": round(per_mask_rate, 1),
        "per_mask_extrapolated_seconds": round(total / per_mask_rate, 1),
        "speedup_vs_naive": round(n_wall / k_wall, 2),
        "speedup_vs_per_mask": round(total / per_mask_rate / k_wall, 1),
        "max_rel_diff_vs_naive": diff_naive, "max_rel_diff_vs_per_mask": diff_per_mask,
    }


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

    return {
        "hidden": args.hidden, "test_points": args.test_points, "masks": total,
        "device": str(kernel.device), "backend": kernel.backend, "workers": kernel.workers,
        **figures(total, args.masks, setup, (k_wall, k_cpu), n_wall, p_wall,
                  rel_diff(k_loss, k_grad, n_loss, n_grad), rel_diff(s_loss, s_grad, p_loss, p_grad)),
        "rss_before_kernel_mb": round(before_rss, 1), "kernel_peak_rss_mb": round(kernel_rss, 1),
        "peak_rss_mb": round(rss_mb(), 1),
    }


def report(r: dict) -> None:
    n = r["masks"]
    if "layer_sizes" in r:
        print(f"Knockout benchmark: 2→{'→'.join(map(str, r['layer_sizes']))}→2 {r['activation']} network "
              f"(the deep evaluator), N = {r['hidden']} hidden units, {r['test_points']:,} test points, "
              f"all {n:,} masks, loss + {r['hidden']} gradients each; load average "
              f"{', '.join(map(str, r['load_average_before']))} before the kernel, "
              f"{', '.join(map(str, r['load_average']))} at the end")
    else:
        print(f"Knockout benchmark: N = {r['hidden']} hidden nodes, {r['test_points']:,} test points, "
              f"all {n:,} masks, loss + {r['hidden']} gradients each")
    print(f"kernel backend: {r['backend']} on {r['device']}, {r['workers']} worker thread(s); "
          f"setup (tables, compile, first block) {r['kernel_setup_seconds']:.2f} s, not timed below\n")
    rows = [
        ("kernel (exhaustive)", n, r["kernel_seconds"], r["kernel_masks_per_s"], "1×"),
        *([(f"naive batched fwd+autograd ({r['naive_threads']} thr)", r["naive_masks_timed"],
            r["naive_timed_seconds"], r["naive_masks_per_s"], "")] if r.get("naive_extrapolated") else []),
        (f"naive eager torch ({r['naive_threads']} threads)" if "layer_sizes" not in r else
         "  … extrapolated to all masks" if r.get("naive_extrapolated") else
         f"naive batched fwd+autograd ({r['naive_threads']} thr)", n, r["naive_seconds"],
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


# -- two or more hidden layers: the deep evaluator ------------------------------------------------
def deep_layers(net: torch.nn.Sequential) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in net if isinstance(m, torch.nn.Linear)]


def build_deep_network(args):
    """A Glorot/zero-bias MLP (the study's initialisation), trained briefly with the study's
    optimiser on the circle's training points; the study's test points."""
    config = cfg.build({"test_points": args.test_points, "train_points": args.train_points})
    x_test = points.test_points(config)
    y_test = points.label(x_test, config.label_rule)
    torch.manual_seed(args.seed)
    dims, mods = [2, *args.hidden, 2], []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        layer = torch.nn.Linear(fan_in, fan_out)
        torch.nn.init.xavier_uniform_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
        mods += [layer, torch.nn.ReLU() if args.activation == "relu" else torch.nn.Tanh()]
    net = torch.nn.Sequential(*mods[:-1])
    x_train = torch.as_tensor(points.train_points(config, args.seed), dtype=torch.float32)
    y_train = torch.as_tensor(points.label(x_train.numpy(), config.label_rule))
    opt = torch.optim.RMSprop(net.parameters(), lr=config.learning_rate, alpha=config.rho, eps=config.epsilon)
    generator = torch.Generator().manual_seed(args.seed)
    with network.one_thread():
        for _ in range(args.epochs):
            order = torch.randperm(len(x_train), generator=generator)
            for lo in range(0, len(order), config.batch_size):
                batch = order[lo:lo + config.batch_size]
                loss = F.cross_entropy(net(x_train[batch]), y_train[batch])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    for p in net.parameters():
        p.requires_grad_(False)
    return deep_layers(net), x_test, y_test


def masked_logits(layers, act, x: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
    """Logits of the masked network for a batch of masks: gates B × N (every hidden unit, layer by
    layer), x P × 2 → B × P × 2. Each unit's activation is multiplied by its gate."""
    h, at = x, 0
    for w, b in layers[:-1]:
        z = h @ torch.as_tensor(w).T + torch.as_tensor(b)
        h = (torch.relu(z) if act == "relu" else torch.tanh(z)) * gates[:, None, at:at + len(b)]
        at += len(b)
    w, b = layers[-1]
    return h @ torch.as_tensor(w).T + torch.as_tensor(b)


def run_deep_naive(layers, act, x, y, total: int, timed: int):
    """Naive eager baseline: blocks of masks, one batched forward pass and autograd back to the gates.
    Runs `timed` masks (whole blocks spread evenly over all masks; the work per block does not depend
    on the masks); returns seconds, the masks kept for the comparison, their losses and gradients."""
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.int64)
    hidden = sum(len(b) for _, b in layers[:-1])
    blocks = -(-total // DEEP_NAIVE_BLOCK)
    chosen = np.unique(np.linspace(0, blocks - 1, max(1, -(-timed // DEEP_NAIVE_BLOCK))).round().astype(np.int64))
    kept_masks, kept_loss, kept_grad = [], [], []
    wall = time.perf_counter()
    for block in chosen.tolist():
        lo = block * DEEP_NAIVE_BLOCK
        hi = min(lo + DEEP_NAIVE_BLOCK, total)
        gates = torch.as_tensor(mask_bits(np.arange(lo, hi), hidden)).requires_grad_()
        logits = masked_logits(layers, act, xt, gates)
        loss = F.cross_entropy(logits.reshape(-1, 2), yt.repeat(hi - lo), reduction="none").view(hi - lo, -1)
        loss = loss.mean(dim=1)
        loss.sum().backward()  # each mask's loss depends on its own gates only
        rows = np.arange(0, hi - lo, max(1, (hi - lo) // 16))
        kept_masks.append(lo + rows)
        kept_loss.append(loss.detach()[rows].numpy())
        kept_grad.append(gates.grad[rows].numpy())
    done = sum(min((b + 1) * DEEP_NAIVE_BLOCK, total) - b * DEEP_NAIVE_BLOCK for b in chosen.tolist())
    return (time.perf_counter() - wall, done, np.concatenate(kept_masks), np.concatenate(kept_loss),
            np.concatenate(kept_grad))


def run_deep_per_mask(layers, act, x, y, masks: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The study's way: one forward and one backward pass per mask."""
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.int64)
    bits = mask_bits(masks, sum(len(b) for _, b in layers[:-1]))
    loss_out = np.empty(len(masks), np.float32)
    grad_out = np.empty(bits.shape, np.float32)
    wall = time.perf_counter()
    with network.one_thread():
        for row, b in enumerate(bits):
            gates = torch.tensor(b[None], requires_grad=True)
            loss = F.cross_entropy(masked_logits(layers, act, xt, gates)[0], yt)
            loss.backward()
            loss_out[row] = loss.item()
            grad_out[row] = gates.grad[0].numpy()
    return time.perf_counter() - wall, loss_out, grad_out


def bench_deep(args) -> dict:
    if torch.device(args.device).type != "cpu":
        raise UserError("the deep evaluator runs on the CPU only: drop --device")
    sizes = args.hidden
    hidden = sum(sizes)
    total = 1 << hidden
    layers, x, y = build_deep_network(args)

    before_rss = rss_mb()
    load_before = os.getloadavg()  # the machine may be shared: what else was running
    setup = time.perf_counter()
    kernel = DeepKernel(layers, x, y, activation=args.activation)
    kernel.evaluate_range(0, min(total, 4096))  # first call: compile or load, threads
    setup = time.perf_counter() - setup
    k_wall, k_cpu, k_loss, k_grad = run_kernel(kernel, total)
    kernel_rss = rss_mb()

    sample = np.random.default_rng(args.seed).integers(0, total, args.masks)
    p_wall, p_loss, p_grad = run_deep_per_mask(layers, args.activation, x, y, sample)
    s_loss, s_grad = kernel.evaluate(sample)

    timed = total if args.naive_masks == 0 else min(args.naive_masks, total)
    n_part, n_done, n_masks, n_loss, n_grad = run_deep_naive(layers, args.activation, x, y, total, timed)
    n_wall = n_part * total / n_done
    k_loss, k_grad = kernel.evaluate(n_masks)  # the same numbers as in the exhaustive run

    return {
        "hidden": hidden, "layer_sizes": sizes, "activation": args.activation,
        "mask_layers": kernel.mask_layers, "test_points": args.test_points, "masks": total,
        "device": "cpu", "backend": kernel.backend, "workers": kernel.workers,
        **figures(total, args.masks, setup, (k_wall, k_cpu), n_wall, p_wall,
                  rel_diff(k_loss, k_grad, n_loss, n_grad), rel_diff(s_loss, s_grad, p_loss, p_grad)),
        "naive_masks_timed": n_done, "naive_timed_seconds": round(n_part, 4), "naive_extrapolated": n_done < total,
        "rss_before_kernel_mb": round(before_rss, 1), "kernel_peak_rss_mb": round(kernel_rss, 1),
        "peak_rss_mb": round(rss_mb(), 1), "load_average_before": [round(v, 2) for v in load_before],
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        check(args)
        result = bench(args) if isinstance(args.hidden, int) else bench_deep(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report(result)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
