#!/usr/bin/python3
"""Train LeNet-5 (lenet5.net) on Fashion-MNIST and save lenet5.safetensors.

    /usr/bin/python3 examples/fashion-mnist/train.py [--epochs 20] [--seed 1]
        [--batch 64] [--lr 1e-3] [--threads 2] [--no-flip]
        [--out examples/fashion-mnist/lenet5.safetensors]

Reads the gzipped IDX files in /usr/share/datasets/fashion-mnist directly.
The input is the raw pixel / 255 and nothing else: no mean/std normalization,
because c1 zero-pads its input and a normalization could not be folded into
its weights exactly.

Recipe: Adam (lr 1e-3), batch 64, learning rate decayed per step along a
cosine to 0 over all epochs, random horizontal flips (p = 0.5) as the only
augmentation.  Fixed seed, a private torch.Generator for shuffling and
flipping, torch.use_deterministic_algorithms(True), 2 threads: the same
command gives the same weights on the same machine and torch build.

No model selection on the test set: the weights saved are those after the
last epoch, whatever the per-epoch test accuracies printed along the way.
The file's __metadata__ records the seed, epochs, recipe, final test
accuracy and torch version.
"""

import argparse
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    loss = 0.0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            out = model(x[i:i + batch])
            loss += F.cross_entropy(out, y[i:i + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[i:i + batch]).sum().item()
    return loss / x.shape[0], correct / x.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    ap.add_argument("--out", default=os.path.join(fmnist.HERE, "lenet5.safetensors"))
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    t0 = time.time()
    xtr, ytr = fmnist.load_split("train")
    xte, yte = fmnist.load_split("t10k")
    print("data: train %s, test %s (%.1fs)" % (tuple(xtr.shape), tuple(xte.shape), time.time() - t0))

    model = fmnist.build_lenet5()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    n = xtr.shape[0]
    steps_per_epoch = math.ceil(n / args.batch)
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total) / total)))

    acc = 0.0
    for epoch in range(1, args.epochs + 1):
        te = time.time()
        model.train()
        perm = torch.randperm(n, generator=gen)
        run_loss = 0.0
        run_correct = 0
        for i in range(0, n, args.batch):
            idx = perm[i:i + args.batch]
            xb = xtr[idx]
            yb = ytr[idx]
            if not args.no_flip:
                flip = torch.rand(xb.shape[0], generator=gen) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            run_loss += loss.item() * xb.shape[0]
            run_correct += (out.argmax(1) == yb).sum().item()
        test_loss, acc = evaluate(model, xte, yte)
        print("epoch %2d/%d  lr %.2e  train loss %.4f acc %.4f  test loss %.4f acc %.4f  (%.1fs)"
              % (epoch, args.epochs, opt.param_groups[0]["lr"], run_loss / n, run_correct / n,
                 test_loss, acc, time.time() - te), flush=True)

    elapsed = time.time() - t0
    meta = {
        "network": "lenet5",
        "dataset": "Fashion-MNIST",
        "input": "pixel/255, no normalization",
        "seed": args.seed,
        "epochs": args.epochs,
        "batch": args.batch,
        "optimizer": "Adam lr=%g, cosine decay per step to 0" % args.lr,
        "augmentation": "none" if args.no_flip else "random horizontal flip p=0.5",
        "test_accuracy": "%.4f" % acc,
        "torch_version": torch.__version__,
        "generator": "examples/fashion-mnist/train.py",
    }
    fmnist.export_safetensors.save_state_dict(model.state_dict(), args.out, meta)
    print("final test accuracy %.4f (%d/%d); trained in %.0fs; wrote %s"
          % (acc, round(acc * xte.shape[0]), xte.shape[0], elapsed, args.out))


if __name__ == "__main__":
    main()
