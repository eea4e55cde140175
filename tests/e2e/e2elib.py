"""
e2elib.py - what the end-to-end tests share: deterministic random weights,
running cnnc, compiling generated C with the runtime and harness.c, running
the harness, and comparing its outputs with PyTorch's.

Importing it needs torch (the importer exits 77, "skipped", without it; CTest
is told nothing is skipped, so the test fails loudly instead, see
tests/e2e/CMakeLists.txt).
"""

import concurrent.futures
import math
import os
import re
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "oracle"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from export_safetensors import save_state_dict  # noqa: E402
import rtcache  # noqa: E402

torch.set_num_threads(1)

HARNESS_C = os.path.join(HERE, "harness.c")
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
# The sanitizer build runs the generated code under ASan and UBSan too: an
# out-of-bounds read in a padding or ceil_mode window aborts the harness.
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
if os.environ.get("CNNC_E2E_SANITIZE"):
    CFLAGS += SANITIZE

# |y - ref| <= RTOL * max(1, |ref|), ref computed by PyTorch in float64.
RTOL = 1e-4


class E2EError(Exception):
    """A step failed; the message says which and why."""


# --- weights ---------------------------------------------------------------

def randomize(model, seed):
    """Give every parameter and buffer of model seeded random values.

    conv/linear: weight uniform with variance 1/fan_in (activations keep their
    scale through a deep stack), bias uniform(-0.5, 0.5).  batchnorm: weight
    uniform(0.5, 1.5), bias normal(0, 0.5), running_mean normal(0, 0.5),
    running_var uniform(0.25, 2.5): none of them the identity, var > 0."""
    g = torch.Generator().manual_seed(seed)

    def uni(t, lo, hi):
        t.copy_(torch.rand(t.shape, generator=g, dtype=torch.float64) * (hi - lo) + lo)

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                b = math.sqrt(3.0 / fan_in)
                uni(m.weight, -b, b)
                if m.bias is not None:
                    uni(m.bias, -0.5, 0.5)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                uni(m.weight, 0.5, 1.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.5)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.5)
                uni(m.running_var, 0.25, 2.5)
                m.num_batches_tracked.fill_(7)
    model.eval()
    return model


def save_weights(model, path):
    save_state_dict(model.state_dict(), path, metadata={"generator": "tests/e2e"})


def reference(model, x):
    """PyTorch's answer in float64 (the float32 weights are exact in double),
    and in float32 too (printed beside a failure, to tell a wrong kernel from a
    tolerance that is too tight)."""
    m64 = _double_copy(model)
    with torch.no_grad():
        y64 = m64(x.double().unsqueeze(0))[0]
        y32 = model(x.float().unsqueeze(0))[0]
    return y64, y32


def _double_copy(model):
    import copy
    m = copy.deepcopy(model).double()
    m.eval()
    return m


# --- running tools ---------------------------------------------------------

def run(cmd, what, timeout=300, cwd=None):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise E2EError(f"{what}: cannot run {' '.join(cmd)}: {e}") from None
    return r


