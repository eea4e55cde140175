#!/usr/bin/python3
"""
check_rtcache.py - tools/rtcache.py keeps its promises.

    check_rtcache.py CC

On a small runtime of two files in a temporary directory:
1. the first call compiles; a second call with the same compiler, flags and
   files returns the same objects without compiling (their mtimes are kept);
2. a changed source, a changed header, another flag or another suffix is a
   new key, whose objects come from the new bytes (nm sees the new symbol);
3. a source that does not compile raises RtCacheError with the compiler's
   message, and leaves no entry behind;
4. two processes asking for the same key at once compile it once;
5. making entries beyond KEEP removes the least recently used, never the
   one just asked for.
Exit status 0 when all hold, 1 otherwise.
"""

import multiprocessing
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tools"))
import rtcache  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def symbols(obj):
    return subprocess.run(["nm", obj], capture_output=True, text=True).stdout


def entries(cache):
    return sorted(n for n in os.listdir(cache) if not n.endswith(".lock"))


def ask(args):
    cc, rt, cache = args
    return rtcache.runtime_objects(cc, ["-O1"], rt, cache=cache)


def main():
    cc = sys.argv[1] if len(sys.argv) > 1 else "cc"
    with tempfile.TemporaryDirectory() as tmp:
        rt, cache = os.path.join(tmp, "rt"), os.path.join(tmp, "cache")
        os.makedirs(rt)
        write(os.path.join(rt, "k.h"), "#define K 1\n")
        write(os.path.join(rt, "a.c"), '#include "k.h"\nint rt_a(void) { return K; }\n')
        write(os.path.join(rt, "b_s8.c"), "int rt_b(void) { return 2; }\n")

        objs = rtcache.runtime_objects(cc, ["-O1"], rt, cache=cache)
        check(sorted(os.path.basename(o) for o in objs) == ["a.o", "b_s8.o"],
              "every .c compiled: %s" % [os.path.basename(o) for o in objs])
        stamps = [os.path.getmtime(o) for o in objs]
        again = rtcache.runtime_objects(cc, ["-O1"], rt, cache=cache)
        check(again == objs and [os.path.getmtime(o) for o in again] == stamps,
              "the same key again: the same objects, not recompiled")
        check(len(entries(cache)) == 1, "one entry in the cache")

        write(os.path.join(rt, "a.c"), '#include "k.h"\nint rt_a2(void) { return K; }\n')
        changed = rtcache.runtime_objects(cc, ["-O1"], rt, cache=cache)
        check(changed[0] != objs[0] and "rt_a2" in symbols(changed[0]),
              "a changed source: a new entry with the new symbol")
        write(os.path.join(rt, "k.h"), "#define K 3\n")
        hdr = rtcache.runtime_objects(cc, ["-O1"], rt, cache=cache)
        check(hdr[0] != changed[0], "a changed header: a new entry")
        flag = rtcache.runtime_objects(cc, ["-O2"], rt, cache=cache)
        check(flag[0] != hdr[0], "another flag: a new entry")
        s8 = rtcache.runtime_objects(cc, ["-O1"], rt, cache=cache, suffix="_s8.c")
        check([os.path.basename(o) for o in s8] == ["b_s8.o"],
              "suffix _s8.c: the int8 file only, in its own entry")
        n = len(entries(cache))

        write(os.path.join(rt, "bad.c"), "int rt_bad(void) { return undeclared_name; }\n")
        try:
            rtcache.runtime_objects(cc, ["-O1"], rt, cache=cache)
            check(False, "a source that does not compile raises RtCacheError")
        except rtcache.RtCacheError as e:
            check("undeclared_name" in str(e) and "bad.c" in str(e),
                  "a source that does not compile: RtCacheError with the compiler's message")
        check(len(entries(cache)) == n, "the failed compile left no entry behind")
        os.remove(os.path.join(rt, "bad.c"))

        # Two processes, one new key: compiled once (the second waits on the lock).
        write(os.path.join(rt, "k.h"), "#define K 4\n")
        with multiprocessing.Pool(2) as pool:
            a, b = pool.map(ask, [(cc, rt, cache)] * 2)
        check(a == b and len(entries(cache)) == n + 1,
              "two processes asking at once: one entry, the same objects")

        # Beyond KEEP entries (made small here), the least recently used go;
        # the newest stays.
        rtcache.KEEP = 6
        first = entries(cache)
        for k in range(rtcache.KEEP + 2):
            write(os.path.join(rt, "k.h"), "#define K %d\n" % (100 + k))
            last = rtcache.runtime_objects(cc, ["-O1"], rt, cache=cache)
        left = entries(cache)
        check(len(left) == rtcache.KEEP and os.path.exists(last[0]),
              "%d entries made: %d kept (KEEP), the last one among them"
              % (len(first) + rtcache.KEEP + 2, len(left)))
        check(not set(first) & set(left), "the least recently used went first")

        check(rtcache.runtime_objects(cc, ["-O1"], rt, objdir=os.path.join(tmp, "o"), cache="")
              [0].startswith(os.path.join(tmp, "o")), "no cache: compiled into objdir")

    print("%d failed" % len(failures) if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
