#!/usr/bin/env python3
"""Measure what each runtime kernel costs a Cortex-M4: code bytes and stack.

    measure_runtime_costs.py CNNC OUT.h      write compiler/runtime_costs.h
    measure_runtime_costs.py CNNC --check H  fail if H is more than 10% off

Compiles the runtime (as `cnnc --emit-runtime` writes it) with
arm-none-eabi-gcc -O2 -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16
-ffunction-sections -fstack-usage, reads each function's .text size
(arm-none-eabi-size -A) and frame (.su), and measures newlib-nano's expf and
tanhf by linking a program with and without them.  cnnc's budget.c turns
these into the flash and stack estimates of the table and the header.

It also records, for every public entry point (cnn_*), what it costs
linked, from the objects themselves:

- code: every section the linker keeps for it (--gc-sections follows the
  relocations: the calls, the function tables in .rodata and what they
  point at, the constant tables), .text and .rodata, plus the libc and
  libgcc functions it reaches (memcpy, __aeabi_ldivmod..., measured by
  linking a program with and without each).  budget.c takes the union over
  the int8 steps' entries, so it emits each entry's reach list (indices
  into runtime_nodes), not only its total.
- stack: the largest sum of frames along a call path, from gcc's call
  graph (-fcallgraph-info=su: each function's frame and direct calls).  An
  indirect call (a tile function from a table) may reach any function whose
  address the nearest function on the path to it that takes any takes (in
  its code or in a constant table it reads): the runtime picks a tile from
  a table and passes it down, and the generated code passes the int8
  kernels no function pointer.  Were a function address in writable data,
  every function whose address the entry's code takes would be a candidate.
  The firmware test firmware.int8_costs checks the result against the stack
  measured under QEMU.  A libc
  or libgcc function gets LIBC_FRAME bytes, an allowance (they are small
  leaves in newlib-nano); a call cycle is cut where it closes.
"""
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile

CC = "arm-none-eabi-gcc"
FLAGS = ["-std=c99", "-O2", "-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
         "-ffunction-sections", "-fdata-sections"]


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), p.stderr))
    return p.stdout


def compile_runtime(cnnc, tmp):
    """The runtime, emitted once and compiled once (in parallel) with FLAGS,
    each object's frames (.su) and call graph (.ci) beside it: [(source, object)]."""
    rt = os.path.join(tmp, "rt")
    run([cnnc, "--emit-runtime", rt])
    srcs = sorted(f for f in os.listdir(rt) if f.endswith(".c"))

    def one(f):
        obj = os.path.join(tmp, "cg_" + f[:-2] + ".o")
        run([CC] + FLAGS + ["-fstack-usage", "-fcallgraph-info=su", "-I", rt, "-c",
                            os.path.join(rt, f), "-o", obj])
        return f, obj
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as ex:
        return rt, list(ex.map(one, srcs))


def kernels(objs):
    code, stack = {}, {}
    for f, obj in objs:
        for line in run(["arm-none-eabi-size", "-A", obj]).splitlines():
            # gcc may clone a static helper (conv_rows8.constprop.0): count it
            # under its own name; a cold function's section is
            # .text.unlikely.NAME.
            m = re.match(r"^\.text\.(?:unlikely\.|hot\.|startup\.)?(\w+)(?:\.\w+)*\s+(\d+)",
                         line)
            if m:
                code[m.group(1)] = code.get(m.group(1), 0) + int(m.group(2))
        with open(obj[:-2] + ".su") as su:
            for line in su:
                name, frame = line.split("\t")[0].split(":")[-1], int(line.split("\t")[1])
                name = name.split(".")[0]
                stack[name] = max(stack.get(name, 0), frame)
    return code, stack


