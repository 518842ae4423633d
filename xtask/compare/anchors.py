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
    property), uint32, centre rule and all_touched, on the same grid;
  * stacking T1/T2: odc.stac.load and stackstac.stack of the exported COGs + items (2 threads
    each, the setting of the issue's reference numbers).
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


def stacking(w, root, repeats):
    """odc.stac.load (2 threads: pool=2) and stackstac.stack(...).compute (dask threads, 2
    workers) of the exported COGs, as geochip's `stacking` suite stacks them: same items, bands,
    CRS/resolution (T1: the items' own grid), resampling, uint16 with nodata 0."""
    import numpy as np
    import odc.stac
    import pystac
    import stackstac

    items_path = root / w["items_file"]
    base = items_path.parent
    items = []
    for f in json.loads(items_path.read_text())["features"]:
        item = pystac.Item.from_dict(f)
        for asset in item.assets.values():
            asset.href = str(base / asset.href)
        items.append(item)
    bands = w["bands"]
    crs = w["crs"] or "EPSG:32755"
    res_m = w["resolution"] or 10.0
    odc_kw = {"crs": w["crs"], "resolution": w["resolution"]} if w["crs"] else {}
    shape = {}

    def run_odc():
        ds = odc.stac.load(items, bands=bands, resampling=w["resampling"], groupby="time",
                           pool=2, **odc_kw)
        a = ds.to_array("band")
        shape["odc-stac"] = a.shape
        return a

    def run_stackstac():
        from rasterio.enums import Resampling
        a = stackstac.stack(items, assets=bands, epsg=int(crs.split(":")[1]), resolution=res_m,
                            resampling=Resampling[w["resampling"]], dtype="uint16",
                            fill_value=np.uint16(0), rescale=False)
        v = a.compute(scheduler="threads", num_workers=2)
        shape["stackstac"] = v.shape
        return v

    res = []
    for name, fn, tool in (
        ("odc-stac", run_odc, f"odc-stac {odc.stac.__version__} (pool=2)"),
        ("stackstac", run_stackstac, f"stackstac {stackstac.__version__} (2 threads)"),
    ):
        s, samples = best(fn, repeats)
        n = int(np.prod(shape[name]))
        res.append({"workload": w["name"], "anchor": name, "tool": tool, "seconds": s,
                    "samples": samples, "bytes": n * 2, "output_pixels": n,
                    "mpx_per_s": n / s / 1e6})
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
    for kind, fn in (("slicing", slicing), ("rasterize", rasterize), ("stacking", stacking)):
        for w in manifest.get(kind, []):
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
