#!/usr/bin/python3
"""
check_firmware.py - the generated code is fit for firmware (CTest label "firmware").

    check_firmware.py arm  --cnnc C --cc ARM_GCC --nm NM --objdump OBJDUMP --work DIR NET [-w W]
    check_firmware.py selftest (same options as arm)
    check_firmware.py host --cnnc C --cc CC [--cc CC ...] --nm NM --objdump OBJDUMP --work DIR NET
    check_firmware.py determinism --cnnc C --work DIR NET [NET ...]
    check_firmware.py linked --cnnc C --cc ARM_GCC --nm NM --size SIZE --work DIR
                             --without NET[:W] [--without ...] --with NET [--with ...]

arm:  cnnc compiles NET (weights W, or --random-weights=1), and the generated
      C and every runtime source are compiled for a Cortex-M4 with
      `-std=c99 -Wall -Wextra -Werror -pedantic -O2 -mcpu=cortex-m4
      -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffunction-sections -fdata-sections`.
      Then every object must pass the symbol check below.
host: the same for the host compilers given (gcc, clang) with the strict
      flags and -O2, checked with the host nm/objdump.
selftest: the symbol check must be able to fail.  Each of a list of
      deliberately broken copies of the generated C (a malloc and free, a
      puts, a counter in .bss, an initialized variable in .data, weights
      that lost their const) still compiles with -Werror, and the check must
      reject it naming the culprit; the untouched copy must pass.
determinism: cnnc run twice with the same command line (from two working
      directories) writes byte-identical NAME.c and NAME.h; --emit-runtime too.
linked: link only what runs.  Each NET is linked into a whole Cortex-M4
      image (tests/mcu's startup and linker script, -Wl,--gc-sections, -lm)
      and nm lists what the image holds.  An image of a --without network
      (ReLU-only: no sigmoid, tanh or softmax) must hold no expf, no tanhf,
      no errno (newlib's __errno, _impure_ptr, impure_data) and no activation
      it does not use; an image of a --with network must hold expf, so the
      check is seen to be able to fail.  arm-none-eabi-size's text, data
      and bss are printed for each image.

The symbol check, per object file:
  * no undefined reference to an allocator (malloc, calloc, realloc, free,
    aligned_alloc, memalign, posix_memalign, valloc, sbrk; newlib's _r
    variants) nor to stdio (printf family, puts, putchar, fputs, fopen,
    fwrite, ...) or assert's reporter (which pulls in stdio);
  * no writable data symbol (nm types D d B b C G g S s V v) except the
    network's arena `<net>_arena`, which must be in .bss (type b or B);
  * the writable allocated sections (objdump -h: ALLOC without READONLY or
    CODE) add up to exactly <NET>_ARENA_BYTES over all objects, so nothing
    writable hides behind an unnamed symbol.
  * Exception: .data.rel.ro ("read-only after relocation").  A position-
    independent host build puts there the const parameter blocks that hold
    a pointer (a fused activation's function); the loader relocates them,
    then maps them read-only.  A firmware build (no PIC) puts the same
    blocks in .rodata, and the Cortex-M check holds it to that: there, a
    .data.rel.ro section is counted as writable like any other.

Exit status 0 when all is well, 1 otherwise (a missing tool included: the
message says how to install it).
"""

import argparse
import filecmp
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tools"))
import rtcache  # noqa: E402  (tools/rtcache.py: the runtime compiled once per build tree)

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2"]
CORTEX_M4 = ["-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
             "-ffunction-sections", "-fdata-sections"]

FORBIDDEN = re.compile(
    r"^_*("
    r"malloc|calloc|realloc|reallocarray|reallocf|free|cfree|aligned_alloc|memalign"
    r"|posix_memalign|valloc|pvalloc|sbrk|brk"
    r"|v?[fsd]?n?printf|puts|fputs|putchar|fputc|putc|fopen|fdopen|freopen|fclose|fwrite"
    r"|fread|fflush|perror|getchar|fgets|gets|scanf|fscanf|sscanf|stdout|stderr|stdin"
    r"|impure_ptr|assert_func|assert_fail|assert"
    r")(_r)?$")
WRITABLE_TYPES = set("DdBbCGgSsVv")

