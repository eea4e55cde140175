#!/usr/bin/python3
"""Save a PyTorch state dict as a safetensors file, with torch and the stdlib only.

cnnc reads its weights from safetensors files.  The `safetensors` Python
package is not available here, so this module writes (and reads back) the
format itself.  It needs nothing but torch and the Python standard library.

File layout (all integers little-endian):

    bytes 0..7        u64 N, the length of the JSON header in bytes
    bytes 8..8+N      the header, UTF-8 JSON, padded with spaces (0x20) so
                      that 8 + N is a multiple of 8 (as the reference
                      implementation pads it):
                        {"__metadata__": {"format": "pt", "<key>": "<str>", ...},
                         "<tensor name>": {"dtype": "F32", "shape": [6, 1, 5, 5],
                                           "data_offsets": [begin, end]},
                         ...}
    bytes 8+N..       the data section: every tensor's elements, row-major
                      (C order), little-endian, stored back to back with no
                      gaps.  data_offsets are relative to the start of the
                      data section; end - begin = numel * itemsize.

Tensors are laid out in the order the state dict gives them.  Metadata values
must be strings in safetensors, so they are converted with str().  The key
"format" is always "pt" unless the caller sets it.

Supported dtypes (safetensors name: torch dtype):

    F64: float64   F32: float32   F16: float16   BF16: bfloat16
    I64: int64     I32: int32     I16: int16     I8: int8
    U8: uint8      BOOL: bool

(I64 covers BatchNorm's `num_batches_tracked`.)

Python API:

    save_state_dict(state_dict, path, metadata=None)
        Write the tensors of `state_dict` (a mapping name -> tensor, e.g.
        model.state_dict()) to `path`.  Tensors are detached and moved to
        the CPU; non-contiguous tensors are made contiguous; tensors sharing
        storage are each written out in full.
    load_safetensors(path) -> OrderedDict name -> tensor
        Read a safetensors file (any writer's) back, checking that the
        header is well formed and that the offsets tile the data section.
    load_metadata(path) -> dict
        The "__metadata__" map of a safetensors file ({} if none).

Command line:

    /usr/bin/python3 tools/export_safetensors.py MODEL.pt OUT.safetensors [--meta KEY=VALUE ...]
        MODEL.pt is a file written by torch.save: a state dict (a mapping
        name -> tensor; a dict holding it under "state_dict" or
        "model_state_dict" is accepted too) or a whole nn.Module.
    /usr/bin/python3 tools/export_safetensors.py --self-test
        Round-trips every supported dtype (and odd cases: scalars, empty
        tensors, non-contiguous views) through a temporary file and checks
        the byte layout; exits non-zero on failure.
    /usr/bin/python3 tools/export_safetensors.py --dump FILE.safetensors
        Print the header (tensor names, dtypes, shapes, offsets) and metadata.
"""

import argparse
import collections
import ctypes
import json
import os
import struct
import sys
import tempfile

import torch

# safetensors name -> (torch dtype, bytes per element)
_DTYPES = collections.OrderedDict([
    ("F64", (torch.float64, 8)),
    ("F32", (torch.float32, 4)),
    ("F16", (torch.float16, 2)),
    ("BF16", (torch.bfloat16, 2)),
    ("I64", (torch.int64, 8)),
    ("I32", (torch.int32, 4)),
    ("I16", (torch.int16, 2)),
    ("I8", (torch.int8, 1)),
    ("U8", (torch.uint8, 1)),
    ("BOOL", (torch.bool, 1)),
])
_NAME_OF = {dt: name for name, (dt, _) in _DTYPES.items()}

# A header bigger than this is surely not ours (the reference reader caps it
# at 100 MB too).
_MAX_HEADER = 100 * 1000 * 1000


def _tensor_bytes(t):
    """The elements of tensor t, row-major, little-endian, as bytes."""
    t = t.detach().to("cpu").contiguous()
    n = t.numel() * t.element_size()
    if n == 0:
        return b""
    if sys.byteorder != "little" and t.element_size() > 1:
        # Reverse the bytes of each element on a big-endian host.
        t = t.view(torch.uint8).reshape(-1, t.element_size()).flip(1).contiguous()
    return ctypes.string_at(t.data_ptr(), n)


