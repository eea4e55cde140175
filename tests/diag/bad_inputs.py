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
    # Graphs and blocks.
    yield "deep_groups", (LENET_HEAD + "group g\n" * 10000 + "relu\n" + "end\n" * 10000).encode(), r":35:1: error: groups, blocks and ifs nest at most 32 deep"
    yield "deep_ifs", (LENET_HEAD + "block B\n" + "if 1 == 1\n" * 5000 + "relu\n" + "end\n" * 5001 + "B b\n").encode(), r":35:1: error: groups, blocks and ifs nest at most 32 deep"
    yield "unclosed_groups", (LENET_HEAD + "group g\n  relu\n" * 20).encode(), r":\d+:1: error: this group has no 'end'"
    yield "recursive_block", (LENET_HEAD + "block A\n  relu\n  A again\nend\nA a\n").encode(), r":5:3: error: block 'A' uses itself"
    yield "mutual_recursion", (LENET_HEAD + "block A\n  B b\nend\nblock B\n  relu\n  C c\nend\nblock C\n  A a\nend\nA top\n").encode(), r":11:3: error: block 'A' uses itself through block 'C'"
    yield "block_10000_uses", (LENET_HEAD + "block B\n  relu\nend\n" + "B\n" * 10000).encode(), r":1030:1: error: too many layers \(the limit is 1024\)"
    chain = "block B0\n  relu\nend\n" + "".join("block B%d\n%send\n" % (i, "  B%d\n" % (i - 1) * 10) for i in range(1, 5))
    yield "block_uses_multiply", (LENET_HEAD + chain + "B4\n").encode(), r":\d+:3: error: the network has more than 1024 layers once its blocks are expanded"
    empty = "block E\n  if 1 == 2\n    relu\n  end\nend\n" + "".join("block F%d\n%send\n" % (i, "  %s\n" % ("E" if i == 0 else "F%d" % (i - 1)) * 30) for i in range(5))
    yield "blocks_of_nothing", (LENET_HEAD + empty + "relu\nF4\n").encode(), r":\d+:\d+: error: "
    deep = "".join("block D%d\n  %s\nend\n" % (i, "relu" if i == 0 else "D%d" % (i - 1)) for i in range(40))
    yield "deep_block_uses", (LENET_HEAD + deep + "D39\n").encode(), r":\d+:3: error: block uses nest more than 32 deep"
    yield "huge_fan_in", (LENET_HEAD + "relu a\nadd from=(" + ", ".join(["a"] * 5000) + ")\n").encode(), r":4:\d+: error: a tuple holds at most 16 values"
    yield "overflow_expr", (LENET_HEAD + "conv out=9223372036854775807*2 kernel=1\n").encode(), r":3:10: error: the expression overflows"
    yield "overflow_neg", (LENET_HEAD + "conv out=-9223372036854775807-2 kernel=1\n").encode(), r":3:10: error: the expression overflows"
    yield "overflow_param", (LENET_HEAD + "block B n\n  conv out=n*n*n kernel=1\nend\nB b n=3000000\n").encode(), r":4:12: error: the expression overflows"
    yield "division_by_zero", (LENET_HEAD + "block B n\n  conv out=4/n kernel=1\nend\nB b n=0\n").encode(), r":4:12: error: division by zero"
    yield "long_expr", (LENET_HEAD + "conv out=" + "+".join(["1"] * 20000) + " kernel=1\n").encode(), r":3:10: error: an expression holds at most 64 operators"
    yield "many_signs", (LENET_HEAD + "conv out=" + "-" * 60001 + "4 kernel=1\n").encode(), r":3:10: error: conv '0': out must be at least 1, got -4"
    yield "long_word", (LENET_HEAD + "relu " + "a" * 65000 + "\n").encode(), r":3:6: error: layer name is 65000 characters long"
    yield "long_path", (LENET_HEAD + "relu a\nrelu from=" + ".".join(["a"] * 30000) + "\n").encode(), r":4:11: error: 'a' is a layer, not a group or block use"
    yield "long_full_name", (LENET_HEAD + "".join("group %s%d\n" % ("g" * 60, i) for i in range(6)) + "relu\n" + "end\n" * 6).encode(), r":9:1: error: the full name of this layer is \d+ characters long; the limit is 255"
    yield "many_groups", (LENET_HEAD + "relu\n" + "group g\nend\n" * 200000).encode(), r":8196:1: error: too many groups, blocks and ifs \(the limit is 4096\)"
    yield "from_later", (LENET_HEAD + "relu from=b\nrelu b\n").encode(), r":3:11: error: 'b' is defined later, on line 4"



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