def libm(tmp):
    """Bytes that expf and tanhf (with what they pull in) add to an image."""
    src = os.path.join(tmp, "lm.c")
    with open(src, "w") as f:
        f.write("#include <math.h>\nvolatile float a, b;\n"
                "void use_none(void) { b = a; }\n"
                "void use_expf(void) { b = expf(a); }\n"
                "void use_both(void) { b = expf(a) + tanhf(a); }\n")
    sizes = {}
    for entry in ("use_none", "use_expf", "use_both"):
        elf = os.path.join(tmp, entry + ".elf")
        run([CC] + FLAGS + ["-nostartfiles", "-specs=nano.specs", "-Wl,--gc-sections",
                            "-Wl,-e," + entry, src, "-lm", "-o", elf])
        text = run(["arm-none-eabi-size", "-A", elf])
        sizes[entry] = sum(int(m.group(2)) for m in re.finditer(r"^(\.text|\.rodata)\S*\s+(\d+)", text, re.M))
    return sizes["use_expf"] - sizes["use_none"], sizes["use_both"] - sizes["use_expf"]


LIBC_FRAME = 32     # bytes: the frame allowed to a libc / libgcc leaf (memcpy, ...)


def parse_ci(path):
    """gcc's -fcallgraph-info=su: {node: frame}, [(caller, callee)], where a
    static function is 'file.c:name' and a global or external one 'name'."""
    frames, edges = {}, []
    for line in open(path):
        m = re.match(r'node: \{ title: "([^"]+)" label: "[^"]*\\n(\d+) bytes \((\w+)[^"]*"', line)
        if m:
            if m.group(3) != "static":
                sys.exit("%s: %s has a %s frame: its stack cannot be bounded" %
                         (path, m.group(1), m.group(3)))
            frames[m.group(1)] = int(m.group(2))
            continue
        m = re.match(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', line)
        if m:
            edges.append((m.group(1), m.group(2)))
    return frames, edges


def parse_relocs(obj):
    """Per section of obj: its size and the symbols its relocations name;
    per symbol defined in obj: its section; the functions defined; the
    global symbols defined."""
    sizes, refs, sym_sec, funcs, globs = {}, {}, {}, set(), set()
    for line in run(["arm-none-eabi-readelf", "-SW", obj]).splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(PROGBITS|NOBITS)\s+\S+\s+\S+\s+(\S+)", line)
        if m and re.match(r"\.(text|rodata)", m.group(1)):
            sizes[m.group(1)] = int(m.group(3), 16)
    secnames = {}
    for line in run(["arm-none-eabi-readelf", "-SW", obj]).splitlines():
        m = re.match(r"\s*\[\s*(\d+)\]\s+(\S+)", line)
        if m:
            secnames[m.group(1)] = m.group(2)
    for line in run(["arm-none-eabi-readelf", "-sW", obj]).splitlines():
        f = line.split()
        if len(f) >= 7 and f[0].endswith(":") and f[6] in secnames:
            sec = secnames[f[6]]
            if f[3] != "SECTION" and len(f) < 8:
                continue
            name = f[7] if f[3] != "SECTION" else sec
            sym_sec[name] = sec
            if f[3] == "FUNC":
                funcs.add(name)
            if f[4] in ("GLOBAL", "WEAK") and f[3] != "SECTION":
                globs.add(name)
    cur = None
    for line in run(["arm-none-eabi-readelf", "-rW", obj]).splitlines():
        m = re.match(r"Relocation section '\.rel(\S+)'", line)
        if m:
            cur = m.group(1)
            refs.setdefault(cur, [])
            continue
        f = line.split()
        if cur and len(f) >= 5 and re.match(r"[0-9a-f]{8}$", f[0]):
            refs[cur].append((f[2], f[4]))
    return sizes, refs, sym_sec, funcs, globs


def key_of(source):
    return source[:-2] + ":"


def graph(rt, objs, tmp):
    """Per entry point: (code bytes, worst stack, [reached node names]), and
    {node: (code, frame)} for every node reached."""
    frames, edges = {}, []
    sec_size, sec_refs = {}, {}
    sec_of_func = {}        # node -> 'obj:section'
    node_of_sec = {}        # 'obj:section' -> node (functions only)
    externs, defined = set(), {}   # defined: global symbol -> 'obj:section'
    for f, obj in objs:
        fr, ed = parse_ci(obj[:-2] + ".ci")
        sizes, refs, ss, fn, gl = parse_relocs(obj)
        defined.update({g: key_of(f) + ss[g] for g in gl})
        prefix = os.path.join(rt, f) + ":"
        key = key_of(f)

        def node(title):
            return title[len(prefix):] if title.startswith(prefix) else title
        # a static function's node is 'obj:name', a global one its name
        local = {node(t) for t in fr if t.startswith(prefix)}

        def qual(name):
            return key + name if name in local else name
        for t, b in fr.items():
            frames[qual(node(t))] = b
        edges += [(qual(node(a)), qual(node(b))) for a, b in ed]
        for sec, n in sizes.items():
            sec_size[key + sec] = n
        for sec, rs in refs.items():
            out = sec_refs.setdefault(key + sec, [])
            for rtype, sym in rs:
                if sym in ss:
                    out.append((rtype, key + ss[sym]))
                else:
                    out.append((rtype, "extern:" + sym))
                    externs.add(sym)
        for name in fn:
            sec = key + ss[name]
            sec_of_func[qual(name)] = sec
            node_of_sec[sec] = qual(name)
    # A reference to another object's function or table names the symbol,
    # not its section.
    glob = {n: s for n, s in sec_of_func.items() if ":" not in n}
    for sec, rs in sec_refs.items():
        sec_refs[sec] = [(t, defined.get(r[7:], r)) if r.startswith("extern:") else (t, r)
                         for t, r in rs]
    externs = {e for e in externs if e not in defined}
    ext_code = libc(tmp, sorted(externs))
    calls = {}
    for a, b in edges:
        calls.setdefault(a, set()).add(b)

    CALLS = ("R_ARM_THM_CALL", "R_ARM_THM_JUMP24", "R_ARM_CALL", "R_ARM_JUMP24")

    def keep(sec):
        """The sections --gc-sections keeps for sec."""
        seen, todo = set(), [sec]
        while todo:
            s = todo.pop()
            if s not in seen:
                seen.add(s)
                todo += [r for _, r in sec_refs.get(s, [])]
        return seen

    def taken_by(n):
        """The functions whose address n's code takes: named by a relocation of
        its .text that is no call, or by a constant table it reads (and the
        tables those name)."""
        out, seen, todo = set(), set(), [(t, r) for t, r in sec_refs.get(sec_of_func.get(n), [])
                                         if t not in CALLS]
        while todo:
            t, r = todo.pop()
            if r in seen:
                continue
            seen.add(r)
            if r in node_of_sec:
                out.add(node_of_sec[r])
            elif ".rodata" in r or ".data" in r:
                todo += sec_refs.get(r, [])
        return frozenset(out)
    # A function address in writable data could be called from anywhere.
    writable = any(".data" in sec and r in node_of_sec and ".rodata" not in sec
                   for sec, rs in sec_refs.items() for _, r in rs)

    result, nodes = {}, {}
    for entry in sorted(n for n in glob if n.startswith("cnn_")):
        secs = keep(glob[entry])
        every = frozenset(node_of_sec[s] for s in secs if s in node_of_sec and
                          any(r == s and t not in CALLS for x in secs
                              for t, r in sec_refs.get(x, [])))
        reach = set()
        for s in secs:
            if s.startswith("extern:"):
                reach.add(s[7:])
                nodes[s[7:]] = (ext_code.get(s[7:], 0), LIBC_FRAME)
            elif s in sec_size:
                n = node_of_sec.get(s, s)
                reach.add(n)
                nodes[n] = (sec_size[s], frames.get(n, 0))
        memo = {}

        def depth(n, path, held):
            """The deepest stack below and including n; held: the function
            addresses an indirect call may call."""
            held = every if writable else taken_by(n) or held
            if (n, held) in memo:
                return memo[(n, held)]
            if n in path:
                return 0            # a cycle: cut where it closes
            path.add(n)
            succ = set()
            for c in calls.get(n, ()):
                succ |= held if c == "__indirect_call" else {c}
            d, deepest = 0, None
            for c in sorted(succ):
                if depth(c, path, held) > d:
                    d, deepest = depth(c, path, held), (c, taken_by(c) or held)
            path.discard(n)
            frame = frames.get(n, LIBC_FRAME if n in externs else 0)
            memo[(n, held)] = frame + d
            below[(n, held)] = deepest
            return memo[(n, held)]
        below = {}
        code = sum(nodes[n][0] for n in reach)
        worst, k = [], (entry, taken_by(entry))
        d = depth(entry, set(), frozenset())
        while k:
            worst.append(k[0])
            k = below.get(k)
        result[entry] = (code, d, sorted(reach), worst)
    return result, nodes


def libc(tmp, names):
    """Bytes each libc / libgcc function (with what it pulls in) adds to an image."""
    src = os.path.join(tmp, "libc.c")
    with open(src, "w") as f:
        f.write("extern char a[];\nvoid use_none(void) { a[0] = 0; }\n")
        for n in names:
            f.write("extern void %s(void);\nvoid use_%s(void) { a[1] = (char)(long)&%s; }\n"
                    % (n, n, n))
    sizes = {}
    for entry in ["none"] + names:
        elf = os.path.join(tmp, "libc_" + entry + ".elf")
        run([CC] + FLAGS + ["-nostartfiles", "-specs=nano.specs", "-Wl,--gc-sections",
                            "-Wl,-e,use_" + entry, "-Wl,--defsym=a=0x20000000", src, "-lm",
                            "-o", elf])
        text = run(["arm-none-eabi-size", "-A", elf])
        sizes[entry] = sum(int(m.group(2)) for m in
                           re.finditer(r"^(\.text|\.rodata)\S*\s+(\d+)", text, re.M))
    return {n: sizes[n] - sizes["none"] for n in names}


def measure(cnnc):
    with tempfile.TemporaryDirectory() as tmp:
        rt, objs = compile_runtime(cnnc, tmp)
        code, stack = kernels(objs)
        expf, tanhf = libm(tmp)
        entries, nodes = graph(rt, objs, tmp)
    version = run([CC, "--version"]).splitlines()[0]
    return code, stack, expf, tanhf, version, entries, nodes


def header(code, stack, expf, tanhf, version, entries, nodes):
    lines = ["/*",
             " * runtime_costs.h - code bytes and stack frame of every runtime function on a",
             " * Cortex-M4, measured by tools/measure_runtime_costs.py (do not edit; run it",
             " * again when the runtime changes: the firmware tests check this file).",
             " *",
             " * %s" % version,
             " * %s" % " ".join(FLAGS),
             " */",
             "#ifndef CNNC_RUNTIME_COSTS_H",
             "#define CNNC_RUNTIME_COSTS_H",
             "",
             "typedef struct RuntimeCost {",
             "    const char *name;",
             "    int code;       /* bytes of .text */",
             "    int stack;      /* bytes of its own frame */",
             "} RuntimeCost;",
             "",
             "static const RuntimeCost runtime_costs[] = {"]
    for name in sorted(code):
        lines.append('    { "%s", %d, %d },' % (name, code[name], stack.get(name, 0)))
    lines += ["};",
              "",
              "/* newlib-nano's libm, with what each pulls in. */",
              "#define COST_EXPF_CODE %d" % expf,
              "#define COST_TANHF_CODE %d" % tanhf,
              "",
              "/* Every function and constant table an entry point links (a static one",
              " * named object:name, a table by its section), with its bytes and frame. */",
              "typedef struct RuntimeNode {",
              "    const char *name;",
              "    int code;       /* bytes of .text or .rodata */",
              "    int stack;      /* its own frame */",
              "} RuntimeNode;",
              "",
              "static const RuntimeNode runtime_nodes[] = {"]
    order = sorted(nodes)
    index = {n: i for i, n in enumerate(order)}
    for n in order:
        lines.append('    { "%s", %d, %d },' % (n, nodes[n][0], nodes[n][1]))
    lines += ["};",
              "",
              "/* Per public entry point: the bytes of all it links (its reach), the",
              " * deepest stack below it (the largest sum of frames along a call path),",
              " * and its reach as runtime_reach[first .. first + count).  An indirect",
              " * call reaches the functions whose address the nearest caller that takes",
              " * any takes (tools/measure_runtime_costs.py).  budget.c uses these for",
              " * the int8 network; the float figures keep their model of each chain. */",
              "typedef struct RuntimeEntry {",
              "    const char *name;",
              "    int code;",
              "    int stack;",
              "    int first, count;",
              "} RuntimeEntry;",
              "",
              "static const RuntimeEntry runtime_entries[] = {"]
    reach, first = [], 0
    for e in sorted(entries):
        c, st, r, worst = entries[e]
        if len(worst) > 1:
            lines.append("    /* deepest: %s */" % " > ".join(worst[1:]))
        lines.append('    { "%s", %d, %d, %d, %d },' % (e, c, st, first, len(r)))
        reach += [index[n] for n in r]
        first += len(r)
    lines += ["};", "", "static const short runtime_reach[] = {"]
    for i in range(0, len(reach), 16):
        lines.append("    " + " ".join("%d," % k for k in reach[i:i + 16]))
    lines += ["};",
              "",
              "#endif",
              ""]
    return "\n".join(lines)


def parse(path):
    text = open(path).read()
    funcs = text.split("runtime_nodes[]")[0]
    rows = {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r'\{ "(\w+)", (\d+), (\d+) \}', funcs)}
    ents = {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r'\{ "(\w+)", (\d+), (\d+), \d+, \d+ \}', text)}
    expf = int(re.search(r"COST_EXPF_CODE (\d+)", text).group(1))
    tanhf = int(re.search(r"COST_TANHF_CODE (\d+)", text).group(1))
    return rows, expf, tanhf, ents


