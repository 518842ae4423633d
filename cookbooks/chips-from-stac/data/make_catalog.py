"""Writes rgb1.tif-rgb4.tif and catalog.json (one STAC Item per file) here.

Run from this directory with rasterio (1.4.4 was used, GDAL 3.10):
    python make_catalog.py ../../../tests/fixtures/geotiff
The sources are rasterio's test rasters rgb1.tif-rgb4.tif (CC0; four tiles of one Landsat 7
scene, uncompressed strips with a WKT CRS). They are rewritten unchanged in pixels as
256x256-tiled, deflate-compressed GeoTIFFs with overviews (a COG's layout) whose CRS is
EPSG:32618 by code. They share one acquisition, so the items share one datetime and stack
into one mosaicked time step.
"""
import json
import sys

import rasterio
from rasterio.enums import Resampling
from rasterio.warp import transform_bounds

src_dir = sys.argv[1]
for i in range(1, 5):
    with rasterio.open(f"{src_dir}/rgb{i}.tif") as s:
        data = s.read()
        profile = s.profile
    profile.update(driver="GTiff", crs="EPSG:32618", tiled=True, blockxsize=256,
                   blockysize=256, compress="deflate", interleave="pixel")
    with rasterio.open(f"rgb{i}.tif", "w", **profile) as d:
        d.write(data)
        d.build_overviews([2], Resampling.nearest)

features = []
for i in range(1, 5):
    name = f"rgb{i}.tif"
    with rasterio.open(name) as d:
        west, south, east, north = transform_bounds(d.crs, "EPSG:4326", *d.bounds)
        features.append({
            "type": "Feature",
            "stac_version": "1.0.0",
            "stac_extensions": [
                "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
                "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
                "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
            ],
            "id": f"rgb{i}",
            "bbox": [round(v, 7) for v in (west, south, east, north)],
            "geometry": {"type": "Polygon", "coordinates": [[
                [west, south], [east, south], [east, north], [west, north], [west, south]]]},
            "properties": {"datetime": "2024-03-01T15:30:00Z", "platform": "landsat-7",
                           "proj:code": "EPSG:32618"},
            "links": [],
            "assets": {"image": {
                "href": name,
                "type": "image/tiff; application=geotiff",
                "roles": ["data"],
                "proj:shape": [d.height, d.width],
                "proj:transform": list(d.transform)[:6],
                "raster:bands": [{"data_type": d.dtypes[b], "nodata": d.nodata}
                                 for b in range(d.count)],
                "eo:bands": [{"name": n, "common_name": n} for n in ("red", "green", "blue")],
            }},
        })
with open("catalog.json", "w") as f:
    json.dump({"type": "FeatureCollection", "features": features}, f, indent=1)
    f.write("\n")
