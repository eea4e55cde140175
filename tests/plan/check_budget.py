#!/usr/bin/env python3
"""--ram-budget on a graph: the error names every tensor alive at the peak.

For a .net file: the JSON table gives the plan (each layer's buffer, its
inputs, the peak step).  From it this script works out, on its own, the arena
tensors alive at the peak step (written at or before it, read at or after it,
one per buffer), then runs cnnc with a RAM budget one byte short and checks:
exit 1 and no output file, the error at the peak layer's line, one
"alive there" note per live tensor, each naming the layer that wrote it and
its bytes, and the "read last by" layer for tensors the peak layer does not
touch.  A budget that fits exactly passes.
"""
import json
import os
import re
import subprocess
import sys
import tempfile


def run(args):
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def main():
    cnnc, net = sys.argv[1], sys.argv[2]
    fails = []
    j = json.loads(run([cnnc, net, "--table=json"]).stdout)
    layers, t = j["layers"], j["totals"]
    peak = t["arena_peak_layer"]
    index = {l["name"]: i for i, l in enumerate(layers)}
    last = {i: i for i in range(len(layers))}
    for i, l in enumerate(layers):
        for n in l["inputs"]:
            if n != "input":
                last[index[n]] = max(last[index[n]], i)
    def region(v):
        b = layers[v]["buffer"]
        return (b["offset"], b["bytes"]) if b["kind"] == "arena" else None

    def reuses(u):      # an alias or in-place layer: same memory as an input
        return layers[u]["buffer"]["in_place"]

    def root(v):        # the layer that first wrote v's memory
        while reuses(v) and layers[v]["op"] != "concat":
            src = [index[n] for n in layers[v]["inputs"] if n != "input" and region(index[n]) == region(v)]
            if not src:
                break
            v = src[0]
        return v

    live = {}      # (offset, bytes) -> (first write, last read)
    for v, l in enumerate(layers):
        reg = region(v)
        if reg is None:
            continue
        w = v
        if l["op"] == "concat" and reuses(v):     # inputs written straight into it
            w = min(root(index[n]) for n in l["inputs"])
        r = last[v]
        for u in range(v + 1, len(layers)):      # aliases and in-place layers reusing it
            if u <= r and region(u) == reg and reuses(u):
                r = max(r, last[u])
        if w <= peak <= r:
            w0, r0 = live.get(reg, (w, r))
            live[reg] = (min(w0, w), max(r0, r))
    # A concat's inputs live inside it: one tensor.
    live = {k: v for k, v in live.items()
            if not any(k != o and o[0] <= k[0] and k[0] + k[1] <= o[0] + o[1] for o in live)}
    peak_reads = [region(index[n]) for n in layers[peak]["inputs"] if n != "input"]

    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "m.c")
        p = run([cnnc, net, "--ram-budget=%d" % (t["ram_bytes"] - 1), "-o", out, "--random-weights=1"])
        if p.returncode != 1 or os.listdir(d):
            fails.append("budget one byte short: exit %d, files %s" % (p.returncode, os.listdir(d)))
    err = re.search(r":(\d+):\d+: error: RAM budget of ([\d,]+) bytes exceeded: .*peaks in (\S+) '([^']+)'", p.stderr)
    if not err or err.group(4) != layers[peak]["name"] or int(err.group(1)) != layers[peak]["line"]:
        fails.append("the error is not at the peak layer %s (line %d):\n%s" % (layers[peak]["name"], layers[peak]["line"], p.stderr))
    notes = re.findall(r"note: alive there: (.*)", p.stderr)
    if len(notes) != len(live):
        fails.append("%d 'alive there' notes, %d tensors alive at step %d:\n%s" % (len(notes), len(live), peak, "\n".join(notes)))
    for (off, nbytes), (w, r) in sorted(live.items()):
        size = "(%s bytes)" % format(nbytes, ",")
        hit = [n for n in notes if size in n]
        read_here = any(q and off <= q[0] and q[0] + q[1] <= off + nbytes for q in peak_reads)
        if not hit:
            fails.append("no note for the tensor at offset %d %s" % (off, size))
        elif w < peak and r > peak and not read_here and \
                not any("read last by" in n and ("'%s'" % layers[r]["name"]) in n for n in hit):
            fails.append("the tensor at offset %d waits for '%s': %s" % (off, layers[r]["name"], hit))
    p = run([cnnc, net, "--ram-budget=%d" % t["ram_bytes"]])
    if p.returncode != 0:
        fails.append("the exact budget fails: %s" % p.stderr)
    if fails:
        print("FAIL " + net)
        for f in fails:
            print("  " + f)
        sys.exit(1)
    print("ok %s: peak at %s, %d tensors alive there, each named" % (net, layers[peak]["name"], len(live)))


if __name__ == "__main__":
    main()
