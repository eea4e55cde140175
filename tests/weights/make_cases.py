#!/usr/bin/python3
"""Test cases for cnnc's safetensors reader (compiler/weights.c).

Every case is a small file written here with the standard library alone (no
dependence on tools/export_safetensors.py), together with what the test
driver weights_check must make of it:

  good cases   exit 0 and the exact listing: every tensor's name, dtype, shape,
               count and each value as float32 bits.  The expected bits come
               from CPython's own struct codecs ('e' half, 'f' float, 'd'
               double), an implementation independent of the C reader.
  bad cases    exit 1, nothing on stdout, every stderr line of the form
               "PATH: error: ...", and each expected message substring present
               (and, where given, exactly that many errors).

Usage (CTest runs the third form, one test per case):

  make_cases.py list                          names of all cases
  make_cases.py write OUTDIR                  write every case's file
  make_cases.py check DRIVER OUTDIR CASE      write one case, run DRIVER, compare
"""

import math
import os
import random
import struct
import subprocess
import sys

GENERATOR = "tests/weights/make_cases.py 1"
FLT_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]


# ---- a minimal safetensors writer ------------------------------------------

def quote(s):
    """A JSON string; non-ASCII kept as UTF-8, control bytes escaped."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def dims(shape):
    return "[" + ", ".join(str(d) for d in shape) + "]"


def entry(dtype, shape, begin, end, extra=""):
    return '{"dtype": %s, "shape": %s, "data_offsets": [%d, %d]%s}' % (
        quote(dtype), dims(shape), begin, end, extra)


def raw_file(header, data=b"", hlen=None, pad=True):
    """Length prefix + header text (padded with spaces to 8 like the reference
    writer) + data.  hlen overrides the length field."""
    h = header.encode("utf-8") if isinstance(header, str) else header
    if pad:
        h += b" " * (-(8 + len(h)) % 8)
    n = len(h) if hlen is None else hlen
    return struct.pack("<Q", n) + h + data


def encode(values, dtype):
    """Raw little-endian bytes of a list of numbers in a safetensors dtype."""
    if dtype == "F32":
        return b"".join(struct.pack("<f", v) for v in values)
    if dtype == "F16":
        return b"".join(struct.pack("<e", v) for v in values)
    if dtype == "BF16":
        # values are chosen exactly representable: keep the high half
        return b"".join(struct.pack("<f", v)[2:] for v in values)
    if dtype == "F64":
        return b"".join(struct.pack("<d", v) for v in values)
    if dtype == "I64":
        return b"".join(struct.pack("<q", v) for v in values)
    if dtype == "I32":
        return b"".join(struct.pack("<i", v) for v in values)
    if dtype in ("U8", "BOOL"):
        return bytes(values)
    raise ValueError(dtype)


def expect_bits(raw, dtype):
    """float32 bits the reader must produce from raw bytes (None: no data)."""
    if dtype == "F32":
        return [struct.unpack("<I", raw[i:i + 4])[0] for i in range(0, len(raw), 4)]
    if dtype == "F16":
        vals = [struct.unpack("<e", raw[i:i + 2])[0] for i in range(0, len(raw), 2)]
    elif dtype == "BF16":
        return [struct.unpack("<H", raw[i:i + 2])[0] << 16 for i in range(0, len(raw), 2)]
    elif dtype == "F64":
        vals = [struct.unpack("<d", raw[i:i + 8])[0] for i in range(0, len(raw), 8)]
    else:
        return None
    return [f32_bits(v) for v in vals]


def f32_bits(v):
    """CPython's rounding of a double to float32 (0xffffffff: out of range,
    which only bad cases hold)."""
    try:
        return struct.unpack("<I", struct.pack("<f", v))[0]
    except OverflowError:
        return 0xffffffff


class Tensor:
    def __init__(self, name, dtype, shape, values=None, raw=None):
        self.name, self.dtype, self.shape = name, dtype, list(shape)
        self.raw = raw if raw is not None else encode(values, dtype)


def build(tensors, metadata=None, layout=None, gap=0, trailing=b"", extra=None):
    """A well-formed file.  Data are laid out in `layout` order (names), with
    `gap` spare bytes before each tensor; the header lists them in the given
    order.  Returns (bytes, listing)."""
    layout = layout or [t.name for t in tensors]
    by_name = {t.name: t for t in tensors}
    data, where = b"", {}
    for name in layout:
        data += b"\xee" * gap
        where[name] = (len(data), len(data) + len(by_name[name].raw))
        data += by_name[name].raw
    parts = []
    if metadata is not None:
        parts.append('"__metadata__": {%s}' % ", ".join(
            "%s: %s" % (quote(k), quote(v)) for k, v in metadata.items()))
    for t in tensors:
        parts.append("%s: %s" % (quote(t.name),
                                 entry(t.dtype, t.shape, *where[t.name],
                                       (extra or {}).get(t.name, ""))))
    return raw_file("{" + ", ".join(parts) + "}", data + trailing), listing(tensors)


def listing(tensors):
    """The driver's exact stdout for a successful load."""
    lines = ["%d tensor%s" % (len(tensors), "" if len(tensors) == 1 else "s")]
    for t in tensors:
        count = math.prod(t.shape)
        bits = expect_bits(t.raw, t.dtype)
        lines.append("tensor %s %s %s %d%s" % (t.name, t.dtype, dims(t.shape), count,
                                              "" if bits is not None else " no data"))
        for k, b in enumerate(bits or []):
            f = struct.unpack("<f", struct.pack("<I", b))[0]
            lines.append("  %d 0x%08x %s" % (k, b, "%.9g" % f))
    return "\n".join(lines) + "\n"


