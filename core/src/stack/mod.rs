//! Stacking STAC items into a `(time, band, y, x)` cube.
//!
//! The **output grid** and coordinates, exactly as odc-stac 0.5.3 derives them
//! ([`StackMode::Odc`], the default) or as stackstac 0.5.1 does ([`StackMode::Stackstac`], a
//! compatibility mode) — see [`output_grid`] — and the **pixels**: [`load`] reads assets
//! through an [`AssetReader`], reprojects/resamples them with [`crate::warp`] and fuses them
//! with each tool's dtype/nodata rules; [`mosaic`] is stackstac's `mosaic`. Not implemented
//! yet: the wasm binding.
//!
//! ```
//! use geochip::stack::{output_grid, GridParams};
//! let json = r#"{"type": "Feature", "id": "a", "properties": {"datetime": "2024-01-05T00:10:00Z",
//!   "proj:epsg": 32755}, "assets": {"B02": {"href": "b.tif", "type": "image/tiff",
//!   "proj:shape": [64, 64], "proj:transform": [10, 0, 767920, 0, -10, 6090010]}}}"#;
//! let items = geochip::stac::parse_items(json).unwrap();
//! let out = output_grid(&items, &GridParams::default()).unwrap();
//! assert_eq!(out.grid.transform.to_affine(), [10.0, 0.0, 767920.0, 0.0, -10.0, 6090010.0]);
//! assert_eq!(out.grid.shape(), (64, 64));
//! assert_eq!(out.x[0], 767925.0); // odc-stac: pixel centres
//! ```

mod cog_reader;
mod grid;
mod load;

pub use cog_reader::{CogReader, DEFAULT_OPEN_ASSETS, SourceOpener, asset_error};
pub(crate) use load::resolve_band;
pub use load::{
    AssetError, AssetErrorKind, AssetRaster, AssetReader, LoadOptions, Stack, load, mosaic,
};

pub use grid::{
    Anchor, CrsChoice, DEFAULT_MAX_PIXELS, GridParams, GroupBy, StackError, StackGrid, StackMode,
    XyCoords, output_grid,
};