def _tensor_from_bytes(buf, dtype, itemsize, shape):
    """Inverse of _tensor_bytes: a fresh tensor of `shape` from little-endian bytes."""
    numel = 1
    for d in shape:
        numel *= d
    if numel == 0:
        return torch.empty(shape, dtype=dtype)
    raw = torch.frombuffer(bytearray(buf), dtype=torch.uint8)
    if sys.byteorder != "little" and itemsize > 1:
        raw = raw.reshape(-1, itemsize).flip(1).contiguous().reshape(-1)
    return raw.view(dtype).reshape(shape).clone()


def save_state_dict(state_dict, path, metadata=None):
    """Write state_dict (name -> tensor) to `path` in the safetensors format.

    metadata: optional mapping of extra string entries for "__metadata__"
    (values are converted with str()); "format" defaults to "pt".
    Returns the number of bytes written.
    """
    meta = collections.OrderedDict([("format", "pt")])
    for k, v in (metadata or {}).items():
        meta[str(k)] = str(v)

    header = collections.OrderedDict([("__metadata__", meta)])
    blobs = []
    offset = 0
    for name, t in state_dict.items():
        if not isinstance(name, str) or not name:
            raise ValueError("tensor names must be non-empty strings, got %r" % (name,))
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved and cannot name a tensor")
        if not isinstance(t, torch.Tensor):
            raise TypeError("%s: not a tensor (%s)" % (name, type(t).__name__))
        if t.dtype not in _NAME_OF:
            raise TypeError("%s: unsupported dtype %s (supported: %s)"
                            % (name, t.dtype, ", ".join(_DTYPES)))
        data = _tensor_bytes(t)
        header[name] = collections.OrderedDict([
            ("dtype", _NAME_OF[t.dtype]),
            ("shape", [int(d) for d in t.shape]),
            ("data_offsets", [offset, offset + len(data)]),
        ])
        blobs.append(data)
        offset += len(data)

    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)

    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
    return 8 + len(text) + offset


def _read_header(f, path):
    head = f.read(8)
    if len(head) != 8:
        raise ValueError("%s: too short for a safetensors file" % path)
    (n,) = struct.unpack("<Q", head)
    if n > _MAX_HEADER:
        raise ValueError("%s: header length %d is implausible" % (path, n))
    text = f.read(n)
    if len(text) != n:
        raise ValueError("%s: truncated header (%d of %d bytes)" % (path, len(text), n))
    try:
        header = json.loads(text.decode("utf-8"), object_pairs_hook=collections.OrderedDict)
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError("%s: header is not valid JSON: %s" % (path, e))
    if not isinstance(header, dict):
        raise ValueError("%s: header is not a JSON object" % path)
    return header


def load_metadata(path):
    """The "__metadata__" map of the safetensors file at `path` ({} if absent)."""
    with open(path, "rb") as f:
        header = _read_header(f, path)
    return dict(header.get("__metadata__") or {})