# ---- the cases ---------------------------------------------------------------

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def good(data, out, mode="file"):
    return {"kind": "good", "data": data, "stdout": out, "mode": mode}


def bad(data, *messages, count=None):
    return {"kind": "bad", "data": data, "messages": list(messages), "count": count}


def one(name, dtype, shape, begin, end, data, meta=None):
    """A file with one entry written by hand (offsets need not make sense)."""
    m = '"__metadata__": %s, ' % meta if meta is not None else ""
    return raw_file("{%s%s: %s}" % (m, quote(name), entry(dtype, shape, begin, end)), data)


# good ------------------------------------------------------------------------

TINY = 2.0 ** -149           # smallest float32 subnormal
F32_VALUES = [1.0, -2.5, 0.1, 1 / 3, FLT_MAX, -FLT_MAX, 2.0 ** -126, TINY, 2.0 ** -130,
              0.0, -0.0, 123456.789, -1e-20, 3.0]


@case
def f32_values():
    return good(*build([Tensor("c1.weight", "F32", [2, 1, 7], F32_VALUES),
                        Tensor("c1.bias", "F32", [2], [0.5, -0.25])],
                       metadata={"format": "pt"}))


@case
def f16_values():
    vals = [1.0, -2.0, 65504.0, -65504.0, 2.0 ** -14, 2.0 ** -24, -(2.0 ** -24),
            1023 * 2.0 ** -24, 3 * 2.0 ** -24, 0.0, -0.0, 0.333251953125, 0.1, 1e-5]
    return good(*build([Tensor("w", "F16", [7, 2], vals)]))


