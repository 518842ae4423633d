//! `geochip`: the command line of the geochip toolkit.
//!
//! Run `geochip --help` for the commands and `geochip <command> --help` for each one's options.

mod bench;
#[cfg(test)]
mod book_commands;
mod rasterize;
mod read;
mod run;
mod slice;
mod stack;
mod zarr_io;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// geochip: stack STAC assets into a cube, burn vector labels, slice ML chips, and measure
/// how fast chips reach a GPU.
#[derive(Debug, Parser)]
#[command(name = "geochip", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Cut a .npy cube into ML chips, patch for patch like xbatcher's BatchGenerator
    /// (input_dims, input_overlap, batch_dims, concat_input_dims), plus edge policies, integer
    /// batches, seeded random chips and shuffles, and NaN/valid-fraction filters. Writes one
    /// .npy per batch and chips.json (per-chip start offsets, and geotransforms with
    /// --transform/--crs); --plan prints the batches' selectors instead. Never overwrites
    /// without --force.
    ///
    /// Example: geochip slice cube.npy --dims band,y,x --input-dims y=256,x=256
    /// --overlap y=32,x=32 --out chips/
    Slice(Box<slice::SliceArgs>),
    /// Stack STAC items into a (time, band, y, x) cube exactly as odc-stac 0.5.3 does
    /// (default) or as stackstac 0.5.1 does (--mode stackstac): output grid, reprojection and
    /// resampling (nearest/bilinear/average, GDAL's warper), grouping with first-valid fusing,
    /// dtype/nodata/rescale rules. Writes CUBE.npy plus CUBE.json (grid, dims, times, bands);
    /// --grid-only prints the grid and coordinates as JSON without reading pixels. Never
    /// overwrites without --force.
    ///
    /// Example: geochip stack items.json --bands red,nir --crs EPSG:32755 --resolution 20
    /// --resampling bilinear --out cube.npy
    Stack(Box<stack::StackArgs>),
    /// Burn vector labels onto a grid, pixel for pixel like rasterio/GDAL 3.10
    /// (rasterio.features.rasterize): centre rule or --all-touched, --merge replace|add,
    /// values cast like GDAL into --dtype; or exact fractional --coverage, or an --aggregate
    /// (count/sum/min/max/first/last). Shapes from GeoJSON (--value-property) or WKT; the grid
    /// from --width/--height/--transform (rasterio Affine order) or --like a GeoTIFF. Writes
    /// .npy or a georeferenced GeoTIFF; never overwrites without --force.
    ///
    /// Example: geochip rasterize --shapes parcels.geojson --value-property id
    /// --width 4096 --height 4096 --transform 10,0,300000,0,-10,4000000 --crs EPSG:32633
    /// --dtype uint32 --out labels.tif
    Rasterize(Box<rasterize::RasterizeArgs>),
    /// Run a cookbook recipe (cookbooks/NAME/recipe.toml): its steps (shapes, grid, rasterize,
    /// slice, stats, checksum, plot…) with a progress bar; --set changes a parameter, --out
    /// writes each output plus index.json with its sha256, --check compares the outputs with
    /// the recipe's recorded checksums. Never overwrites without --force.
    ///
    /// Example: geochip run cookbooks/labels-for-chips --set chip=64 --out out/labels
    Run(Box<run::RunArgs>),
    /// Run benchmark suites (slicing, rasterize, cuda, gds; --list) with same-run baselines
    /// (memcpy, memset, plain read, pinned H2D, D2D), recording the machine, dataset
    /// parameters and git commit; results are appended to OUT/geochip-bench.jsonl, never
    /// overwritten. `geochip bench report` renders SVG charts and a markdown table.
    ///
    /// Example: geochip bench slicing rasterize --quick --out results/
    Bench(Box<bench::BenchArgs>),
    /// Read a window of a GeoTIFF/COG into .npy (dims band, y, x), fetching and decoding only
    /// the tiles the window touches (tiles decode in parallel). FILE is a path or an http(s)://
    /// URL (range requests). --overview N reads internal overview N (0-based, like rasterio's
    /// overview_level); --bands are 1-based. Prints the grid and how many tiles, requests and
    /// bytes it fetched. Never overwrites without --force.
    ///
    /// Example: geochip read cog.tif --window 512,512,256,256 --overview 0 --out chip.npy
    Read(Box<read::ReadArgs>),
    /// Print the grid of a GeoTIFF as JSON: CRS, shape, transform (rasterio Affine order and
    /// GDAL geotransform order), bounds and resolution, plus band count, dtype, nodata and
    /// tiling. No pixels are decoded.
    ///
    /// Example: geochip info cookbooks/data/RGB.byte.tif
    Info {
        /// The GeoTIFF (or COG) to describe.
        file: PathBuf,
        /// Print the JSON on one line instead of indented.
        #[arg(long)]
        compact: bool,
    },
}

fn info(file: &Path, compact: bool) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    let name = file.display().to_string();
    let info = geochip::geotiff::read_info(&name, &bytes)?;
    let json = info.to_json();
    let text = if compact {
        serde_json::to_string(&json)?
    } else {
        serde_json::to_string_pretty(&json)?
    };
    println!("{text}");
    Ok(())
}

fn main() -> ExitCode {
    geochip_bench::tune_allocator();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Info { file, compact } => info(file, *compact),
        Command::Slice(args) => slice::run(args.as_ref()),
        Command::Stack(args) => stack::run(args.as_ref()),
        Command::Rasterize(args) => rasterize::run(args.as_ref()),
        Command::Run(args) => run::run(args.as_ref()),
        Command::Read(args) => read::run(args.as_ref()),
        Command::Bench(args) => bench::run(args.as_ref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
