"""Builds the cog-to-zarr cookbook's data and its odc-stac anchor.

Run from the repository root with a venv holding rasterio 1.4.4 (GDAL 3.10), odc-stac 0.5.3,
pystac, numpy:

    python cookbooks/cog-to-zarr/data/make_data.py

Writes, next to this script:
- rgb1-4.tif: copies of cookbooks/data/stacking/rgb1-4.tif (cloud-optimised GeoTIFFs made by
  tests/fixtures/stacking_lesson/make_catalog.py from rasterio's CC0 test rasters);
- scene.tif: cookbooks/data/RGB.byte.tif (striped, uncompressed) rewritten by GDAL's COG
  driver with the same profile as the tiles (128x128 deflate tiles, predictor 2, internal
  overviews, nearest, CRS EPSG:32618); pixels unchanged;
- catalog.json: cookbooks/data/stacking/catalog.json with the scene's href pointing at
  scene.tif (three acquisition days: rgb1+rgb2, rgb3+rgb4, the whole scene);
and prints what odc-stac loads for the recipe's default parameters (groupby solar_day,
EPSG:32618, 300 m, nearest): shape, dtype, times and the SHA-256 of the C-order
little-endian cube, which the recipe's `checksums.csv` must show.
"""

import hashlib
import json
import os
import shutil

import numpy as np
import rasterio

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
STACKING = os.path.join(ROOT, "cookbooks", "data", "stacking")


def make_cog(src_path, dst_path):
    with rasterio.open(src_path) as src:
        data = src.read()
        profile = dict(
            driver="COG",
            width=src.width,
            height=src.height,
            count=src.count,
            dtype=src.dtypes[0],
            nodata=src.nodata,
            crs="EPSG:32618",
            transform=src.transform,
            blocksize=128,
            compress="DEFLATE",
            predictor=2,
            overview_resampling="nearest",
        )
    with rasterio.open(dst_path, "w", **profile) as dst:
        dst.write(data)


def main():
    for i in range(1, 5):
        shutil.copyfile(os.path.join(STACKING, f"rgb{i}.tif"), os.path.join(HERE, f"rgb{i}.tif"))
    make_cog(os.path.join(ROOT, "cookbooks", "data", "RGB.byte.tif"), os.path.join(HERE, "scene.tif"))
    with open(os.path.join(STACKING, "catalog.json")) as f:
        catalog = json.load(f)
    for feature in catalog["features"]:
        for asset in feature["assets"].values():
            if asset["href"] == "../RGB.byte.tif":
                asset["href"] = "scene.tif"
    with open(os.path.join(HERE, "catalog.json"), "w") as f:
        json.dump(catalog, f, indent=1)
        f.write("\n")

    import pystac
    from odc.stac import load

    items = [pystac.Item.from_dict(f) for f in catalog["features"]]
    for it in items:
        for a in it.assets.values():
            a.href = os.path.join(HERE, a.href)
    ds = load(
        items,
        bands=["red", "green", "blue"],
        crs="EPSG:32618",
        resolution=300,
        groupby="solar_day",
        resampling="nearest",
    )
    cube = ds.to_array("band").transpose("time", "band", "y", "x").values
    cube = np.ascontiguousarray(cube)
    print(json.dumps({
        "shape": list(cube.shape),
        "dtype": str(cube.dtype),
        "time": [str(t) for t in ds.time.values],
        "transform": list(ds.odc.geobox.affine)[:6],
        "sha256": hashlib.sha256(cube.astype(cube.dtype.newbyteorder("<")).tobytes()).hexdigest(),
    }, indent=1))


if __name__ == "__main__":
    main()
