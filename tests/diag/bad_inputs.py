#!/usr/bin/env python3
"""Hostile inputs for the cnnc front end.

Each case writes a file into a scratch directory, runs `cnnc FILE --table`
and requires: exit status 1, at least one error located as FILE:LINE:COL (or
FILE: for whole-file problems), nothing on stdout, no sanitizer report, and an
answer within a few seconds.  The files are made here, not checked in, because
several are large or binary.
"""
import os
import random
import re
import subprocess
import sys
import tempfile
import time

LENET_HEAD = "network n\ninput 1x28x28\n"


def cases():
    rnd = random.Random(20261121)
    yield "empty", b"", r":1:1: error: the file is empty"
    yield "blank_lines", b"\n\n   \n# only a comment\n", r":1:1: error: no 'input' line"
    yield "binary", bytes(rnd.randrange(256) for _ in range(4096)), r":\d+:\d+: error: "
    yield "nul_bytes", b"input 1x8x8\nconv c1 out=4\x00 kernel=3\n", r":2:14: error: unexpected byte 0x00"
    yield "utf8_garbage", "input 1x8x8\nconv c1 out=4 kernel=3 \u00e9t\u00e9=2\n".encode(), r":2:24: error: unexpected byte 0xc3"
    yield "unterminated_tuple", b"input 1x8x8\nconv c1 out=4 kernel=(3, 3\nrelu\n", r":2:27: error: unexpected end of line, expected '\)' or ','"
    yield "unterminated_tuple_eof", b"input 1x8x8\nconv c1 out=4 kernel=(3,", r":2:25: error: unexpected end of line"
    yield "nested_tuples", b"input 1x8x8\nconv c1 out=4 kernel=" + b"(" * 10000 + b"\n", r":2:23: error: unexpected '\(', expected word, integer or number"
    yield "long_tuple", b"input 1x8x8\nconv c1 out=4 kernel=(" + b"3, " * 500 + b"3)\n", r":2:\d+: error: a tuple holds at most 16 values"
    digits = "9" * 10000
    yield "huge_int_attr", (LENET_HEAD + "conv c1 out=%s kernel=5\n" % digits).encode(), r":3:13: error: integer 9999999999999999\.\.\.\(10000 characters\) is too large"
    yield "huge_int_input", ("input 1x%sx28\nrelu\n" % digits).encode(), r":1:7: error: input dimension .* is too large"
    yield "huge_float", (LENET_HEAD + "batchnorm eps=1%s.5\n" % digits).encode(), r":3:15: error: number .* is out of range"
    yield "huge_exponent", (LENET_HEAD + "batchnorm eps=1e999999\n").encode(), r":3:15: error: number 1e999999 is out of range"
    yield "megabyte_line", (LENET_HEAD + "relu " + "x" * (1 << 20) + "\n").encode(), r":3:65537: error: line is 1048581 bytes long; the limit is 65536"
    yield "megabyte_comment", (LENET_HEAD + "#" * (1 << 20) + "\nrelu\n").encode(), r":3:65537: error: line is 1048576 bytes long"
    yield "long_layer_name", (LENET_HEAD + "conv " + "a" * 5000 + " out=4 kernel=3\n").encode(), r":3:6: error: layer name is 5000 characters long; the limit is 63"
    yield "long_network_name", ("network " + "n" * 5000 + "\ninput 1x8x8\nrelu\n").encode(), r":1:9: error: network name is 5000 characters long"
    yield "long_op", (LENET_HEAD + "c" * 3000 + "\n").encode(), r":3:1: error: unknown op 'c{3000}'"
    yield "many_layers", (LENET_HEAD + "relu\n" * 5000).encode(), r":1027:1: error: too many layers \(the limit is 1024\)"
    yield "many_errors", (LENET_HEAD + "conv ?\n" * 20000).encode(), r":3:6: error: unexpected character '\?'"
    yield "many_attrs", (LENET_HEAD + "conv c1 out=4 kernel=3 " + " ".join("k%d=1" % i for i in range(100)) + "\n").encode(), r":3:\d+: error: too many attributes on one line"
    yield "zero_dim", b"input 1x0x28\nrelu\n", r":1:7: error: input dimensions must be at least 1"
    yield "four_dims", b"input 1x2x3x4\nrelu\n", r":1:7: error: input shape '1x2x3x4' has more than 3 dimensions"
    yield "negative_kernel", (LENET_HEAD + "conv c1 out=4 kernel=-3\n").encode(), r":3:22: error: conv 'c1': kernel must be at least 1, got -3"
    yield "huge_kernel", (LENET_HEAD + "conv c1 out=4 kernel=%d\n" % (1 << 40)).encode(), r":3:22: error: conv 'c1': kernel=1099511627776 is larger than cnnc's limit"
    yield "huge_product", b"input 16777216x16777216x16777216\nrelu\n", r":1:7: error: input 16777216x16777216x16777216 has more than 2\^63 elements"
    yield "crlf_error", b"input 1x8x8\r\nconv c1 out=4 kernel=9\r\n", r":2:15: error: conv 'c1': kernel 9x9 does not fit the input 8x8"
    yield "not_a_file", None, r": error: cannot open"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bad_inputs.py CNNC")
    cnnc = sys.argv[1]
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, data, pattern in cases():
            path = os.path.join(tmp, name + ".net")
            if data is not None:
                with open(path, "wb") as f:
                    f.write(data)
            t0 = time.monotonic()
            try:
                proc = subprocess.run([cnnc, path, "--table"], capture_output=True, timeout=20)
            except subprocess.TimeoutExpired:
                print("FAIL %s: no answer within 20 s" % name)
                failed += 1
                continue
            dt = time.monotonic() - t0
            err = proc.stderr.decode("utf-8", "replace")
            problems = []
            if proc.returncode != 1:
                problems.append("exit status %d, expected 1" % proc.returncode)
            if "Sanitizer" in err or "runtime error:" in err:
                problems.append("sanitizer report")
            if proc.stdout:
                problems.append("%d bytes on stdout" % len(proc.stdout))
            if not re.search(re.escape(path) + pattern, err):
                problems.append("no diagnostic matching %r" % (path + pattern))
            if len(err) > 200000:
                problems.append("%d bytes of diagnostics" % len(err))
            if problems:
                failed += 1
                print("FAIL %s (%.2f s): %s" % (name, dt, "; ".join(problems)))
                print("  " + "\n  ".join(err[:3000].splitlines()[:12]))
            else:
                first = err.splitlines()[0] if err else ""
                print("ok   %-24s %.2f s  %s" % (name, dt, first.replace(tmp + "/", "")[:110]))
    total = sum(1 for _ in cases())
    print("%d passed, %d failed" % (total - failed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
