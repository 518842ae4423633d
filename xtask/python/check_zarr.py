"""Open geochip's Zarr output with zarr-python and check it: a second implementation reading
our bytes. Run by `cargo xtask zarr-python` in a venv with the pinned zarr and numpy.

usage: check_zarr.py DIR EXPECTED.json [MORE.json ...]

Each JSON file holds {"arrays": [...]}; an entry names "store" (a directory under DIR) and
"path" (the array inside it) and may check:
  dtype, shape, dims            numpy dtype name, shape, Zarr dimension_names
  sha256                        of the C-order little-endian bytes (numpy tobytes())
  attributes                    each key's value, compared as JSON
  codecs                        codec names that must appear in the metadata
  chips_of {store, path}        every chip equals the window of that array named by the
                                chip's geochip:chip_selectors entry, and its
                                geochip:chip_transforms entry is that array's
                                spatial:transform shifted to the window
Exits 1 naming every mismatch.
"""

import hashlib
import json
import pathlib
import sys

import numpy as np
import zarr


def canon(v):
    return json.dumps(v, sort_keys=True)


def le_bytes(a):
    a = np.ascontiguousarray(a)
    return a.astype(a.dtype.newbyteorder("<")).tobytes()


def check(root, e, problems):
    name = f"{e['store']}/{e['path']}"
    try:
        z = zarr.open_array(store=str(root / e["store"]), path=e["path"], mode="r")
    except Exception as exc:  # noqa: BLE001 - report any failure to open
        problems.append(f"{name}: zarr-python cannot open it: {exc!r}")
        return
    bad = []
    if z.metadata.zarr_format != 3:
        bad.append(f"zarr_format {z.metadata.zarr_format}")
    if "dtype" in e and str(z.dtype) != e["dtype"]:
        bad.append(f"dtype {z.dtype} != {e['dtype']}")
    if "shape" in e and list(z.shape) != e["shape"]:
        bad.append(f"shape {list(z.shape)} != {e['shape']}")
    if "dims" in e and list(z.metadata.dimension_names or []) != e["dims"]:
        bad.append(f"dimension_names {z.metadata.dimension_names} != {e['dims']}")
    for k, v in e.get("attributes", {}).items():
        got = z.attrs.get(k)
        if canon(got) != canon(v):
            bad.append(f"attribute {k}: {got!r} != {v!r}")
    meta = canon(z.metadata.to_dict())
    for c in e.get("codecs", []):
        if f'"{c}"' not in meta:
            bad.append(f"codec {c} not in the metadata")
    data = None
    if "sha256" in e or "chips_of" in e:
        data = z[...]
    if "sha256" in e:
        got = hashlib.sha256(le_bytes(data)).hexdigest()
        if got != e["sha256"]:
            bad.append(f"sha256 {got} != {e['sha256']}")
    if "chips_of" in e:
        src = zarr.open_array(
            store=str(root / e["chips_of"]["store"]), path=e["chips_of"]["path"], mode="r"
        )
        whole = src[...]
        src_dims = list(src.metadata.dimension_names)
        chip_dims = list(z.metadata.dimension_names)[1:]
        if chip_dims != src_dims:
            bad.append(f"chip dims {chip_dims} != source dims {src_dims}")
        sels = z.attrs["geochip:chip_selectors"]
        a, b, c, d, ee, f = src.attrs["spatial:transform"]
        transforms = z.attrs.get("geochip:chip_transforms")
        if len(sels) != data.shape[0]:
            bad.append(f"{len(sels)} selectors for {data.shape[0]} chips")
        for i, sel in enumerate(sels):
            window = {dim: slice(start, stop) for dim, start, stop in sel}
            idx = tuple(window.get(dim, slice(None)) for dim in src_dims)
            if not np.array_equal(data[i], whole[idx], equal_nan=True):
                bad.append(f"chip {i} differs from the source window {sel}")
                break
            x0 = window["x"].start if "x" in window else 0
            y0 = window["y"].start if "y" in window else 0
            want = [a, b, c + a * x0 + b * y0, d, ee, f + d * x0 + ee * y0]
            if transforms is not None and transforms[i] != want:
                bad.append(f"chip {i} transform {transforms[i]} != {want}")
                break
    if bad:
        problems.extend(f"{name}: {p}" for p in bad)
    else:
        print(f"  ok: {name} {z.dtype} {list(z.shape)} dims={list(z.metadata.dimension_names or [])}")


def main():
    root = pathlib.Path(sys.argv[1])
    problems = []
    n = 0
    for path in sys.argv[2:]:
        for e in json.loads(pathlib.Path(path).read_text())["arrays"]:
            check(root, e, problems)
            n += 1
    print(f"zarr-python {zarr.__version__}, numpy {np.__version__}: {n} arrays checked")
    if n == 0:
        problems.append("no array was checked")
    for p in problems:
        print(f"MISMATCH: {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