INSTALL_HINT = {
    "arm-none-eabi-gcc": "install gcc-arm-none-eabi and libnewlib-arm-none-eabi "
                         "(Debian: sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi, "
                         "or run scripts/install-deps.sh test); CI installs them",
    "clang": "install clang (Debian: sudo apt-get install clang)",
    "arm-none-eabi-nm": "install binutils-arm-none-eabi (Debian; it comes with gcc-arm-none-eabi)",
    "arm-none-eabi-size": "install binutils-arm-none-eabi (Debian; it comes with gcc-arm-none-eabi)",
}


class Failure(Exception):
    pass


def run(cmd, cwd=None):
    try:
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    except OSError as e:
        raise Failure(f"cannot run {cmd[0]}: {e}") from None
    if r.returncode != 0:
        raise Failure(f"{' '.join(cmd)} failed (status {r.returncode}):\n{r.stderr.rstrip()}")
    return r.stdout


def need_tool(path, what):
    """CMake passes <VAR>-NOTFOUND when find_program found nothing."""
    if not path or path.endswith("NOTFOUND") or shutil.which(path) is None:
        hint = INSTALL_HINT.get(what, f"install {what}")
        raise Failure(f"{what} was not found when CMake configured the tests: {hint}, "
                      f"then re-run cmake.  This test fails rather than skips on purpose.")


def generate(cnnc, net, outdir, weights=None):
    """cnnc NET -o OUTDIR/NAME.c; returns (name, c path, runtime dir)."""
    os.makedirs(outdir, exist_ok=True)
    name = None
    for line in run([cnnc, net, "--table=json"]).splitlines():
        m = re.match(r'\s*"network":\s*"([^"]+)"', line)
        if m:
            name = m.group(1)
            break
    if not name:
        raise Failure(f"{cnnc} {net} --table=json: no network name")
    cfile = os.path.join(outdir, name + ".c")
    wopt = ["-w", weights] if weights else ["--random-weights=1"]
    run([cnnc, net, "-o", cfile, *wopt])
    rt = os.path.join(outdir, "rt")
    shutil.rmtree(rt, ignore_errors=True)     # never a stale runtime from an older cnnc
    run([cnnc, "--emit-runtime", rt])
    return name, cfile, rt


def compile_all(cc, flags, sources, incdirs, objdir):
    os.makedirs(objdir, exist_ok=True)
    objs = []
    for src in sources:
        obj = os.path.join(objdir, os.path.splitext(os.path.basename(src))[0] + ".o")
        run([cc, *flags, *[f"-I{d}" for d in incdirs], "-c", src, "-o", obj])
        objs.append(obj)
    return objs


def arena_bytes(hfile, name):
    with open(hfile, encoding="utf-8") as f:
        m = re.search(r"#define\s+" + re.escape(name.upper()) + r"_ARENA_BYTES\s+(\d+)", f.read())
    if not m:
        raise Failure(f"{hfile}: no {name.upper()}_ARENA_BYTES")
    return int(m.group(1))


RELRO = re.compile(r"^\.data\.rel\.ro(\.|$)")


def relro_symbols(objdump, obj):
    """Names of the symbols objdump -t places in a .data.rel.ro section."""
    names = set()
    for line in run([objdump, "-t", obj]).splitlines():
        parts = line.split()
        for k, part in enumerate(parts):
            if RELRO.match(part) and k + 2 < len(parts):
                names.add(parts[-1])
                break
    return names


def writable_section_bytes(objdump, obj, relro_ok=False):
    """Sizes of allocated, writable sections (objdump -h: ALLOC, not READONLY/CODE)."""
    out = run([objdump, "-h", obj]).splitlines()
    total, found = 0, []
    for i, line in enumerate(out):
        m = re.match(r"\s*\d+\s+(\S+)\s+([0-9a-fA-F]+)\s", line)
        if not m or i + 1 >= len(out):
            continue
        if relro_ok and RELRO.match(m.group(1)):
            continue
        flags = {f.strip() for f in out[i + 1].split(",")}
        if "ALLOC" in flags and not flags & {"READONLY", "CODE"}:
            size = int(m.group(2), 16)
            if size:
                total += size
                found.append(f"{m.group(1)} ({size} bytes)")
    return total, found