def cnnc_compile(cnnc, net, out_c, weights):
    """cnnc NET -o OUT_C -w WEIGHTS; E2EError with cnnc's messages on failure."""
    cmd = [cnnc, net, "-o", out_c, "-w", weights]
    r = run(cmd, "cnnc")
    if r.returncode != 0:
        raise E2EError(f"cnnc failed (exit {r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return out_c[:-2] + ".h"


def prepare_case(cnnc, casedir, case):
    """Write CASE.net and its weights (case.text, case.model) into CASEDIR and
    compile them; sets case.header and case.csrc.  None, or cnnc's messages."""
    base = os.path.join(casedir, case.name)
    with open(base + ".net", "w") as f:
        f.write(case.text)
    save_weights(case.model, base + ".safetensors")
    try:
        case.header = cnnc_compile(cnnc, base + ".net", base + ".c", base + ".safetensors")
        case.csrc = base + ".c"
        return None
    except E2EError as e:
        return str(e)


def emit_runtime(cnnc, rtdir):
    r = run([cnnc, "--emit-runtime", rtdir], "cnnc --emit-runtime")
    if r.returncode != 0:
        raise E2EError(f"cnnc --emit-runtime {rtdir} failed:\n{r.stderr}")
    srcs = sorted(os.path.join(rtdir, f) for f in os.listdir(rtdir) if f.endswith(".c"))
    if not srcs or not os.path.exists(os.path.join(rtdir, "cnn.h")):
        raise E2EError(f"cnnc --emit-runtime {rtdir} wrote no cnn.h or no .c files")
    return srcs


def write_nets_h(path, nets):
    """nets: [(name, header path)].  The header harness.c includes."""
    lines = ["/* generated by tests/e2e: the networks harness.c dispatches to */",
             "#ifndef E2E_NETS_H", "#define E2E_NETS_H"]
    lines += [f'#include "{os.path.basename(h)}"' for _, h in nets]
    lines.append("#define CNNC_NETS(X) \\")
    lines += [f"    X({n}, {n.upper()}) \\" for n, _ in nets]
    lines += ["", "#endif", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def compile_objects(cc, sources, objdir, incdirs, opt, jobs=None):
    """Compile each source to its own object in parallel; returns the objects.
    A failure raises E2EError naming the source and giving the diagnostics."""
    os.makedirs(objdir, exist_ok=True)
    tag = os.path.basename(cc)

    def one(src):
        obj = os.path.join(objdir, os.path.basename(src)[:-2] + f".{tag}.o")
        cmd = [cc] + CFLAGS + opt.split() + ["-c", src, "-o", obj] + [f"-I{d}" for d in incdirs]
        r = run(cmd, cc)
        if r.returncode != 0:
            return src, None, f"{' '.join(cmd)}\n{r.stderr}"
        return src, obj, None

    jobs = jobs or os.cpu_count() or 2
    objs, errors = [], []
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        for src, obj, err in ex.map(one, sources):
            if err:
                errors.append((src, err))
            else:
                objs.append(obj)
    return objs, errors


def runtime_objects(cnnc, cc, rt, objdir, opt):
    """The runtime that cnnc emitted into rt, compiled by cc with the strict
    flags and opt: from the build tree's cache when another test compiled the
    same runtime with the same compiler and flags (tools/rtcache.py), else
    compiled now.  Returns (objects, [(source, error)])."""
    try:
        objs = rtcache.runtime_objects(cc, CFLAGS + opt.split(), rt, objdir=objdir,
                                       cache=rtcache.cache_dir(cnnc))
        return objs, []
    except rtcache.RtCacheError as e:
        return [], [(rt, str(e))]


def compile_unity(cc, sources, objdir, incdirs, opt, jobs=None, chunk=60):
    """Compile many generated files fast: each chunk of sources becomes one
    translation unit that #includes them (every symbol cnnc emits carries the
    network's name, so the files coexist).  A chunk that fails is compiled
    again file by file, which names the culprit; if every file compiles alone
    the chunk's objects are used and a note is returned.
    Returns (objects, [(source, error)], [notes])."""
    os.makedirs(objdir, exist_ok=True)
    tag = os.path.basename(cc)
    jobs = jobs or os.cpu_count() or 2
    n = max(1, min(chunk, -(-len(sources) // jobs)))
    groups = [sources[i:i + n] for i in range(0, len(sources), n)]

    def one(k):
        unity = os.path.join(objdir, f"unity{k}.c")
        with open(unity, "w") as f:
            f.write("/* generated by tests/e2e: several generated networks in one unit */\n")
            f.writelines(f'#include "{os.path.abspath(s)}"\n' for s in groups[k])
        obj = os.path.join(objdir, f"unity{k}.{tag}.o")
        cmd = [cc] + CFLAGS + opt.split() + ["-c", unity, "-o", obj] + [f"-I{d}" for d in incdirs]
        r = run(cmd, cc)
        return k, (obj if r.returncode == 0 else None), r.stderr

    objs, errors, notes, redo = [], [], [], []
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        for k, obj, err in ex.map(one, range(len(groups))):
            if obj:
                objs.append(obj)
            else:
                redo += groups[k]
                notes.append(err)
    if redo:
        o2, e2 = compile_objects(cc, redo, objdir, incdirs, opt, jobs)
        objs += o2
        errors += e2
        if not e2:
            notes = [f"{cc}: generated files that compile alone fail together in one unit:\n"
                     + "\n".join(notes)]
        else:
            notes = []
    return objs, errors, notes


def link(cc, objs, exe):
    cmd = [cc] + objs + ["-o", exe, "-lm"] + (SANITIZE if os.environ.get("CNNC_E2E_SANITIZE") else [])
    r = run(cmd, cc)
    if r.returncode != 0:
        raise E2EError(f"link failed: {' '.join(cmd[:3])} ... -o {exe}\n{r.stderr}")
    return exe


# --- the harness -----------------------------------------------------------

def write_records(path, records):
    """records: [(net index, [input tensors])]."""
    with open(path, "wb") as f:
        for idx, xs in records:
            f.write(struct.pack("=II", idx, len(xs)))
            for x in xs:
                f.write(x.detach().to(torch.float32).contiguous().numpy().tobytes())


def run_harness(exe, inpath, outpath, records, out_sizes, timeout=600):
    """Run exe over the records; returns (outputs, crashes).  outputs[r] is a
    list of float32 tensors, or None when record r crashed or failed a harness
    check; crashes maps a record to the harness's message.  After a crash the
    harness is restarted on the next record."""
    sizes = [out_sizes[idx] * len(xs) * 4 for idx, xs in records]
    offsets = [0]
    for s in sizes:
        offsets.append(offsets[-1] + s)
    first, crashes = 0, {}
    while first < len(records):
        cmd = [exe, inpath, outpath, str(first)]
        r = run(cmd, "harness", timeout=timeout)
        if r.returncode == 0:
            break
        started = [int(m) for m in re.findall(r"^case (\d+)$", r.stderr, re.M)]
        bad = started[-1] if started else first
        msg = "\n".join(l for l in r.stderr.splitlines() if not l.startswith("case "))
        sig = f"signal {-r.returncode}" if r.returncode < 0 else f"exit {r.returncode}"
        crashes[bad] = f"harness {sig}: {msg.strip() or '(no message)'}"
        with open(outpath, "r+b") as f:       # drop a partly written record
            f.truncate(offsets[bad])
            f.seek(0, 2)
            f.write(b"\0" * sizes[bad])        # placeholder keeps offsets
        first = bad + 1
    with open(outpath, "rb") as f:
        data = f.read()
    if len(data) != offsets[-1]:
        raise E2EError(f"harness wrote {len(data)} bytes, expected {offsets[-1]}")
    outs = []
    for r_i, (idx, xs) in enumerate(records):
        if r_i in crashes:
            outs.append(None)
            continue
        n = out_sizes[idx]
        t = torch.frombuffer(bytearray(data[offsets[r_i]:offsets[r_i + 1]]),
                             dtype=torch.float32)
        outs.append([t[k * n:(k + 1) * n].clone() for k in range(len(xs))])
    return outs, crashes


# --- comparing -------------------------------------------------------------

def unravel(i, shape):
    idx = []
    for d in reversed(shape):
        idx.append(i % d)
        i //= d
    return tuple(reversed(idx))


def axis_names(shape):
    return {3: "C,H,W", 2: "C,L", 1: "N"}.get(len(shape), "index")


def compare(y, ref64, ref32, shape):
    """None when every element is within tolerance, else a dict describing the
    first bad element (index in shape) and the largest error."""
    y = y.double().reshape(-1)
    r = ref64.double().reshape(-1)
    if y.numel() != r.numel():
        return {"msg": f"output has {y.numel()} elements, PyTorch {r.numel()}"}
    # Equal values (also equal infinities, e.g. a max pool window that lies
    # wholly in the padding gives -inf) and NaN where PyTorch has NaN pass.
    both_nan = (torch.isnan(y) & torch.isnan(r)) | (y == r)
    err = torch.where(both_nan, torch.zeros_like(y), (y - r).abs())
    tol = RTOL * torch.clamp(r.abs(), min=1.0)
    bad = ~((err <= tol) | both_nan)
    if not bool(bad.any()):
        return None
    first = int(bad.nonzero()[0])
    rel = torch.where(both_nan, torch.zeros_like(err), err / torch.clamp(r.abs(), min=1.0))
    rel = torch.nan_to_num(rel, nan=math.inf)
    worst = int(torch.argmax(rel))
    r32 = ref32.double().reshape(-1)
    return {
        "first": unravel(first, shape), "axes": axis_names(shape),
        "y": float(y[first]), "ref": float(r[first]), "ref32": float(r32[first]),
        "worst": unravel(worst, shape), "worst_y": float(y[worst]),
        "worst_ref": float(r[worst]), "worst_rel": float(rel[worst]),
        "nbad": int(bad.sum()), "n": y.numel(),
        "torch32_rel": largest_error(r32, r),
    }


def largest_error(y, ref64):
    """max |y - ref| / max(1, |ref|) over the elements (NaN counts as inf)."""
    y = y.double().reshape(-1)
    r = ref64.double().reshape(-1)
    if y.numel() != r.numel() or y.numel() == 0:
        return math.inf if y.numel() != r.numel() else 0.0
    same = (torch.isnan(y) & torch.isnan(r)) | (y == r)
    rel = torch.where(same, torch.zeros_like(y), (y - r).abs() / r.abs().clamp(min=1.0))
    rel = torch.nan_to_num(rel, nan=math.inf)
    return float(rel.max())


def describe(d):
    if "msg" in d:
        return d["msg"]
    return (f"{d['nbad']} of {d['n']} elements off; first at ({d['axes']}) = {d['first']}: "
            f"C {d['y']:.9g}, PyTorch {d['ref']:.9g} (float32 PyTorch {d['ref32']:.9g}); "
            f"largest error {d['worst_rel']:.3g} (relative to max(1,|ref|)) at {d['worst']}: "
            f"C {d['worst_y']:.9g}, PyTorch {d['worst_ref']:.9g}; "
            f"float32 PyTorch's own largest error {d['torch32_rel']:.3g}")


def find_compilers(names):
    import shutil
    found = [c for c in names if shutil.which(c)]
    return found