def main():
    if len(sys.argv) == 3:
        code, stack, expf, tanhf, version, entries, nodes = measure(sys.argv[1])
        with open(sys.argv[2], "w") as f:
            f.write(header(code, stack, expf, tanhf, version, entries, nodes))
        return
    if len(sys.argv) == 4 and sys.argv[2] == "--check":
        code, stack, expf, tanhf, _, entries, _ = measure(sys.argv[1])
        rows, h_expf, h_tanhf, ents = parse(sys.argv[3])
        bad = []
        if set(rows) != set(code):
            bad.append("functions differ: %s" % sorted(set(rows) ^ set(code)))
        for name in sorted(set(rows) & set(code)):
            for what, now, then in (("code", code[name], rows[name][0]), ("stack", stack.get(name, 0), rows[name][1])):
                if abs(now - then) > max(16, then // 10):
                    bad.append("%s %s: measured %d, table %d" % (name, what, now, then))
        if set(ents) != set(entries):
            bad.append("entry points differ: %s" % sorted(set(ents) ^ set(entries)))
        for name in sorted(set(ents) & set(entries)):
            for what, now, then in (("linked code", entries[name][0], ents[name][0]),
                                    ("worst stack", entries[name][1], ents[name][1])):
                if abs(now - then) > max(16, then // 10):
                    bad.append("%s %s: measured %d, table %d" % (name, what, now, then))
        for what, now, then in (("expf", expf, h_expf), ("tanhf", tanhf, h_tanhf)):
            if abs(now - then) > max(16, then // 10):
                bad.append("%s code: measured %d, table %d" % (what, now, then))
        if bad:
            print("runtime_costs.h is stale; run tools/measure_runtime_costs.py CNNC compiler/runtime_costs.h:")
            print("\n".join("  " + b for b in bad))
            sys.exit(1)
        print("runtime_costs.h matches this toolchain (%d functions, %d entry points)"
              % (len(rows), len(ents)))
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