def check_objects(objs, nm, objdump, name, arena, relro_ok=False):
    """Problems found in the objects of one build (empty list: all good)."""
    problems = []
    arena_sym = name + "_arena"
    seen_arena = False
    writable_total, writable_where = 0, []
    for obj in objs:
        base = os.path.basename(obj)
        relro = relro_symbols(objdump, obj) if relro_ok else set()
        for line in run([nm, obj]).splitlines():
            parts = line.split()
            if len(parts) == 2:
                typ, sym = parts
            elif len(parts) == 3:
                typ, sym = parts[1], parts[2]
            else:
                continue
            if typ == "U" and FORBIDDEN.match(sym):
                problems.append(f"{base}: calls {sym} (allocation or stdio)")
            elif typ in WRITABLE_TYPES and sym not in relro:
                if sym == arena_sym and typ in "bB":
                    seen_arena = True
                elif sym == arena_sym:
                    problems.append(f"{base}: the arena {sym} is nm type '{typ}', not .bss")
                else:
                    problems.append(f"{base}: writable data symbol {sym} (nm type '{typ}'); "
                                    f"only {arena_sym} may be writable")
        size, where = writable_section_bytes(objdump, obj, relro_ok)
        writable_total += size
        writable_where += [f"{base}:{w}" for w in where]
    if arena > 0 and not seen_arena:
        problems.append(f"no .bss symbol {arena_sym} although {name.upper()}_ARENA_BYTES "
                        f"is {arena}")
    if writable_total != arena:
        problems.append(f"writable sections hold {writable_total} bytes, the arena is {arena} "
                        f"bytes: {', '.join(writable_where) or 'none'}")
    return problems


def build_and_check(cc, flags, nm, objdump, name, cfile, rt, objdir, cache, relro_ok=False):
    """Compile the generated C (and the runtime, or take the runtime's objects
    from the build tree's cache) and check every object."""
    objs = compile_all(cc, flags, [cfile], [os.path.dirname(cfile), rt], objdir)
    try:
        objs += rtcache.runtime_objects(cc, flags, rt, objdir=objdir, cache=cache)
    except rtcache.RtCacheError as e:
        raise Failure(str(e)) from None
    arena = arena_bytes(cfile[:-2] + ".h", name)
    return check_objects(objs, nm, objdump, name, arena, relro_ok), len(objs), arena


def cmd_arm(a):
    need_tool(a.cc, "arm-none-eabi-gcc")
    need_tool(a.nm, "arm-none-eabi-nm")
    need_tool(a.objdump, "arm-none-eabi-objdump")
    name, cfile, rt = generate(a.cnnc, a.net, os.path.join(a.work, "gen"), a.weights)
    problems, n, arena = build_and_check(a.cc, STRICT + CORTEX_M4, a.nm, a.objdump, name,
                                         cfile, rt, os.path.join(a.work, "obj"),
                                         rtcache.cache_dir(a.cnnc))
    if problems:
        raise Failure("\n".join(problems))
    print(f"{name}: {n} objects compiled for Cortex-M4 with -Werror; no allocation, no stdio, "
          f"only {name}_arena ({arena} bytes, .bss) writable")


# (what, insert-at-top, insert-at-start-of-run, (regex, replacement) or None, expected word)
MUTATIONS = [
    ("malloc and free in the run function", "#include <stdlib.h>\n",
     "    void *volatile cnnc_injected = malloc(16);\n    free(cnnc_injected);\n", None, "malloc"),
    ("calloc in the run function", "#include <stdlib.h>\n",
     "    float *volatile cnnc_injected = calloc(4, sizeof *cnnc_injected);\n"
     "    (void)cnnc_injected;\n", None, "calloc"),
    ("puts in the run function", "#include <stdio.h>\n",
     "    puts(\"running\");\n", None, "puts"),
    ("a counter in .bss", "static unsigned cnnc_injected_calls;\n",
     "    cnnc_injected_calls++;\n", None, "cnnc_injected_calls"),
    ("an initialized variable in .data", "static float cnnc_injected_gain = 2.0f;\n",
     "    cnnc_injected_gain *= 1.5f;\n", None, "cnnc_injected_gain"),
    ("weights without const", "", "", (r"static const float ", "static float "), "writable"),
]


def mutate(src, name, top, body, sub):
    run_head = re.search(r"void\s+" + re.escape(name) + r"_run\s*\([^)]*\)\s*\{\n", src)
    if not run_head:
        raise Failure(f"cannot find {name}_run in the generated C")
    out = src[:run_head.end()] + body + src[run_head.end():]
    inc = re.search(r'#include "[^"]+\.h"\n', out)
    out = out[:inc.end()] + top + out[inc.end():]
    if sub:
        out, n = re.subn(sub[0], sub[1], out, count=1)
        if n != 1:
            raise Failure(f"mutation pattern {sub[0]!r} not found")
    return out


