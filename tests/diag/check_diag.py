#!/usr/bin/env python3
"""Run cnnc on a .net file and check its diagnostics against the file's own
expectations.

Each expected diagnostic is a comment in the test file:

    # expect: LINE:COL: error: message text (a prefix of the real message)

Every expected diagnostic must appear (same line, column, kind; the message
starts with the given text), the number of errors must equal the number of
expected errors, the exit status must be 1 when errors are expected (0 when
none are), and nothing may be written to stdout after an error.  A crash, a
sanitizer report or a hang fails the test.

A file without errors may also say what its layers are, as cnnc's JSON table
gives them (the index, the full name, the op, the output shape, and the
weight tensors' names when any):

    # expect-layer: 3 features.2.squeeze conv 4x8x8 features.2.squeeze.weight ...
    # expect-layers: 58
"""
import json
import re
import subprocess
import sys

DIAG = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<kind>error|warning|note): (?P<msg>.*)$")
EXPECT = re.compile(r"#\s*expect:\s*(?P<line>\d+):(?P<col>\d+):\s*(?P<kind>error|warning|note):\s*(?P<msg>.*?)\s*$")
EXPECT_LAYER = re.compile(r"#\s*expect-layer:\s*(?P<fields>.*?)\s*$")
EXPECT_COUNT = re.compile(r"#\s*expect-layers:\s*(?P<n>\d+)\s*$")


def check_layers(cnnc, path, extra, lines):
    """The JSON table against the file's expect-layer lines; a list of failures."""
    want = [m.group("fields").split() for m in map(EXPECT_LAYER.search, lines) if m]
    counts = [int(m.group("n")) for m in map(EXPECT_COUNT.search, lines) if m]
    if not want and not counts:
        return []
    proc = subprocess.run([cnnc, path, "--table=json"] + extra, capture_output=True, timeout=60)
    if proc.returncode != 0:
        return ["--table=json failed (exit status %d)" % proc.returncode]
    layers = json.loads(proc.stdout)["layers"]
    failures = []
    for n in counts:
        if len(layers) != n:
            failures.append("%d layers, expected %d" % (len(layers), n))
    for w in want:
        index = int(w[0])
        if index >= len(layers):
            failures.append("no layer %d" % index)
            continue
        l = layers[index]
        got = [str(l["index"]), l["name"], l["op"], "x".join(str(d) for d in l["output"])]
        got += [t["name"] for t in l["tensors"]]
        if got != w:
            failures.append("layer %d is %s, expected %s" % (index, " ".join(got), " ".join(w)))
    return failures



def main():
    if len(sys.argv) < 3:
        sys.exit("usage: check_diag.py CNNC FILE.net [extra cnnc args]")
    cnnc, path, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    expected = [m.groupdict() for m in map(EXPECT.search, lines) if m]
    proc = subprocess.run([cnnc, path, "--table"] + extra, capture_output=True, timeout=60)
    stderr = proc.stderr.decode("utf-8", "replace")
    stdout = proc.stdout.decode("utf-8", "replace")
    failures = []
    if "Sanitizer" in stderr or "runtime error:" in stderr:
        failures.append("sanitizer report")
    got = [m.groupdict() for m in map(DIAG.match, stderr.splitlines()) if m]
    for e in expected:
        hit = [g for g in got if g["line"] == e["line"] and g["col"] == e["col"]
               and g["kind"] == e["kind"] and g["msg"].startswith(e["msg"])]
        if not hit:
            failures.append("missing: %s:%s: %s: %s" % (e["line"], e["col"], e["kind"], e["msg"]))
    n_exp = sum(1 for e in expected if e["kind"] == "error")
    n_got = sum(1 for g in got if g["kind"] == "error")
    if n_exp != n_got:
        failures.append("expected %d errors, cnnc reported %d" % (n_exp, n_got))
    want_rc = 1 if n_exp else 0
    if proc.returncode != want_rc:
        failures.append("exit status %d, expected %d" % (proc.returncode, want_rc))
    if n_exp and stdout:
        failures.append("output on stdout after an error")
    for g in got:
        if g["file"] != path:
            failures.append("diagnostic names %r, not %r" % (g["file"], path))
            break
    if not failures and not n_exp:
        failures += check_layers(cnnc, path, extra, lines)
    if failures:
        print("FAIL %s" % path)
        for f in failures:
            print("  " + f)
        print("--- cnnc stderr ---")
        print(stderr)
        sys.exit(1)
    print("ok %s: %d diagnostics as expected" % (path, len(expected)))


if __name__ == "__main__":
    main()