@case
def f16_all_finite():
    """Every finite half value, converted exactly."""
    raw = b"".join(struct.pack("<H", h) for h in range(0x10000) if (h >> 10 & 0x1f) != 0x1f)
    return good(*build([Tensor("all", "F16", [len(raw) // 2], raw=raw)]))


@case
def bf16_values():
    vals = [1.0, -1.5, 2.0 ** 100, -(2.0 ** -130), 2.0 ** -133, 3.3895313892515355e38,
            0.0, -0.0, 0.15625, 2.0 ** -126]
    return good(*build([Tensor("bn.weight", "BF16", [10], vals)]))


@case
def f64_values():
    mid = float.fromhex("0x1.ffffffp127")
    vals = [0.1, -0.1, 1 / 3, 1e-40, -1e-45, 1e-50, 1e38, -3.4028235e38,
            math.nextafter(mid, 0), -math.nextafter(mid, 0), 2.0 ** -149 * 0.5000001,
            2.0 ** -149 * 0.5, 16777217.0, 0.0]
    return good(*build([Tensor("fc.weight", "F64", [2, 7], vals)]))


def mixed():
    tensors = [
        Tensor("bn.num_batches_tracked", "I64", [], [7]),
        Tensor("bn.running_mean", "F16", [3], [0.5, -1.0, 2.0]),
        Tensor("conv.weight", "F32", [2, 1, 1, 2], [1.0, 2.0, 3.0, 4.0]),
        Tensor("scalar", "F32", [], [42.0]),
        Tensor("empty", "F32", [0, 3], []),
        Tensor("mask", "BOOL", [2], [1, 0]),
        Tensor("codes", "U8", [3], [1, 2, 3]),
        Tensor("idx", "I32", [2], [-1, 5]),
        Tensor("fancy", "F8_E8M0", [4], raw=b"\x01\x02\x03\x04"),
        Tensor("odd", "X99", [1], raw=b"\x00\x00\x00\x00\x00"),
        Tensor("lin.weight", "F64", [1, 2], [0.25, -8.0]),
        Tensor("lin.bias", "BF16", [1], [-3.0]),
    ]
    layout = ["mask", "bn.running_mean", "conv.weight", "codes", "empty", "idx", "odd",
              "bn.num_batches_tracked", "lin.bias", "fancy", "scalar", "lin.weight"]
    return build(tensors, metadata={"format": "pt", "note": "d\u00e9j\u00e0 vu"}, layout=layout,
                 gap=3, trailing=b"trailing bytes",
                 extra={"conv.weight": ', "comment": [1, {"x": null}]'})


@case
def mixed_dtypes():
    return good(*mixed())


@case
def mixed_dtypes_bytes():
    return good(*mixed(), mode="bytes")


@case
def empty_object():
    return good(raw_file("{}"), "0 tensors\n")


@case
def metadata_only():
    return good(raw_file('{"__metadata__": {"format": "pt"}}'), "0 tensors\n")


@case
def unpadded_header():
    data = encode([1.0, 2.0], "F32")
    text = '\n\t{ "w" :{"shape":[2],"data_offsets":[0,8],"dtype":"F32"} }\r\n'
    return good(raw_file(text, data, pad=False), listing([Tensor("w", "F32", [2], raw=data)]))


@case
def large_tensor():
    rnd = random.Random(1)
    vals = [rnd.uniform(-1, 1) for _ in range(120 * 400)]
    return good(*build([Tensor("fc1.weight", "F32", [120, 400], vals),
                        Tensor("fc1.bias", "F16", [120], vals[:120])]))


# bad: the file and its header as a whole --------------------------------------

@case
def truncated_empty():
    return bad(b"", "file is truncated: 0 bytes, but a safetensors file starts with an "
                    "8-byte header length")


@case
def truncated_5():
    return bad(b"\x02\x00\x00\x00\x00", "file is truncated: 5 bytes")


@case
def header_past_end():
    return bad(raw_file(b"{}  ", hlen=1000, pad=False),
               "header claims 1000 bytes but the file has only 4 after the length; "
               "the file is truncated")


@case
def header_limit():
    return bad(raw_file(b"{}", hlen=200000000),
               "header length 200000000 exceeds the limit of 100000000 bytes (100 MB)")


@case
def header_length_max():
    return bad(raw_file(b"{}", hlen=2 ** 64 - 1),
               "header length 18446744073709551615 exceeds the limit")


@case
def header_empty():
    return bad(raw_file(b"", b"\x00" * 8), "header is empty", count=1)


@case
def json_syntax():
    text = '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},}'
    return bad(raw_file(text, b"\x00" * 4), "header is not valid JSON: error near byte 62, "
                                             "the end of the header", count=1)


@case
def json_cut_short():
    return bad(raw_file('{"w": {"dtype": "F3', pad=False),
               "header is not valid JSON: error near byte 17 of the header (file offset 25): 'F3'",
               count=1)


@case
def json_nested_deep():
    return bad(raw_file("[" * 5000 + "]" * 5000), "header is not valid JSON")


@case
def not_utf8():
    return bad(raw_file(b'{"w\xff": 1}'), "header is not valid UTF-8 at byte 3 of the header "
                                          "(file offset 11)")


@case
def text_after_json():
    return bad(raw_file("{} xyz"), "header has text after its JSON value, at byte 3 of the "
                                   "header (file offset 11): 'xyz'", count=1)


@case
def header_array():
    return bad(raw_file("[1, 2]"), "header is an array; expected an object mapping tensor "
                                   "names", count=1)


@case
def metadata_not_object():
    return bad(raw_file('{"__metadata__": ["pt"]}'), "\"__metadata__\" is an array; expected "
                                                     "an object of strings", count=1)


@case
def metadata_number():
    return bad(raw_file('{"__metadata__": {"format": "pt", "epoch": 3}}'),
               "\"__metadata__\" key 'epoch' is a number; metadata values must be strings",
               count=1)


# bad: one entry ---------------------------------------------------------------------------

def entry_file(body, data=b"\x00" * 8, name="w"):
    return raw_file("{%s: %s}" % (quote(name), body), data)


@case
def entry_number():
    return bad(entry_file("3"), "tensor 'w': entry is a number; expected an object")


@case
def dtype_missing():
    return bad(entry_file('{"shape": [2], "data_offsets": [0, 8]}'),
               "tensor 'w': entry has no \"dtype\"", count=1)


@case
def dtype_number():
    return bad(entry_file('{"dtype": 32, "shape": [2], "data_offsets": [0, 8]}'),
               "tensor 'w': \"dtype\" is a number; expected a string such as \"F32\"", count=1)


@case
def dtype_twice():
    return bad(entry_file('{"dtype": "F32", "dtype": "F16", "shape": [2], '
                          '"data_offsets": [0, 8]}'), "tensor 'w': \"dtype\" is given twice",
               count=1)


@case
def shape_missing():
    return bad(entry_file('{"dtype": "F32", "data_offsets": [0, 8]}'),
               "tensor 'w': entry has no \"shape\"", count=1)


@case
def shape_string():
    return bad(entry_file('{"dtype": "F32", "shape": "2", "data_offsets": [0, 8]}'),
               "tensor 'w': \"shape\" is a string; expected an array of dims", count=1)


@case
def shape_negative():
    return bad(entry_file('{"dtype": "F32", "shape": [2, -1], "data_offsets": [0, 8]}'),
               "tensor 'w': shape dim 1 is -1; dims must be non-negative integers", count=1)


@case
def shape_fraction():
    return bad(entry_file('{"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}'),
               "tensor 'w': shape dim 0 is 2.5; dims must be non-negative integers")


@case
def shape_not_number():
    return bad(entry_file('{"dtype": "F32", "shape": [null, true], "data_offsets": [0, 8]}'),
               "tensor 'w': shape dim 0 is null", "tensor 'w': shape dim 1 is a boolean",
               count=2)


@case
def shape_huge_dim():
    return bad(entry_file('{"dtype": "F32", "shape": [1099511627776], "data_offsets": [0, 8]}'),
               "tensor 'w': shape dim 0 is 1099511627776, larger than 2^31; the header is "
               "corrupt")


@case
def shape_overflow():
    big = ", ".join(["2147483648"] * 8)
    return bad(entry_file('{"dtype": "F32", "shape": [%s], "data_offsets": [0, 8]}' % big),
               "tensor 'w': shape [%s] has more than 2^63 elements" % big, count=1)


@case
def shape_bytes_overflow():
    return bad(entry_file('{"dtype": "F64", "shape": [2147483648, 2147483648, 1], '
                          '"data_offsets": [0, 8]}'),
               "tensor 'w': shape [2147483648, 2147483648, 1] of F64 needs more than 2^64 bytes",
               count=1)


@case
def shape_rank9():
    return bad(entry_file('{"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,2], '
                          '"data_offsets": [0, 8]}'),
               "tensor 'w': shape has 9 dims; cnnc reads at most 8", count=1)


@case
def offsets_missing():
    return bad(entry_file('{"dtype": "F32", "shape": [2]}'),
               "tensor 'w': entry has no \"data_offsets\"", count=1)


@case
def offsets_three():
    return bad(entry_file('{"dtype": "F32", "shape": [2], "data_offsets": [0, 4, 8]}'),
               "tensor 'w': \"data_offsets\" is an array of 3 items; expected [begin, end]",
               count=1)


@case
def offsets_negative():
    return bad(entry_file('{"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}'),
               "tensor 'w': data_offsets[0] is -8; offsets must be non-negative integers",
               count=1)


@case
def offsets_fraction():
    return bad(entry_file('{"dtype": "F32", "shape": [2], "data_offsets": [0, 7.5]}'),
               "tensor 'w': data_offsets[1] is 7.5", count=1)


@case
def offsets_string():
    return bad(entry_file('{"dtype": "F32", "shape": [2], "data_offsets": ["0", "8"]}'),
               "tensor 'w': data_offsets[0] is a string", "tensor 'w': data_offsets[1] is a "
               "string", count=2)


@case
def offsets_reversed():
    return bad(entry_file('{"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}'),
               "tensor 'w': data_offsets [8, 0]: begin is after end", count=1)


@case
def offsets_past_end():
    return bad(entry_file('{"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}'),
               "tensor 'w': data_offsets [0, 12] run past the end of the data section, which "
               "has 8 bytes", count=1)


@case
def offsets_huge():
    return bad(entry_file('{"dtype": "F32", "shape": [2], "data_offsets": [0, 1e300]}'),
               "tensor 'w': data_offsets [0, 1.0000000000000001e+300] run past the end of the "
               "data section", count=1)


@case
def length_mismatch():
    return bad(entry_file('{"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}',
                          data=b"\x00" * 24),
               "tensor 'w': shape [2, 3] of F32 needs 24 bytes (6 elements of 4) but "
               "data_offsets [0, 20] hold 20", count=1)


@case
def length_mismatch_i64():
    return bad(entry_file('{"dtype": "I64", "shape": [], "data_offsets": [0, 4]}'),
               "tensor 'w': shape [] of I64 needs 8 bytes (1 elements of 8) but data_offsets "
               "[0, 4] hold 4", count=1)


@case
def name_escaped():
    return bad(entry_file("[]", name="a\nb\\c\u00e9" + "x" * 100),
               "tensor 'a\\x0ab\\\\c\u00e9" + "x" * 73 + "...': entry is an array", count=1)


# bad: the header as a whole --------------------------------------------------------------

@case
def overlap():
    text = "{%s, %s, %s}" % ('"a": ' + entry("F32", [4], 0, 16),
                             '"b": ' + entry("F32", [4], 8, 24),
                             '"c": ' + entry("F32", [2], 24, 32))
    return bad(raw_file(text, b"\x00" * 32),
               "tensors 'a' (data_offsets [0, 16]) and 'b' (data_offsets [8, 24]) overlap; "
               "each tensor needs bytes of its own", count=1)


@case
def overlap_contained():
    text = "{%s, %s, %s}" % ('"big": ' + entry("F32", [8], 0, 32),
                             '"z": ' + entry("F32", [0], 4, 4),
                             '"inner": ' + entry("F16", [2], 20, 24))
    return bad(raw_file(text, b"\x00" * 32),
               "tensors 'big' (data_offsets [0, 32]) and 'inner' (data_offsets [20, 24]) "
               "overlap", count=1)


@case
def duplicate_name():
    text = "{%s, %s}" % ('"w": ' + entry("F32", [1], 0, 4), '"w": ' + entry("F32", [1], 4, 8))
    return bad(raw_file(text, b"\x00" * 8),
               "key 'w' appears twice in the header (entries 1 and 2); tensor names must be "
               "unique", count=1)


@case
def duplicate_metadata():
    return bad(raw_file('{"__metadata__": {}, "__metadata__": {}}'),
               "key '__metadata__' appears twice in the header", count=1)


@case
def many_errors():
    """Every broken entry is reported, not only the first."""
    text = "{%s}" % ", ".join([
        '"ok": ' + entry("F32", [1], 0, 4),
        '"no_dtype": {"shape": [1], "data_offsets": [4, 8]}',
        '"neg": ' + '{"dtype": "F32", "shape": [-3], "data_offsets": [8, 12]}',
        '"long": ' + entry("F32", [2], 12, 16),
        '"far": ' + entry("F16", [2], 16, 4000),
        '"nan": ' + entry("F32", [1], 16, 20),
    ])
    data = encode([1.0, 2.0, 3.0, 4.0, math.nan], "F32")
    return bad(raw_file(text, data),
               "tensor 'no_dtype': entry has no \"dtype\"",
               "tensor 'neg': shape dim 0 is -3",
               "tensor 'long': shape [2] of F32 needs 8 bytes",
               "tensor 'far': data_offsets [16, 4000] run past the end",
               "tensor 'nan': element 0 is NaN", count=5)


# bad: the data ----------------------------------------------------------------------------

@case
def nan_f32():
    return bad(build([Tensor("w", "F32", [2, 3], [0, 1, 2, 3, 4, math.nan])])[0],
               "tensor 'w': element 5 (index [1, 2]) is NaN (1 non-finite value in this F32 "
               "tensor); cnnc compiles finite weights only", count=1)


@case
def inf_f16():
    vals = [0.0] * 24
    vals[13], vals[20] = math.inf, -math.inf
    return bad(build([Tensor("c.weight", "F16", [2, 3, 2, 2], vals)])[0],
               "tensor 'c.weight': element 13 (index [1, 0, 0, 1]) is +Inf (2 non-finite values "
               "in this F16 tensor)", count=1)


@case
def neg_inf_bf16():
    return bad(build([Tensor("b", "BF16", [3], [1.0, -math.inf, math.nan])])[0],
               "tensor 'b': element 1 is -Inf (2 non-finite values in this BF16 tensor)",
               count=1)


@case
def nan_f16_payload():
    raw = struct.pack("<HHH", 0x3c00, 0x7c01, 0xfe00)   # 1.0, signalling NaN, -qNaN
    return bad(build([Tensor("h", "F16", [3], raw=raw)])[0],
               "tensor 'h': element 1 is NaN (2 non-finite values", count=1)


@case
def nan_f64():
    return bad(build([Tensor("d", "F64", [1, 2], [1.0, math.nan]),
                      Tensor("e", "F64", [1], [-math.inf])])[0],
               "tensor 'd': element 1 (index [0, 1]) is NaN",
               "tensor 'e': element 0 is -Inf", count=2)


@case
def f64_overflow():
    mid = float.fromhex("0x1.ffffffp127")
    return bad(build([Tensor("fc.weight", "F64", [2, 2], [1.0, -1e39, mid, 2.0])])[0],
               "tensor 'fc.weight': element 1 (index [0, 1]) is %.17g, beyond float32's range "
               "(2 such values); rescale the model or export it as F32" % -1e39, count=1)


# bad: the file system ---------------------------------------------------------------------

@case
def missing_file():
    return {"kind": "bad", "data": None, "messages": ["cannot open: No such file or directory"],
            "count": 1}


@case
def directory():
    return {"kind": "bad", "data": "dir", "messages": ["read error: Is a directory"], "count": 1}


# robustness -------------------------------------------------------------------------------

def mutants(seed, n):
    """Damaged copies of good files: flipped, inserted and deleted bytes, cut
    files, wrong header lengths and edited JSON numbers."""
    rnd = random.Random(seed)
    bases = [mixed()[0], f16_values()["data"], f64_values()["data"], many_errors()["data"]]
    swaps = [b"0", b"-1", b"1.5", b"1e300", b"2147483648", b"9007199254740993", b"null",
             b"[]", b"{}", b'"F16"', b'"BF16"', b'"F64"', b'"I64"', b'"?"', b"[1,2,3]",
             b"[[[[", b"\\u0000", b"\xff", b"4294967296"]
    out = []
    for i in range(n):
        b = bytearray(rnd.choice(bases))
        hlen = struct.unpack("<Q", b[:8])[0]
        for _ in range(rnd.randint(1, 4)):
            op = rnd.randrange(7)
            pos = rnd.randrange(len(b)) if b else 0
            if op == 0 and b:
                b[pos] ^= 1 << rnd.randrange(8)
            elif op == 1:
                del b[pos:pos + rnd.randint(1, 8)]
            elif op == 2:
                b = b[:rnd.randrange(len(b) + 1)]
            elif op == 3 and len(b) >= 8:
                b[:8] = struct.pack("<Q", rnd.choice([0, 1, hlen - 1, hlen + 1, len(b),
                                                      2 ** 63, 2 ** 64 - 1]) % 2 ** 64)
            elif op in (4, 5):
                # replace a digit in the header with an odd token; op 4 keeps
                # the length field right, op 5 leaves it stale
                digits = [k for k, c in enumerate(b[8:8 + hlen]) if 0x30 <= c <= 0x39]
                if digits:
                    k = 8 + rnd.choice(digits)
                    swap = rnd.choice(swaps)
                    b[k:k + 1] = swap
                    if op == 4 and len(b) >= 8:
                        hlen += len(swap) - 1
                        b[:8] = struct.pack("<Q", hlen)
            else:
                alphabet = rnd.choice([bytes(range(256)), b'{}[]":,-.0123456789eE ntrufals\\'])
                b[pos:pos] = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(1, 5)))
        out.append(bytes(b))
    return out


@case
def mutations():
    return {"kind": "fuzz", "files": mutants(2024, 600)}


# ---- running --------------------------------------------------------------------------------

def write_case(name, outdir):
    c = CASES[name]()
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, name + ".safetensors")
    if c["kind"] == "fuzz":
        paths = []
        sub = os.path.join(outdir, name)
        os.makedirs(sub, exist_ok=True)
        for i, data in enumerate(c["files"]):
            p = os.path.join(sub, "m%04d.safetensors" % i)
            with open(p, "wb") as f:
                f.write(data)
            paths.append(p)
        c["paths"] = paths
        return c, None
    if c["data"] is None:
        if os.path.exists(path):
            os.remove(path)
    elif c["data"] == "dir":
        os.makedirs(path, exist_ok=True)
    else:
        with open(path, "wb") as f:
            f.write(c["data"])
    return c, path


def verify(c, path, rc, out, err):
    """The list of problems with one run (empty when it passed)."""
    problems = []
    if "runtime error" in err or "Sanitizer" in err:
        problems.append("sanitizer report")
    if c["kind"] == "fuzz":
        if rc != 0:
            problems.append("exit status %d, expected 0" % rc)
        results = [line.rsplit(": ", 1)[-1] for line in out.splitlines()]
        if len(results) != len(c["paths"]):
            problems.append("%d results for %d files" % (len(results), len(c["paths"])))
        elif "error" not in results or "ok" not in results:
            problems.append("mutants all gave %r; the mutations are too weak" % results[0])
        return problems
    if c["kind"] == "good":
        if rc != 0:
            problems.append("exit status %d, expected 0" % rc)
        if out != c["stdout"]:
            want, got = c["stdout"].splitlines(), out.splitlines()
            for k in range(max(len(want), len(got))):
                w = want[k] if k < len(want) else "<end>"
                g = got[k] if k < len(got) else "<end>"
                if w != g:
                    problems.append("stdout line %d: expected %r, got %r" % (k + 1, w, g))
                    break
        if err:
            problems.append("unexpected stderr")
        return problems
    if rc != 1:
        problems.append("exit status %d, expected 1" % rc)
    if out:
        problems.append("unexpected stdout")
    lines = err.splitlines()
    prefix = path + ": error: "
    for line in lines:
        if not line.startswith(prefix):
            problems.append("stderr line does not start with %r: %r" % (prefix, line))
    for m in c["messages"]:
        if m not in err:
            problems.append("missing message: %r" % m)
    if c["count"] is not None and len(lines) != c["count"]:
        problems.append("%d error lines, expected %d" % (len(lines), c["count"]))
    return problems


def check(driver, outdir, name):
    c, path = write_case(name, outdir)
    if c["kind"] == "fuzz":
        argv = [driver, "--each"] + c["paths"]
    elif c.get("mode") == "bytes":
        argv = [driver, "--bytes", path]
    else:
        argv = [driver, path]
    r = subprocess.run(argv, capture_output=True)
    out = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")
    problems = verify(c, path, r.returncode, out, err)

    # The checker itself must be able to fail: a wrong expectation is caught.
    if not problems and c["kind"] in ("good", "bad"):
        wrong = dict(c)
        if c["kind"] == "good":
            wrong["stdout"] = c["stdout"].replace("0x", "0y", 1) if "0x" in c["stdout"] \
                else c["stdout"] + "x\n"
        else:
            wrong["messages"] = c["messages"] + ["no such message"]
        if not verify(wrong, path, r.returncode, out, err):
            problems.append("checker accepted a wrong expectation")

    if problems:
        sys.stdout.write("FAIL %s: %s\n" % (name, " ".join(argv[:3])))
        for p in problems:
            sys.stdout.write("  " + p + "\n")
        sys.stdout.write("--- stderr ---\n%s" % err[-4000:])
        return 1
    print("ok %s" % name)
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == "list":
        print("\n".join(CASES))
        return 0
    if len(argv) == 3 and argv[1] == "write":
        for name in CASES:
            write_case(name, argv[2])
        return 0
    if len(argv) == 5 and argv[1] == "check" and argv[4] in CASES:
        return check(argv[2], argv[3], argv[4])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