def cmd_selftest(a):
    need_tool(a.cc, "arm-none-eabi-gcc")
    need_tool(a.nm, "arm-none-eabi-nm")
    need_tool(a.objdump, "arm-none-eabi-objdump")
    name, cfile, rt = generate(a.cnnc, a.net, os.path.join(a.work, "gen"), a.weights)
    flags = STRICT + CORTEX_M4
    cache = rtcache.cache_dir(a.cnnc)
    problems, _, _ = build_and_check(a.cc, flags, a.nm, a.objdump, name, cfile, rt,
                                     os.path.join(a.work, "obj-clean"), cache)
    if problems:
        raise Failure("the unmodified code fails the check:\n" + "\n".join(problems))
    print(f"unmodified {name}.c: passes")
    with open(cfile, encoding="utf-8") as f:
        src = f.read()
    bad = []
    for i, (what, top, body, sub, word) in enumerate(MUTATIONS):
        d = os.path.join(a.work, f"mut{i}")
        os.makedirs(d, exist_ok=True)
        mc = os.path.join(d, name + ".c")
        with open(mc, "w", encoding="utf-8") as f:
            f.write(mutate(src, name, top, body, sub))
        shutil.copy(cfile[:-2] + ".h", d)
        problems, _, _ = build_and_check(a.cc, flags, a.nm, a.objdump, name, mc, rt,
                                         os.path.join(d, "obj"), cache)
        hits = [p for p in problems if word in p]
        if hits:
            print(f"{what}: rejected as expected: {hits[0]}")
        else:
            bad.append(f"{what}: the check did not report '{word}' "
                       f"(it said: {problems or 'nothing'})")
    if bad:
        raise Failure("\n".join(bad))


def cmd_host(a):
    need_tool(a.nm, "nm")
    need_tool(a.objdump, "objdump")
    for cc in a.cc:
        need_tool(cc, re.sub(r"^CNNC_|-NOTFOUND$", "", os.path.basename(cc or "cc")).lower())
    name, cfile, rt = generate(a.cnnc, a.net, os.path.join(a.work, "gen"), a.weights)
    all_problems = []
    for cc in a.cc:
        tag = os.path.basename(cc)
        problems, n, arena = build_and_check(cc, STRICT, a.nm, a.objdump, name, cfile, rt,
                                             os.path.join(a.work, "obj-" + tag),
                                             rtcache.cache_dir(a.cnnc), relro_ok=True)
        all_problems += [f"[{tag}] {p}" for p in problems]
        if not problems:
            print(f"{name}: {tag} {' '.join(STRICT)}: {n} objects, no warnings, no allocation, "
                  f"no stdio, only the arena ({arena} bytes) writable")
    if all_problems:
        raise Failure("\n".join(all_problems))


def cmd_determinism(a):
    os.makedirs(a.work, exist_ok=True)
    dirs = [os.path.join(a.work, d) for d in ("first", "second")]
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    diffs, n = [], 0
    for net in a.nets:
        net = os.path.abspath(net)
        stem = re.sub(r"[^A-Za-z0-9_]", "_", os.path.relpath(net))
        for d in dirs:
            # The same command line in both runs: the output name is relative.
            run([a.cnnc, net, "-o", stem + ".c", "--random-weights=7"], cwd=d)
        for ext in (".c", ".h"):
            f1, f2 = (os.path.join(d, stem + ext) for d in dirs)
            n += 1
            if not filecmp.cmp(f1, f2, shallow=False):
                diffs.append(f"{net}: the two {ext} files differ ({f1}, {f2})")
    for d in dirs:
        run([a.cnnc, "--emit-runtime", "rt"], cwd=d)
    rt1 = sorted(os.listdir(os.path.join(dirs[0], "rt")))
    rt2 = sorted(os.listdir(os.path.join(dirs[1], "rt")))
    if rt1 != rt2:
        diffs.append(f"--emit-runtime wrote different files: {rt1} vs {rt2}")
    for f in rt1:
        n += 1
        if not filecmp.cmp(*(os.path.join(d, "rt", f) for d in dirs), shallow=False):
            diffs.append(f"--emit-runtime: {f} differs")
    if diffs:
        raise Failure("\n".join(diffs))
    print(f"{len(a.nets)} networks and the runtime: {n} files byte-identical over two runs")


