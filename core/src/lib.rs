//! # geochip core
//!
//! The pure-Rust heart of geochip: georeferenced [`Grid`]s, [`Crs`] identifiers, affine
//! [`GeoTransform`]s in GDAL and rasterio order, the labelled n-d [`LabeledArray`] with named
//! dims, and GeoTIFF metadata reading. The same code compiles to `wasm32-unknown-unknown` for
//! the book's lessons and natively for the CLI and benchmarks.
//!
//! The core has no threads, files, network or clock: bytes, sources and time come in through
//! parameters and traits (see `ARCHITECTURE.md`). The `parallel` feature adds rayon natively.
//!
//! ```
//! use geochip::{GeoTransform, Grid, PixelAnchor, Window};
//! let grid = Grid::new(
//!     GeoTransform::from_gdal([300000.0, 30.0, 0.0, 4000000.0, 0.0, -30.0]),
//!     1024, 1024, Some("EPSG:32633".parse().unwrap()),
//! ).unwrap();
//! let chip = grid.window(Window::new(256, 512, 256, 256)).unwrap();
//! assert_eq!(chip.pixel_to_world(0, 0, PixelAnchor::UpperLeft), (307680.0, 3984640.0));
//! ```

pub mod array;
pub mod cog;
pub mod crs;
pub mod geotiff;
pub mod grid;
pub mod lesson;
pub mod proj;
pub mod rasterize;
pub mod recipe;
pub mod slice;
pub mod stac;
pub mod stack;
pub mod transform;
pub mod warp;
#[cfg(feature = "zarr")]
pub mod zarr;

pub use array::{ArrayData, ArrayError, DType, Element, LabeledArray, sha256_hex};
pub use crs::{Crs, CrsError};
pub use grid::{Bounds, Grid, GridError, PixelAnchor, Window};
pub use transform::GeoTransform;
