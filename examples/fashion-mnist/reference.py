#!/usr/bin/python3
"""PyTorch reference outputs of LeNet-5 (lenet5.safetensors) on an IDX images file.

    /usr/bin/python3 examples/fashion-mnist/reference.py IMAGES --logits OUT.f32
        [--pred OUT.txt] [--labels LABELS] [--weights lenet5.safetensors]

IMAGES is an IDX file of N x 28 x 28 unsigned bytes, gzipped or not.  The
input fed to the network is pixel / 255 (float32), exactly as demo.c does.

Outputs:
  OUT.f32       the logits: float32 little-endian, N rows of 10, no header
                (the same format as demo.c --logits).
  OUT.f32.json  a sidecar stamping the generator: script, torch version,
                weights file and its SHA-256, images file, N, accuracy.
  OUT.txt       (--pred) the predicted class of each image, one per line.

Labels: --labels LABELS, or else the file named like IMAGES with
"images-idx3" replaced by "labels-idx1" if it exists.  With labels, the
accuracy is printed (and recorded in the sidecar); without, it is skipped.

Deterministic: one thread, fixed batches of 1000, no randomness.
"""

import argparse
import hashlib
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_model(path):
    model = fmnist.build_lenet5()
    sd = fmnist.export_safetensors.load_safetensors(path)
    want = set(model.state_dict())
    if set(sd) != want:
        raise SystemExit("%s: tensors %s do not match the model's %s"
                         % (path, sorted(sd), sorted(want)))
    model.load_state_dict({k: v.float() for k, v in sd.items()})
    return model.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("images", help="IDX images file (gz or not)")
    ap.add_argument("--logits", required=True, help="output: float32 LE logits, N x 10")
    ap.add_argument("--pred", help="output: predicted class per line")
    ap.add_argument("--labels", help="IDX labels file (default: guessed from IMAGES)")
    ap.add_argument("--weights", default=os.path.join(fmnist.HERE, "lenet5.safetensors"))
    args = ap.parse_args()

    torch.set_num_threads(1)

    images = fmnist.read_idx(args.images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise SystemExit("%s: expected N x 28 x 28 images, got %s" % (args.images, images.shape))
    labels_path = args.labels
    if labels_path is None:
        guess = os.path.join(os.path.dirname(args.images),
                             os.path.basename(args.images).replace("images-idx3", "labels-idx1"))
        if guess != args.images and os.path.exists(guess):
            labels_path = guess
    labels = None
    if labels_path:
        labels = fmnist.read_idx(labels_path)
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise SystemExit("%s: %s labels for %d images"
                             % (labels_path, labels.shape, images.shape[0]))

    model = load_model(args.weights)
    x = fmnist.images_to_tensor(images)
    outs = []
    with torch.no_grad():
        for i in range(0, x.shape[0], 1000):
            outs.append(model(x[i:i + 1000]))
    logits = torch.cat(outs).numpy().astype("<f4")
    pred = logits.argmax(1)

    with open(args.logits, "wb") as f:
        f.write(logits.tobytes())
    if args.pred:
        with open(args.pred, "w") as f:
            f.write("".join("%d\n" % p for p in pred))

    acc = None
    if labels is not None:
        correct = int((pred == labels).sum())
        acc = correct / len(labels)
        print("accuracy %.4f (%d/%d)" % (acc, correct, len(labels)))
    else:
        print("%d images, no labels: accuracy not computed" % len(pred))

    side = {
        "generator": os.path.basename(__file__),
        "torch_version": torch.__version__,
        "weights": os.path.basename(args.weights),
        "weights_sha256": sha256(args.weights),
        "images": os.path.basename(args.images),
        "labels": os.path.basename(labels_path) if labels_path else None,
        "count": int(len(pred)),
        "logits_format": "float32 little-endian, %d rows of 10, no header" % len(pred),
        "input": "pixel/255",
        "accuracy": acc,
    }
    with open(args.logits + ".json", "w") as f:
        json.dump(side, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
