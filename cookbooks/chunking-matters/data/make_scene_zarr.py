"""Writes scene.zarr: band 1 (red) of RGB.byte.tif, rows and columns 0:256 (the scene's
top-left corner), as a sharded Zarr v3 array with zarr-python (the anchor implementation, not
geochip): 32×32 chunks in 128×128 shards, gzip level 6, fill value 0, dims (y, x),
georeferenced with GeoZarr's `proj:code` and `spatial:transform` (rasterio's window
transform). The corner shard (rows and columns 0:128) is all nodata, so zarr-python writes no
object for it (and leaves empty inner chunks out of the other shards): a reader must take the
missing object (HTTP 404) as the fill value. Also prints the SHA-256 of the .npy of the window
the recipe's `read_zarr` step reads (across that missing shard and its neighbour), for its
[expected] table.

Run from this directory with zarr 3.1.6, numpy and rasterio:
    python make_scene_zarr.py
"""

import hashlib
import io
import shutil

import numpy as np
import rasterio
import rasterio.windows
import zarr
from zarr.codecs import GzipCodec

ROW, COL, SIZE = 0, 0, 256
WINDOW = (slice(64, 128), slice(96, 160))  # the recipe's window = "64:128, 96:160"

with rasterio.open("RGB.byte.tif") as src:
    win = rasterio.windows.Window(COL, ROW, SIZE, SIZE)
    red = src.read(1, window=win)
    t = rasterio.windows.transform(win, src.transform)
    crs = src.crs.to_epsg()

shutil.rmtree("scene.zarr", ignore_errors=True)
root = zarr.open_group("scene.zarr", mode="w", zarr_format=3)
a = root.create_array(
    "red",
    shape=red.shape,
    dtype="uint8",
    chunks=(32, 32),
    shards=(128, 128),
    compressors=GzipCodec(level=6),
    fill_value=0,
    dimension_names=["y", "x"],
    attributes={
        "proj:code": f"EPSG:{crs}",
        "spatial:transform": [t.a, t.b, t.c, t.d, t.e, t.f],
        "spatial:dimensions": ["y", "x"],
        "spatial:shape": list(red.shape),
    },
)
a[:] = red
assert not (red[:128, :128] != 0).any() and (red[WINDOW] != 0).any()
buf = io.BytesIO()
np.save(buf, np.ascontiguousarray(red[WINDOW]))
print("served-window.npy", hashlib.sha256(buf.getvalue()).hexdigest())
