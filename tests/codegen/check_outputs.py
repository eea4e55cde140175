#!/usr/bin/env python3
"""cnnc -o: weights-file errors through the command line, and output files
that appear whole or not at all.

Every failing case must exit 1 with the expected message, leave an existing
NAME.c / NAME.h byte-identical, and leave no other file behind in the output
folder.  Weights files are written here with a minimal safetensors writer.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

NET = """network tiny
input 2x5x5
conv c1 out=3 kernel=3
batchnorm bn
relu
flatten
linear fc out=4
"""

SPECS = {  # name: shape, as the .net above expects them
    "c1.weight": [3, 2, 3, 3], "c1.bias": [3],
    "bn.weight": [3], "bn.bias": [3], "bn.running_mean": [3], "bn.running_var": [3],
    "fc.weight": [4, 27], "fc.bias": [4],
}

DTYPES = {"F32": ("<f", 4), "F64": ("<d", 8), "I32": ("<i", 4), "I64": ("<q", 8)}


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def f16_bytes(values):
    return b"".join(struct.pack("<e", v) for v in values)


def bf16_bytes(values):
    return b"".join(struct.pack("<f", v)[2:] for v in values)


def tensor_bytes(dtype, values):
    if dtype == "F16":
        return f16_bytes(values)
    if dtype == "BF16":
        return bf16_bytes(values)
    fmt, _ = DTYPES[dtype]
    if dtype.startswith("I"):
        values = [int(v) for v in values]
    return b"".join(struct.pack(fmt, v) for v in values)


def safetensors(tensors, header_patch=None, cut=0):
    """tensors: list of (name, dtype, shape, values)."""
    header, data = {}, b""
    for name, dtype, shape, values in tensors:
        raw = tensor_bytes(dtype, values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if header_patch:
        header_patch(header)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    blob = struct.pack("<Q", len(h)) + h + data
    return blob[:len(blob) - cut] if cut else blob


def good_tensors(dtype="F32", skip=(), extra=()):
    out = []
    for k, (name, shape) in enumerate(SPECS.items()):
        if name in skip:
            continue
        vals = [((i * 7 + k) % 11 - 5) / 16.0 for i in range(numel(shape))]
        if name == "bn.running_var":
            vals = [0.5 + v * v for v in vals]
        out.append((name, dtype, shape, vals))
    return out + list(extra)


def cases():
    ok = lambda blob, msg=None: (blob, 0, msg)
    bad = lambda blob, msg: (blob, 1, msg)
    yield "good_f32", ok(safetensors(good_tensors()))
    yield "good_f16", ok(safetensors(good_tensors("F16")))
    yield "good_bf16", ok(safetensors(good_tensors("BF16")))
    yield "good_f64", ok(safetensors(good_tensors("F64")))
    yield "num_batches_tracked", ok(safetensors(good_tensors(extra=[("bn.num_batches_tracked", "I64", [], [7])])))
    yield "unused_tensor", ok(safetensors(good_tensors(extra=[("extra.weight", "F32", [2], [1, 2])])),
                              "warning: tensor 'extra.weight' is not used by any layer")
    yield "missing", bad(safetensors(good_tensors(skip=("fc.bias",))),
                         "error: tensor 'fc.bias' [4] is missing; linear 'fc'")
    yield "missing_two", bad(safetensors(good_tensors(skip=("c1.weight", "bn.running_var"))),
                             "error: tensor 'bn.running_var' [3] is missing; batchnorm 'bn'")
    prefixed = [("model." + n, d, s, v) for n, d, s, v in good_tensors()]
    yield "prefixed_names", bad(safetensors(prefixed), "note: 'model.c1.weight' has that name after a prefix")
    wrong = [(n, d, [3, 2, 3, 2] if n == "c1.weight" else s, v[:36] if n == "c1.weight" else v)
             for n, d, s, v in good_tensors()]
    yield "wrong_shape", bad(safetensors(wrong), "error: tensor 'c1.weight' has shape [3, 2, 3, 2], but conv 'c1'")
    ints = [(n, "I32" if n == "fc.weight" else d, s, v) for n, d, s, v in good_tensors()]
    yield "int_dtype", bad(safetensors(ints), "error: tensor 'fc.weight' has dtype I32; cnnc reads F32, F16, BF16 and F64")
    nan = [(n, d, s, [float("nan") if (n == "c1.bias" and i == 2) else x for i, x in enumerate(v)])
           for n, d, s, v in good_tensors()]
    yield "nan", bad(safetensors(nan), "error: tensor 'c1.bias': element 2")
    inf = [(n, d, s, [float("-inf") if (n == "fc.weight" and i == 30) else x for i, x in enumerate(v)])
           for n, d, s, v in good_tensors()]
    yield "inf", bad(safetensors(inf), "error: tensor 'fc.weight': element 30")
    yield "truncated_data", bad(safetensors(good_tensors(), cut=3), "run past the end of the data")
    yield "truncated_header", bad(safetensors(good_tensors())[:5], "error: file is truncated")
    blob = bytearray(safetensors(good_tensors()))
    blob[0:8] = struct.pack("<Q", len(blob) + 100)
    yield "header_too_large", bad(bytes(blob), "error: header claims")

    def overlap(h):
        h["c1.bias"]["data_offsets"] = list(h["c1.weight"]["data_offsets"][:1]) + [h["c1.weight"]["data_offsets"][0] + 12]
    yield "overlap", bad(safetensors(good_tensors(), overlap), "overlap")

    def outside(h):
        h["fc.bias"]["data_offsets"] = [10 ** 6, 10 ** 6 + 16]
    yield "offsets_outside", bad(safetensors(good_tensors(), outside), "error: tensor 'fc.bias': data_offsets")
    yield "not_json", bad(struct.pack("<Q", 8) + b"{nope!!}", "error: header is not valid JSON")
    yield "empty_file", bad(b"", "error: file is truncated")


def snapshot(folder):
    return {n: open(os.path.join(folder, n), "rb").read() for n in sorted(os.listdir(folder))}


def main():
    cnnc = sys.argv[1]
    failed = total = 0
    with tempfile.TemporaryDirectory() as tmp:
        net = os.path.join(tmp, "tiny.net")
        with open(net, "w") as f:
            f.write(NET)
        out_dir = os.path.join(tmp, "out")
        for name, (blob, want_rc, msg) in cases():
            total += 1
            wpath = os.path.join(tmp, name + ".safetensors")
            with open(wpath, "wb") as f:
                f.write(blob)
            shutil.rmtree(out_dir, ignore_errors=True)
            os.mkdir(out_dir)
            # An earlier successful build that a failed run must not touch.
            for fn, text in (("tiny.c", "/* old c */\n"), ("tiny.h", "/* old h */\n")):
                with open(os.path.join(out_dir, fn), "w") as f:
                    f.write(text)
            before = snapshot(out_dir)
            p = subprocess.run([cnnc, net, "-o", os.path.join(out_dir, "tiny.c"), "-w", wpath],
                               capture_output=True, timeout=60)
            err = p.stderr.decode("utf-8", "replace")
            after = snapshot(out_dir)
            problems = []
            if p.returncode != want_rc:
                problems.append("exit %d, expected %d" % (p.returncode, want_rc))
            if msg and msg not in err:
                problems.append("no message %r" % msg)
            if "Sanitizer" in err or "runtime error:" in err:
                problems.append("sanitizer report")
            if want_rc == 0:
                if sorted(after) != ["tiny.c", "tiny.h"] or after == before:
                    problems.append("outputs not written: %s" % sorted(after))
                elif "void tiny_run(const float *input, float *output)" not in after["tiny.c"].decode():
                    problems.append("tiny.c has no tiny_run")
                if "warning" not in (msg or "") and err.strip():
                    problems.append("unexpected diagnostics")
            else:
                if after != before:
                    problems.append("output folder changed: %s" % sorted(after))
                if wpath + ": error:" not in err:
                    problems.append("no error naming %s" % wpath)
            if problems:
                failed += 1
                print("FAIL %s: %s\n  %s" % (name, "; ".join(problems), err.replace("\n", "\n  ")[:2000]))
            else:
                print("ok   %s" % name)

        # A .net error with -o: nothing written, existing files untouched.
        total += 1
        bad_net = os.path.join(tmp, "bad.net")
        with open(bad_net, "w") as f:
            f.write("network tiny\ninput 2x5x5\nconv c1 out=3 kernel=9\n")
        shutil.rmtree(out_dir)
        os.mkdir(out_dir)
        with open(os.path.join(out_dir, "tiny.c"), "w") as f:
            f.write("keep me\n")
        before = snapshot(out_dir)
        p = subprocess.run([cnnc, bad_net, "-o", os.path.join(out_dir, "tiny.c"), "--random-weights=1"],
                           capture_output=True, timeout=60)
        if p.returncode != 1 or snapshot(out_dir) != before:
            failed += 1
            print("FAIL bad_net: exit %d, folder %s" % (p.returncode, sorted(snapshot(out_dir))))
        else:
            print("ok   bad_net")

        # No weights at all: a located error and nothing written.
        total += 1
        shutil.rmtree(out_dir)
        os.mkdir(out_dir)
        p = subprocess.run([cnnc, net, "-o", os.path.join(out_dir, "tiny.c")], capture_output=True, timeout=60)
        err = p.stderr.decode()
        if p.returncode != 1 or os.listdir(out_dir) or "no weights for 'tiny'" not in err:
            failed += 1
            print("FAIL no_weights: exit %d, %s" % (p.returncode, err))
        else:
            print("ok   no_weights")

        # NAME.safetensors beside NAME.net is picked up without -w.
        total += 1
        with open(os.path.join(tmp, "tiny.safetensors"), "wb") as f:
            f.write(safetensors(good_tensors()))
        p = subprocess.run([cnnc, net, "-o", os.path.join(out_dir, "tiny.c")], capture_output=True, timeout=60)
        if p.returncode != 0 or sorted(os.listdir(out_dir)) != ["tiny.c", "tiny.h"]:
            failed += 1
            print("FAIL default_weights: exit %d, %s" % (p.returncode, p.stderr.decode()))
        else:
            print("ok   default_weights")

        # -o - writes the C to stdout and no file.
        total += 1
        shutil.rmtree(out_dir)
        os.mkdir(out_dir)
        p = subprocess.run([cnnc, net, "-o", "-", "--random-weights=3"], capture_output=True, timeout=60, cwd=out_dir)
        if p.returncode != 0 or b"void tiny_run(const float *input, float *output)" not in p.stdout or os.listdir(out_dir):
            failed += 1
            print("FAIL stdout: exit %d" % p.returncode)
        else:
            print("ok   stdout")

        # An output folder that does not exist: an error, exit 1.
        total += 1
        p = subprocess.run([cnnc, net, "-o", os.path.join(tmp, "no", "such", "dir", "tiny.c"), "--random-weights=3"],
                           capture_output=True, timeout=60)
        if p.returncode != 1 or "error: cannot create a file here" not in p.stderr.decode():
            failed += 1
            print("FAIL missing_dir: exit %d, %s" % (p.returncode, p.stderr.decode()))
        else:
            print("ok   missing_dir")

        # -o naming a directory: an error before anything is written beside it.
        total += 1
        shutil.rmtree(out_dir)
        os.mkdir(out_dir)
        os.mkdir(os.path.join(out_dir, "tiny.c"))
        p = subprocess.run([cnnc, net, "-o", os.path.join(out_dir, "tiny.c"), "--random-weights=3"],
                           capture_output=True, timeout=60)
        if p.returncode != 1 or "is a directory" not in p.stderr.decode() or os.listdir(out_dir) != ["tiny.c"]:
            failed += 1
            print("FAIL output_is_directory: exit %d, %s, %s" % (p.returncode, p.stderr.decode(), os.listdir(out_dir)))
        else:
            print("ok   output_is_directory")

        # No m4: a clear error, nothing written.
        total += 1
        shutil.rmtree(out_dir)
        os.mkdir(out_dir)
        env = dict(os.environ, CNNC_M4=os.path.join(tmp, "no-such-m4"))
        p = subprocess.run([cnnc, net, "-o", os.path.join(out_dir, "tiny.c"), "--random-weights=3"],
                           capture_output=True, timeout=60, env=env)
        if p.returncode != 1 or "cannot run m4" not in p.stderr.decode() or os.listdir(out_dir):
            failed += 1
            print("FAIL no_m4: exit %d, %s" % (p.returncode, p.stderr.decode()))
        else:
            print("ok   no_m4")

    print("%d passed, %d failed" % (total - failed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
