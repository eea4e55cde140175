#!/usr/bin/env python3
"""cnnc NET --graph=dot, rendered by Graphviz.

For a .net file: the DOT output must render with `dot -Tsvg`; the SVG must be
well-formed XML, draw one node per layer (plus the input and the output) whose
label starts with the layer's name and op, one edge per input of every layer
(plus the one to the output) labelled with the producer's shape, and fill the
memory plan's peak layer (from --table=json) in the highlight colour, with
the tensors alive there on highlighted edges.  With --usage the command-line
errors are checked instead.
"""
import argparse
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
PEAK_FILL = "#f5b7b1"
HOT = "#c0392b"


def run(cmd, stdin=None):
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=120)


def shape(s):
    return "x".join(map(str, s))


def check_usage(cnnc, net):
    fails = []
    for args, why in ((["--graph=svg"], "an unknown format"), (["--graph"], "no format"),
                      (["--graph=dot", "--table"], "--graph with --table"),
                      (["--graph=dot", "-o", "-"], "--graph with -o -")):
        p = run([cnnc, net] + args)
        if p.returncode != 2 or b"error" not in p.stderr or p.stdout:
            fails.append("%s: exit %d, stderr %r" % (why, p.returncode, p.stderr[:200]))
    p = run([cnnc, "--graph=dot"])
    if p.returncode != 2:
        fails.append("--graph with no input file: exit %d" % p.returncode)
    return fails


def check_net(cnnc, net):
    fails = []
    p = run([cnnc, net, "--graph=dot"])
    if p.returncode != 0:
        return ["cnnc --graph=dot failed (%d): %s" % (p.returncode, p.stderr.decode())]
    r = run(["dot", "-Tsvg"], stdin=p.stdout)
    if r.returncode != 0 or r.stderr:
        return ["dot -Tsvg failed (%d): %s" % (r.returncode, r.stderr.decode())]
    try:
        root = ET.fromstring(r.stdout)
    except ET.ParseError as e:
        return ["the SVG is not well-formed: %s" % e]
    j = json.loads(run([cnnc, net, "--table=json"]).stdout)
    layers = j["layers"]

    nodes, edges = {}, {}
    for g in root.iter(SVG + "g"):
        title = g.find(SVG + "title")
        if title is None:
            continue
        texts = [t.text or "" for t in g.iter(SVG + "text")]
        fills = [e.get("fill") for e in g if e.get("fill")]
        strokes = [e.get("stroke") for e in g if e.get("stroke")]
        if g.get("class") == "node":
            nodes[title.text] = (texts, fills)
        elif g.get("class") == "edge":
            edges[title.text.replace("&#45;", "-")] = (texts, strokes)

    if len(nodes) != len(layers) + 2 or "input" not in nodes or "output" not in nodes:
        fails.append("%d nodes for %d layers (+ input and output)" % (len(nodes), len(layers)))
    for i, l in enumerate(layers):
        texts, _ = nodes.get("L%d" % i, ([], []))
        if len(texts) < 2 or texts[0] != l["name"] or not texts[1].startswith(l["op"]):
            fails.append("layer %d: node text %r, expected %r then %r" % (i, texts[:2], l["name"], l["op"]))
    names = {l["name"]: i for i, l in enumerate(layers)}
    want = 1 + sum(len(l["inputs"]) for l in layers)
    if len(edges) != want:
        fails.append("%d edges, expected %d" % (len(edges), want))
    for i, l in enumerate(layers):
        for src in l["inputs"]:
            key = "input->L%d" % i if src == "input" else "L%d->L%d" % (names[src], i)
            s = j["input"] if src == "input" else layers[names[src]]["output"]
            if key not in edges or shape(s) not in edges[key][0]:
                fails.append("no edge %s labelled %s" % (key, shape(s)))

    peak = j["totals"]["arena_peak_layer"]
    hot = [k for k, (_, strokes) in edges.items() if HOT in strokes]
    if j["totals"]["arena_bytes"] > 0:
        texts, fills = nodes.get("L%d" % peak, ([], []))
        if PEAK_FILL not in fills or not any(t.startswith("peak:") for t in texts):
            fails.append("the peak layer %d is not highlighted (%r)" % (peak, fills))
        if not hot:
            fails.append("no edge highlighted at the peak")
        others = [k for k, (_, f) in nodes.items() if PEAK_FILL in f and k != "L%d" % peak]
        if others:
            fails.append("other nodes highlighted: %s" % others)
    elif hot or any(PEAK_FILL in f for _, f in nodes.values()):
        fails.append("a highlight without an arena")
    if fails:
        return fails
    print("ok %s: %d nodes, %d edges, peak %s, %d tensor edges alive there" % (
        net, len(nodes), len(edges), layers[peak]["name"] if peak >= 0 else "none", len(hot)))
    return []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cnnc")
    ap.add_argument("net")
    ap.add_argument("--usage", action="store_true")
    a = ap.parse_args()
    fails = check_usage(a.cnnc, a.net) if a.usage else check_net(a.cnnc, a.net)
    if fails:
        print("FAIL " + a.net)
        for f in fails:
            print("  " + f)
        sys.exit(1)
    if a.usage:
        print("ok --graph usage errors")


if __name__ == "__main__":
    main()