def load_safetensors(path):
    """Read the safetensors file at `path`; returns an OrderedDict name -> tensor.

    Tensors come back in the order of their data offsets.  Raises ValueError
    on a malformed file (bad JSON, unknown dtype, offsets that overlap, leave
    gaps, disagree with the shape, or run past the end of the file).
    """
    with open(path, "rb") as f:
        header = _read_header(f, path)
        data = f.read()

    entries = []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(
                    isinstance(v, str) for v in info.values()):
                raise ValueError("%s: __metadata__ must map strings to strings" % path)
            continue
        if not isinstance(info, dict):
            raise ValueError("%s: %s: entry is not an object" % (path, name))
        dt = info.get("dtype")
        if dt not in _DTYPES:
            raise ValueError("%s: %s: unsupported dtype %r" % (path, name, dt))
        shape = info.get("shape")
        offs = info.get("data_offsets")
        if (not isinstance(shape, list)
                or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                           for d in shape)):
            raise ValueError("%s: %s: bad shape %r" % (path, name, shape))
        if (not isinstance(offs, list) or len(offs) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offs)
                or not 0 <= offs[0] <= offs[1]):
            raise ValueError("%s: %s: bad data_offsets %r" % (path, name, offs))
        dtype, itemsize = _DTYPES[dt]
        numel = 1
        for d in shape:
            numel *= d
        if offs[1] - offs[0] != numel * itemsize:
            raise ValueError("%s: %s: data_offsets %r hold %d bytes but shape %r of %s needs %d"
                             % (path, name, offs, offs[1] - offs[0], shape, dt, numel * itemsize))
        entries.append((offs[0], offs[1], name, dtype, itemsize, shape))

    entries.sort(key=lambda e: (e[0], e[1]))
    pos = 0
    out = collections.OrderedDict()
    for begin, end, name, dtype, itemsize, shape in entries:
        if begin != pos:
            raise ValueError("%s: %s: data starts at %d, expected %d (gap or overlap)"
                             % (path, name, begin, pos))
        if end > len(data):
            raise ValueError("%s: %s: data runs past the end of the file" % (path, name))
        out[name] = _tensor_from_bytes(data[begin:end], dtype, itemsize, shape)
        pos = end
    if pos != len(data):
        raise ValueError("%s: %d trailing bytes after the last tensor" % (path, len(data) - pos))
    return out


def _state_dict_of(obj, path):
    """Extract a name -> tensor mapping from whatever torch.load returned."""
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
        if all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    raise ValueError("%s: neither a state dict nor an nn.Module (got %s)"
                     % (path, type(obj).__name__))


