"""
rtcache.py - the runtime's object files, compiled once per compiler and flags.

Every test that builds generated C links it with the runtime that
`cnnc --emit-runtime` writes.  Compiling that runtime takes 15 to 20 s of CPU
per compiler, far more than a generated network, and dozens of tests (host
and Cortex-M) used to do it again each time.  runtime_objects() compiles it
once per key and keeps the objects in a cache directory that the tests of a
build tree share:

    key = sha256(compiler path and version, flags, every runtime file's name
                 and bytes; with -march=native, the host CPU's model and flags)

so a changed runtime, compiler or flag set is a new key: a stale object can
never be linked.  A lock file per key makes parallel tests wait for the one
that compiles; the objects are written to a temporary directory and renamed
into place, so a killed test leaves no half-filled entry.

Each use touches the key's lock file; when a new entry is made, the least
recently used beyond KEEP are removed, so a build tree's cache stays small
however often the runtime changes.

The cache directory is, in order: the `cache` argument, $CNNC_TEST_CACHE, or
`test-cache` in the build tree that holds cnnc (BUILD/compiler/cnnc ->
BUILD/test-cache).  With none of them (cache_dir() returns None) the objects
are compiled into `objdir` as before.
"""

import concurrent.futures
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile


KEEP = 64          # a normal pass of the suite makes about 20 keys


class RtCacheError(Exception):
    """A runtime source failed to compile; the message holds the diagnostics."""


def cache_dir(cnnc=None):
    """Where the tests of cnnc's build tree keep compiled runtimes, or None."""
    env = os.environ.get("CNNC_TEST_CACHE")
    if env:
        return env
    if cnnc:
        comp = os.path.dirname(os.path.abspath(cnnc))
        if os.path.basename(comp) == "compiler":
            return os.path.join(os.path.dirname(comp), "test-cache")
    return None


_versions = {}


def _compiler_id(cc):
    """The compiler's resolved path and `--version` banner (cached per process)."""
    if cc not in _versions:
        path = shutil.which(cc) or cc
        try:
            r = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
            banner = r.stdout
        except OSError:
            banner = ""
        _versions[cc] = os.path.realpath(path) + "\n" + banner
    return _versions[cc]


def runtime_key(cc, flags, rtdir, suffix=".c"):
    h = hashlib.sha256()
    h.update(_compiler_id(cc).encode())
    h.update(b"\0".join(f.encode() for f in flags) + b"\1" + suffix.encode() + b"\1")
    if any("native" in f for f in flags):      # -march=native: this machine's CPU too
        try:
            with open("/proc/cpuinfo", "rb") as f:
                h.update(b"".join(l for l in f if l.startswith((b"model name", b"flags")))[:4096])
        except OSError:
            pass
    for name in sorted(os.listdir(rtdir)):
        path = os.path.join(rtdir, name)
        if os.path.isfile(path) and name.endswith((".c", ".h")):
            h.update(name.encode() + b"\0")
            with open(path, "rb") as f:
                h.update(f.read())
            h.update(b"\1")
    return h.hexdigest()[:24]


def _compile(cc, flags, rtdir, outdir, jobs, suffix):
    """Every rtdir/*SUFFIX to outdir/NAME.o; returns the objects, or raises."""
    srcs = sorted(f for f in os.listdir(rtdir) if f.endswith(suffix))
    if not srcs:
        raise RtCacheError(f"{rtdir}: no runtime C sources (did cnnc --emit-runtime run?)")

    def one(src):
        obj = os.path.join(outdir, src[:-2] + ".o")
        cmd = [cc, *flags, f"-I{rtdir}", "-c", os.path.join(rtdir, src), "-o", obj]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            return obj, f"{' '.join(cmd)}: {e}"
        return obj, (f"{' '.join(cmd)}\n{r.stderr}" if r.returncode else None)

    with concurrent.futures.ThreadPoolExecutor(jobs or os.cpu_count() or 2) as ex:
        done = list(ex.map(one, srcs))
    errors = [e for _, e in done if e]
    if errors:
        raise RtCacheError("the runtime does not compile:\n" + "\n".join(errors))
    return [o for o, _ in done]


def runtime_objects(cc, flags, rtdir, objdir=None, cache=None, jobs=None, suffix=".c"):
    """The objects of every runtime source in rtdir (every file whose name ends
    in suffix: "_s8.c" takes the int8 kernels only), compiled by cc with flags
    (plus -I rtdir).  From the cache when it holds them; otherwise compiled
    (into the cache, or into objdir when there is no cache).  Raises
    RtCacheError with the compiler's diagnostics when a source fails."""
    rtdir = os.path.abspath(rtdir)
    if cache is None:
        cache = cache_dir()
    if not cache:
        if objdir is None:
            raise RtCacheError("runtime_objects: no cache directory and no objdir")
        os.makedirs(objdir, exist_ok=True)
        return _compile(cc, flags, rtdir, os.path.abspath(objdir), jobs, suffix)
    os.makedirs(cache, exist_ok=True)
    key = runtime_key(cc, flags, rtdir, suffix)
    final = os.path.join(cache, key)
    with open(final + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.isfile(os.path.join(final, "objects")):
            tmp = tempfile.mkdtemp(prefix=key + ".", dir=cache)
            try:
                objs = _compile(cc, flags, rtdir, tmp, jobs, suffix)
                with open(os.path.join(tmp, "objects"), "w") as f:
                    f.write("\n".join(os.path.basename(o) for o in objs) + "\n")
                if os.path.isdir(final):
                    shutil.rmtree(final)
                os.rename(tmp, final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            _prune(cache, key)
        os.utime(final + ".lock")
    with open(os.path.join(final, "objects")) as f:
        return [os.path.join(final, n) for n in f.read().split()]


def _prune(cache, keep_key):
    """Remove the least recently used entries beyond KEEP (never keep_key).
    An entry another test holds the lock of is skipped."""
    entries = []
    for name in os.listdir(cache):
        if name.endswith(".lock") and name[:-5] != keep_key:
            try:
                entries.append((os.path.getmtime(os.path.join(cache, name)), name[:-5]))
            except OSError:
                pass
    entries.sort(reverse=True)
    for _, key in entries[KEEP - 1:]:
        lockpath = os.path.join(cache, key + ".lock")
        try:
            with open(lockpath, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(os.path.join(cache, key), ignore_errors=True)
                os.remove(lockpath)
        except OSError:
            pass                    # in use, or already gone
