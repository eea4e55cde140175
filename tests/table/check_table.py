#!/usr/bin/env python3
"""The layer table in its four formats.

For a .net file: the JSON form must parse and hold every documented key; the
CSV, markdown and text forms must show the same rows and totals as the JSON.
Every layer lists its inputs in the JSON; the other forms show them in an
`inputs` column exactly when some layer reads other than the row above.  A
stack's arena is its lower bound; a graph's is at least that.
With --expect-shapes and --expect-totals the numbers themselves are checked
(used for LeNet-5, whose table the project's acceptance names).
"""
import argparse
import csv
import io
import json
import subprocess
import sys


def run(cnnc, path, fmt):
    p = subprocess.run([cnnc, path, "--table=" + fmt], capture_output=True, timeout=60)
    if p.returncode != 0:
        sys.exit("cnnc --table=%s failed (%d):\n%s" % (fmt, p.returncode, p.stderr.decode()))
    return p.stdout.decode()


def group(n):
    return "{:,}".format(n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cnnc")
    ap.add_argument("net")
    ap.add_argument("--expect-shapes", help="comma-separated output shapes of the non-activation layers")
    ap.add_argument("--expect-totals", help="params,macs")
    a = ap.parse_args()
    fails = []

    j = json.loads(run(a.cnnc, a.net, "json"))
    for key in ("network", "input", "layers", "totals"):
        if key not in j:
            fails.append("JSON has no %r" % key)
    for l in j["layers"]:
        for key in ("index", "name", "op", "line", "attrs", "inputs", "output", "params", "macs", "tensors"):
            if key not in l:
                fails.append("layer %s has no %r" % (l.get("index"), key))
    for key in ("params", "weight_bytes", "macs", "arena_bytes"):
        if key not in j["totals"]:
            fails.append("totals have no %r" % key)
    if sum(l["params"] for l in j["layers"]) != j["totals"]["params"]:
        fails.append("params do not add up")
    if sum(l["macs"] for l in j["layers"]) != j["totals"]["macs"]:
        fails.append("MACs do not add up")
    names = ["input"] + [l["name"] for l in j["layers"]]
    graph = False
    for i, l in enumerate(j["layers"]):
        ins = l.get("inputs", [])
        if not ins or any(n not in names[:i + 1] for n in ins):
            fails.append("layer %d: inputs %r are not earlier layers or 'input'" % (i, ins))
        graph |= ins != [names[i]]
    t = j["totals"]
    if graph and t["arena_bytes"] < t["arena_lower_bound"]:
        fails.append("arena %d below the lower bound %d" % (t["arena_bytes"], t["arena_lower_bound"]))
    if not graph and t["arena_bytes"] != t["arena_lower_bound"]:
        fails.append("arena %d is not the lower bound %d" % (t["arena_bytes"], t["arena_lower_bound"]))
    if t["arena_bytes"] > 0 and not 0 <= t["arena_peak_layer"] < len(j["layers"]):
        fails.append("arena without a peak layer")

    shape = lambda s: "x".join(map(str, s))
    rows = list(csv.DictReader(io.StringIO(run(a.cnnc, a.net, "csv"))))
    body = [r for r in rows if r["index"] != ""]
    if len(body) != len(j["layers"]):
        fails.append("CSV has %d rows, JSON %d layers" % (len(body), len(j["layers"])))
    for r, l in zip(body, j["layers"]):
        if (int(r["index"]), r["name"], r["op"], r["output"], int(r["params"]), int(r["macs"])) != \
           (l["index"], l["name"], l["op"], shape(l["output"]), l["params"], l["macs"]):
            fails.append("CSV row %s differs from JSON" % r["index"])
        if graph and r.get("inputs", "").split(" ") != l["inputs"]:
            fails.append("CSV row %s: inputs %r, JSON %r" % (r["index"], r.get("inputs"), l["inputs"]))
    if ("inputs" in (rows[0].keys() if rows else [])) != graph:
        fails.append("CSV %s an inputs column for a %s" % ("lacks" if graph else "has", "graph" if graph else "stack"))

    for fmt in ("text", "markdown"):
        out = run(a.cnnc, a.net, fmt)
        for l in j["layers"]:
            line = [x for x in out.splitlines() if x.lstrip("| ").split(" ")[0] == str(l["index"])]
            if not line or shape(l["output"]) not in line[0] or group(l["params"]) not in line[0]:
                fails.append("%s table: no row for layer %d with %s and %s params" % (fmt, l["index"], shape(l["output"]), group(l["params"])))
            elif graph and not line[0].rstrip(" |").endswith(", ".join(l["inputs"])):
                fails.append("%s table: row %d does not end with its inputs %s" % (fmt, l["index"], l["inputs"]))
        header = [x for x in out.splitlines() if "params" in x and "MACs" in x]
        if not header or ("inputs" in header[0]) != graph:
            fails.append("%s table: the inputs column should be there only for a graph" % fmt)
        if "lower bound for this %s" % ("graph" if graph else "stack") not in out:
            fails.append("%s table: the RAM line does not say 'lower bound for this %s'" % (fmt, "graph" if graph else "stack"))
        for total in (j["totals"]["params"], j["totals"]["macs"], j["totals"]["arena_bytes"]):
            if group(total) not in out:
                fails.append("%s table does not show %s" % (fmt, group(total)))

    if a.expect_shapes:
        got = [shape(l["output"]) for l in j["layers"] if l["op"] not in ("relu",)]
        want = a.expect_shapes.split(",")
        if got != want:
            fails.append("shapes %s, expected %s" % (got, want))
    if a.expect_totals:
        p, m = map(int, a.expect_totals.split(","))
        if (j["totals"]["params"], j["totals"]["macs"]) != (p, m):
            fails.append("totals %d params / %d MACs, expected %d / %d" % (j["totals"]["params"], j["totals"]["macs"], p, m))

    if fails:
        print("FAIL " + a.net)
        for f in fails:
            print("  " + f)
        sys.exit(1)
    print("ok %s: %d layers, %s params, %s MACs, arena %s bytes" % (a.net, len(j["layers"]), group(j["totals"]["params"]), group(j["totals"]["macs"]), group(j["totals"]["arena_bytes"])))


if __name__ == "__main__":
    main()