def _self_test():
    """Round-trip every dtype and some awkward tensors; raise AssertionError on failure."""
    g = torch.Generator().manual_seed(0)
    base = torch.randn(3, 4, 5, generator=g)
    sd = collections.OrderedDict()
    sd["f32"] = base
    sd["f64"] = base.double() * 1e-300
    sd["f16"] = base.half()
    sd["bf16"] = base.bfloat16()
    sd["i64"] = torch.tensor(12345678901234, dtype=torch.int64)   # scalar, like num_batches_tracked
    sd["i32"] = torch.arange(-7, 7, dtype=torch.int32)
    sd["i16"] = torch.tensor([-32768, 32767], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, 0, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["empty"] = torch.zeros(0, 3)
    sd["transposed"] = base[0].t()                  # non-contiguous view
    sd["sliced"] = base[:, ::2, 1]                  # strided view
    sd["special"] = torch.tensor([float("inf"), -float("inf"), -0.0, 1e-45])
    sd["name with spaces/and.dots"] = torch.ones(1, 1, 1, 1)
    bn = torch.nn.BatchNorm2d(3)
    for k, v in bn.state_dict().items():
        sd["bn." + k] = v

    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "t.safetensors")
        size = save_state_dict(sd, p, metadata={"seed": 1, "note": "ünïcode"})
        assert os.path.getsize(p) == size
        raw = open(p, "rb").read()
        (n,) = struct.unpack("<Q", raw[:8])
        assert (8 + n) % 8 == 0, "header not padded to a multiple of 8"
        header = json.loads(raw[8:8 + n].decode("utf-8"))
        assert header["__metadata__"] == {"format": "pt", "seed": "1", "note": "ünïcode"}
        assert header["f32"]["dtype"] == "F32" and header["f32"]["shape"] == [3, 4, 5]
        assert header["f32"]["data_offsets"] == [0, 240]
        # Byte-exact layout of one tensor: little-endian float32, row-major.
        b0, b1 = header["transposed"]["data_offsets"]
        vals = struct.unpack("<%df" % ((b1 - b0) // 4), raw[8 + n + b0:8 + n + b1])
        assert list(vals) == base[0].t().reshape(-1).tolist()
        assert header["i64"]["shape"] == [] and header["bn.num_batches_tracked"]["dtype"] == "I64"

        back = load_safetensors(p)
        assert list(back) == list(sd), "names or order differ"
        for k, v in sd.items():
            w = back[k]
            assert w.dtype == v.dtype, (k, w.dtype, v.dtype)
            assert w.shape == v.shape, (k, w.shape, v.shape)
            assert torch.equal(w, v), k
            # bit-exact, including -0.0
            if v.is_floating_point() and v.numel():
                assert torch.equal(w.view(-1).view(torch.uint8 if v.element_size() == 1 else
                                   {2: torch.int16, 4: torch.int32, 8: torch.int64}[v.element_size()]),
                                   v.contiguous().view(-1).view(
                                       {2: torch.int16, 4: torch.int32, 8: torch.int64}[v.element_size()])), k
        assert load_metadata(p)["seed"] == "1"

        # A module round trip through the CLI path.
        m = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(8, 3))
        pt = os.path.join(d, "m.pt")
        torch.save(m, pt)
        out = os.path.join(d, "m.safetensors")
        assert main([pt, out, "--meta", "k=v"]) == 0
        back = load_safetensors(out)
        assert list(back) == ["0.weight", "0.bias", "3.weight", "3.bias"]
        for k, v in m.state_dict().items():
            assert torch.equal(back[k], v), k
        torch.save(m.state_dict(), pt)
        assert main([pt, out]) == 0
        assert list(load_safetensors(out)) == list(m.state_dict())

        # Malformed files are rejected.
        def corrupt(blob):
            q = os.path.join(d, "bad.safetensors")
            with open(q, "wb") as f:
                f.write(blob)
            try:
                load_safetensors(q)
            except ValueError:
                return True
            return False

        assert corrupt(b"\x01\x02")
        assert corrupt(raw[:-1])                                   # truncated data
        assert corrupt(raw + b"\0")                                # trailing bytes
        assert corrupt(struct.pack("<Q", 1 << 40) + raw[8:])       # huge header length
        hdr = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}
        js = json.dumps(hdr).encode()
        assert corrupt(struct.pack("<Q", len(js)) + js + b"\0" * 4)  # size mismatch
        hdr = {"a": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}
        js = json.dumps(hdr).encode()
        assert corrupt(struct.pack("<Q", len(js)) + js + b"\0" * 4)  # unknown dtype
        hdr = {"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}
        js = json.dumps(hdr).encode()
        assert corrupt(struct.pack("<Q", len(js)) + js + b"\0" * 8)  # gap
    return True


def _dump(path):
    with open(path, "rb") as f:
        header = _read_header(f, path)
    print("metadata:", json.dumps(header.get("__metadata__", {}), ensure_ascii=False))
    for name, info in header.items():
        if name != "__metadata__":
            print("%-32s %-5s %-20s %s" % (name, info.get("dtype"), info.get("shape"),
                                           info.get("data_offsets")))


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Save a torch.save'd state dict (or whole module) as safetensors.")
    ap.add_argument("model", nargs="?", help="file written by torch.save")
    ap.add_argument("out", nargs="?", help="output .safetensors file")
    ap.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE",
                    help="extra __metadata__ entry (repeatable)")
    ap.add_argument("--self-test", action="store_true", help="run the round-trip self-check")
    ap.add_argument("--dump", metavar="FILE", help="print the header of a safetensors file")
    args = ap.parse_args(argv)

    if args.self_test:
        _self_test()
        print("export_safetensors: self-test passed")
        return 0
    if args.dump:
        _dump(args.dump)
        return 0
    if not args.model or not args.out:
        ap.error("need MODEL.pt and OUT.safetensors")
    meta = collections.OrderedDict()
    for kv in args.meta:
        if "=" not in kv:
            ap.error("--meta wants KEY=VALUE, got %r" % kv)
        k, v = kv.split("=", 1)
        meta[k] = v
    meta.setdefault("source", os.path.basename(args.model))
    meta.setdefault("torch_version", torch.__version__)
    try:
        obj = torch.load(args.model, map_location="cpu")
    except Exception as e:  # torch raises many kinds
        print("export_safetensors: cannot load %s: %s" % (args.model, e), file=sys.stderr)
        return 1
    sd = _state_dict_of(obj, args.model)
    n = save_state_dict(sd, args.out, meta)
    print("export_safetensors: wrote %d tensors, %d bytes to %s" % (len(sd), n, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
