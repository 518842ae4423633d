"""Times the Python anchors on exactly the inputs `geochip bench workloads` wrote.

Run by `cargo xtask compare` (which also times geochip on the same workloads in the same run
and prints the side-by-side table). Usage:

    python anchors.py --manifest DIR/manifest.json --repeats 3 --out theirs.json

Workloads:
  * slicing S1/S2: xbatcher.BatchGenerator(da, input_dims, input_overlap) over the exported
    cube, every batch materialised into one preallocated output (as geochip's gather writes
    every chip into one buffer); also plain numpy slicing of the same windows, the fastest
    Python can do without xbatcher's bookkeeping;
  * rasterize R1/R2: rasterio.features.rasterize of the exported GeoJSON polygons (value
    property), uint32, centre rule and all_touched, on the same grid.
Each time is the best of --repeats after one untimed warm-up, like geochip bench. Missing
packages are reported as skipped with the import error. kvikio is probed (GPU nodes only).
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path


def best(fn, repeats):
    fn()
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return min(samples), samples


def slicing(w, root, repeats):
    import numpy as np
    import xarray as xr
    import xbatcher

    cube = np.load(root / w["file"])
    da = xr.DataArray(cube, dims=w["dims"])
    chip = w["input_dims"]["y"]
    overlap = w["input_overlap"]["y"]
    out = np.empty(w["elements"], dtype=np.float32)

    def run_xbatcher():
        gen = xbatcher.BatchGenerator(
            da,
            input_dims={"y": chip, "x": chip},
            input_overlap={"y": overlap, "x": overlap},
        )
        off = 0
        for batch in gen:
            v = batch.values.ravel()
            out[off : off + v.size] = v
            off += v.size
        assert off == out.size, (off, out.size)

    stride = chip - overlap
    ny = (cube.shape[1] - chip) // stride + 1
    nx = (cube.shape[2] - chip) // stride + 1

    def run_numpy():
        off = 0
        for i in range(ny):
            for j in range(nx):
                v = cube[:, i * stride : i * stride + chip, j * stride : j * stride + chip]
                n = v.size
                out[off : off + n].reshape(v.shape)[...] = v
                off += n
        assert off == out.size

    res = []
    for name, fn, tool in (
        ("xbatcher", run_xbatcher, f"xbatcher {xbatcher.__version__}"),
        ("numpy_windows", run_numpy, f"numpy {np.__version__}"),
    ):
        s, samples = best(fn, repeats)
        res.append({"workload": w["name"], "anchor": name, "tool": tool, "seconds": s,
                    "samples": samples, "bytes": int(out.nbytes)})
    return res


def rasterize(w, root, repeats):
    import numpy as np
    import rasterio
    from rasterio.features import rasterize as rio_rasterize
    from rasterio.transform import Affine

    fc = json.loads((root / w["file"]).read_text())
    shapes = [(f["geometry"], f["properties"]["value"]) for f in fc["features"]]
    a, b, c, d, e, f = w["transform"]
    transform = Affine(a, b, c, d, e, f)
    res = []
    for all_touched in (False, True):
        def run():
            rio_rasterize(shapes, out_shape=(w["height"], w["width"]), transform=transform,
                          all_touched=all_touched, dtype=np.uint32, fill=0)
        s, samples = best(run, repeats)
        res.append({"workload": w["name"], "anchor": "all_touched" if all_touched else "centre",
                    "tool": f"rasterio {rasterio.__version__} (GDAL {rasterio.__gdal_version__})",
                    "seconds": s, "samples": samples,
                    "bytes": int(w["width"] * w["height"] * 4)})
    return res


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--manifest", required=True)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    manifest_path = Path(a.manifest)
    manifest = json.loads(manifest_path.read_text())
    root = manifest_path.parent
    results, skipped = [], []
    for kind, fn in (("slicing", slicing), ("rasterize", rasterize)):
        for w in manifest[kind]:
            try:
                results.extend(fn(w, root, a.repeats))
            except ImportError as e:
                skipped.append({"workload": w["name"], "reason": f"import failed: {e}"})
    try:
        import kvikio  # noqa: F401
        kvikio_state = f"kvikio {kvikio.__version__} importable"
    except Exception as e:  # no GPU / CUDA: kvikio does not import
        kvikio_state = f"kvikio not importable ({type(e).__name__}: {e})"
    from importlib import metadata

    versions = {}
    for dist in ("numpy", "xarray", "xbatcher", "rasterio", "odc-stac", "stackstac", "zarr",
                 "tensorstore"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    Path(a.out).write_text(json.dumps({
        "schema": "geochip-compare/1", "python": platform.python_version(),
        "versions": versions, "kvikio": kvikio_state, "results": results,
        "skipped": skipped}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
