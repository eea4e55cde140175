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
    live = {}      # offset -> (first writer, last reader, bytes)
    for v, l in enumerate(layers):
        b = l["buffer"]
        if b["kind"] != "arena" or v > peak or last[v] < peak:
            continue
        w, r, _ = live.get(b["offset"], (v, last[v], b["bytes"]))
        live[b["offset"]] = (min(w, v), max(r, last[v]), b["bytes"])
    # A buffer lives on through the aliases and in-place layers that reuse it.
    for off, (w, r, nbytes) in live.items():
        grew = True
        while grew:
            grew = False
            for u in range(w + 1, min(r, len(layers) - 1) + 1):
                b = layers[u]["buffer"]
                if b["kind"] == "arena" and b["offset"] == off and b["in_place"] and last[u] > r:
                    r, grew = last[u], True
        live[off] = (w, r, nbytes)

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
    for off, (w, r, nbytes) in sorted(live.items()):
        size = "(%s bytes)" % format(nbytes, ",")
        hit = [n for n in notes if size in n]
        if not hit:
            fails.append("no note for the tensor at offset %d %s" % (off, size))
        elif w < peak and r > peak and not any("read last by" in n and ("'%s'" % layers[r]["name"]) in n for n in hit):
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