# What a ReLU-only image must not hold: libm's exp and tanh and newlib's
# errno machinery (with_errnof and __errno set it; _impure_ptr and
# impure_data are the reentrancy block it lives in, about 1 KB of RAM).
LIBM_SYMBOLS = re.compile(r"^(expf|tanhf|__ieee754_expf|__ieee754_tanhf|__errno|errno"
                          r"|with_errnof|_impure_ptr|impure_data)$")
ACT_SYMBOLS = ("cnn_relu_f32", "cnn_relu6_f32", "cnn_leaky_relu_f32", "cnn_sigmoid_f32",
               "cnn_tanh_f32")


def image_symbols(nm, elf):
    syms = set()
    for line in run([nm, elf]).splitlines():
        parts = line.split()
        if len(parts) >= 2:
            syms.add(parts[-1])
    return syms


def cmd_linked(a):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "mcu"))
    import mcu_harness as mh  # noqa: E402  (tests/mcu: the image builder)
    need_tool(a.cc, "arm-none-eabi-gcc")
    need_tool(a.nm, "arm-none-eabi-nm")
    need_tool(a.size, "arm-none-eabi-size")
    problems = []
    for kind, nets in (("without", a.without), ("with", a.with_)):
        for spec in nets:
            net, _, weights = spec.partition(":")
            stem = re.sub(r"[^A-Za-z0-9_]", "_", os.path.relpath(net, a.work))[-40:]
            work = os.path.join(a.work, kind + "-" + stem)
            try:
                n = mh.Network(a.cnnc, net, work, weights=weights or None)
                elf = n.build_arm(a.cc, "m4")
            except mh.Failure as e:
                raise Failure(str(e)) from None
            syms = image_symbols(a.nm, elf)
            sizes = run([a.size, elf]).splitlines()[-1].split()
            text, data, bss = sizes[0], sizes[1], sizes[2]
            acts = sorted(s for s in syms if s in ACT_SYMBOLS)
            print(f"{n.name} ({os.path.relpath(net)}): Cortex-M4 image text {text}, data {data}, "
                  f"bss {bss} bytes; activations linked: {', '.join(acts) or 'none'}")
            used = {l["op"] for l in n.layers} | {l.get("attrs", {}).get("act")
                                                   for l in n.layers}
            if kind == "without":
                if used & {"sigmoid", "tanh", "softmax"}:
                    raise Failure(f"{net} uses sigmoid, tanh or softmax; --without wants a "
                                  f"network that does not")
                bad = sorted(s for s in syms if LIBM_SYMBOLS.match(s))
                if bad:
                    problems.append(f"{net}: the image links {', '.join(bad)}, which no layer "
                                    f"of the network needs")
                unused = [s for s in acts if s[4:-4] not in used]
                if unused:
                    problems.append(f"{net}: the image links {', '.join(unused)}, an activation "
                                    f"the network does not use")
                if int(data) != 0:
                    problems.append(f"{net}: the image has {data} bytes of .data "
                                    f"(initialised RAM); a network needs none")
            elif "expf" not in syms:
                problems.append(f"{net}: a network with sigmoid/softmax, but no expf in its "
                                f"image: the symbol check would not see it")
    if problems:
        raise Failure("\n".join(problems))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Check that cnnc's output is fit for firmware.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for cmd in ("arm", "selftest", "host"):
        p = sub.add_parser(cmd)
        p.add_argument("--cnnc", required=True)
        p.add_argument("--cc", required=True, action="append" if cmd == "host" else "store")
        p.add_argument("--nm", required=True)
        p.add_argument("--objdump", required=True)
        p.add_argument("--work", required=True)
        p.add_argument("-w", dest="weights", help="weights (default --random-weights=1)")
        p.add_argument("net")
    p = sub.add_parser("linked")
    p.add_argument("--cnnc", required=True)
    p.add_argument("--cc", required=True)
    p.add_argument("--nm", required=True)
    p.add_argument("--size", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--without", action="append", default=[], metavar="NET[:W]")
    p.add_argument("--with", dest="with_", action="append", default=[], metavar="NET[:W]")
    p = sub.add_parser("determinism")
    p.add_argument("--cnnc", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("nets", nargs="+")
    a = ap.parse_args(argv)
    try:
        {"arm": cmd_arm, "selftest": cmd_selftest, "host": cmd_host,
         "determinism": cmd_determinism, "linked": cmd_linked}[a.cmd](a)
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
