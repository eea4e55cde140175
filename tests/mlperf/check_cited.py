#!/usr/bin/python3
"""
check_cited.py - an example's header comment against cnnc's table.

    check_cited.py CNNC NET.net

Every example written after a published model opens with a comment that cites
its reference (a repository path: `from OWNER/REPO path/to/file.py`) and the
parameter count the reference has (`parameters: 78,186`, PyTorch's
parameters() count, which is Keras' trainable count).  This test fails when
either is missing, or when `cnnc NET.net --table=json` counts a different
number of parameters than the comment cites.
"""

import json
import re
import subprocess
import sys


def header(path):
    """The leading comment block of the file, without the '#' marks."""
    lines = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if not s.startswith("#"):
                break
            lines.append(s[1:].strip())
    return " ".join(lines)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    cnnc, net = argv[1], argv[2]
    text = header(net)
    problems = []
    if not re.search(r"\b[\w.-]+/[\w.-]+\s+[\w./-]+\.(py|md|cc|h|c)\b", text):
        problems.append("the header comment cites no reference (a repository and file path)")
    m = re.search(r"\bparameters:\s*([\d,]+)", text)
    if not m:
        problems.append("the header comment cites no 'parameters: N'")
    r = subprocess.run([cnnc, net, "--table=json"], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        problems.append(f"cnnc {net} --table=json failed (exit {r.returncode}):\n{r.stderr}")
    elif m:
        cited = int(m.group(1).replace(",", ""))
        got = json.loads(r.stdout)["totals"]["params"]
        if got != cited:
            problems.append(f"the comment cites {cited:,} parameters, cnnc counts {got:,}")
        else:
            print(f"{net}: {got:,} parameters, as cited")
    for p in problems:
        print(f"{net}: FAIL: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
