//! `geochip stack`: STAC items stacked into a `(time, band, y, x)` cube with odc-stac's or
//! stackstac's semantics (`geochip::stack::load`), written as `.npy` plus a JSON sidecar; or,
//! with `--grid-only`, just the output grid and coordinates as JSON.
//!
//! Assets are read with the core's COG reader ([`geochip::stack::CogReader`]): only the tiles
//! each window needs, from internal overviews when odc-stac would, over local files (hrefs
//! relative to the items file, absolute paths, `file://`) or `http://` / `https://` range requests, with
//! the native zstd codec.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use geochip::cog::{ByteSource, CogError};
use geochip::stac::{Item, StacDocument, parse_document};
use geochip::stack::{
    Anchor, AssetError, AssetErrorKind, CogReader, CrsChoice, GridParams, GroupBy, LoadOptions,
    StackMode, XyCoords, asset_error, load, output_grid,
};
use geochip::{ArrayData, DType, LabeledArray};
use geochip_bench::source::{FileSource, native_codecs};

/// Arguments of `geochip stack`.
#[derive(Debug, clap::Args)]
pub struct StackArgs {
    /// STAC Item, ItemCollection/FeatureCollection, or static Catalog/Collection JSON (item
    /// and child links are followed on the local filesystem).
    pub items: PathBuf,
    /// Bands: asset keys, or eo:bands common names in odc mode (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub bands: Option<Vec<String>>,
    /// Output CRS: EPSG:n (or n), WKT, or `utm` (odc mode).
    #[arg(long)]
    pub crs: Option<String>,
    /// Output resolution: `r` or `x,y` (CRS units, positive).
    #[arg(long)]
    pub resolution: Option<String>,
    /// Query box in lon/lat: west,south,east,north (odc bbox=, stackstac bounds_latlon=).
    #[arg(long, allow_hyphen_values = true)]
    pub bbox: Option<String>,
    /// Bounds in the output CRS: minx,miny,maxx,maxy (needs --crs).
    #[arg(long, allow_hyphen_values = true)]
    pub bounds: Option<String>,
    /// Pixel anchor (odc mode): edge, center, or fx,fy.
    #[arg(long)]
    pub anchor: Option<String>,
    /// Time grouping (odc mode): time, solar_day, id, or an item property name.
    #[arg(long, default_value = "time")]
    pub groupby: String,
    /// Semantics: odc (odc-stac 0.5.3, default) or stackstac (stackstac 0.5.1).
    #[arg(long, default_value = "odc")]
    pub mode: String,
    /// stackstac mode: do not snap bounds to the resolution.
    #[arg(long)]
    pub no_snap: bool,
    /// stackstac mode: x/y coordinates at pixel centres instead of top-left corners.
    #[arg(long)]
    pub center_coords: bool,
    /// Refuse outputs with more elements (time x band x y x x) than this.
    #[arg(long, default_value_t = geochip::stack::DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,
    /// Print the grid and coordinates as JSON without reading pixels.
    #[arg(long)]
    pub grid_only: bool,
    /// Print the JSON on one line.
    #[arg(long)]
    pub compact: bool,
    /// Resampling: nearest (default), bilinear or average.
    #[arg(long, default_value = "nearest")]
    pub resampling: String,
    /// Output dtype (odc: the bands' raster:bands data_type, else float32; stackstac: float64).
    #[arg(long)]
    pub dtype: Option<String>,
    /// Fill value of empty pixels (odc nodata=, stackstac fill_value=); `nan` allowed.
    #[arg(long, allow_hyphen_values = true)]
    pub nodata: Option<String>,
    /// Apply raster:bands scale/offset (stackstac's default; float output in odc mode).
    #[arg(long, conflicts_with = "no_rescale")]
    pub rescale: bool,
    /// Do not apply raster:bands scale/offset (stackstac mode).
    #[arg(long)]
    pub no_rescale: bool,
    /// Asset errors that become fill instead of failing: any of not_found, unreachable,
    /// corrupt (stackstac's default: not_found; odc's: none).
    #[arg(long, value_delimiter = ',')]
    pub errors_as_nodata: Option<Vec<String>>,
    /// odc mode: never read overviews.
    #[arg(long)]
    pub no_overviews: bool,
    /// Output: CUBE.npy (plus CUBE.json with grid, dims, times, bands), or a CUBE.zarr store
    /// (Zarr v3 group: `cube` (time, band, y, x) with the grid as attributes, coordinate
    /// arrays `time`, `y`, `x`, and rioxarray's `spatial_ref`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Zarr output layout (`.zarr` only); default chunks 1×1×512×512, zstd level 1.
    #[command(flatten)]
    pub zarr: crate::zarr_io::ZarrOpts,
    /// Overwrite existing output.
    #[arg(long)]
    pub force: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Errors of the `geochip stack` command itself (the core's `StackError` covers the rest).
#[derive(Debug)]
#[non_exhaustive]
pub enum StackCliError {
    /// Pixel stacking without `--out`.
    NoOutput,
    /// `--out` with an extension other than .npy or .zarr.
    BadOutput {
        /// The path.
        path: PathBuf,
    },
}

impl std::fmt::Display for StackCliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoOutput => write!(
                f,
                "pixel stacking needs --out CUBE.npy or --out CUBE.zarr (or --grid-only to \
                 print the grid)"
            ),
            Self::BadOutput { path } => {
                write!(f, "{}: --out must end in .npy (or .zarr)", path.display())
            }
        }
    }
}

impl std::error::Error for StackCliError {}

fn floats(text: &str, n: &[usize], what: &str) -> anyhow::Result<Vec<f64>> {
    let v: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--{what} '{text}': not comma-separated numbers"))?;
    if !n.contains(&v.len()) {
        bail!("--{what} '{text}': expected {n:?} numbers, got {}", v.len());
    }
    Ok(v)
}

/// Reads items from a file, following catalog links (depth-limited); each item with the
/// directory its relative hrefs resolve against.
fn load_items(path: &Path, depth: usize) -> anyhow::Result<Vec<(Item, PathBuf)>> {
    if depth > 8 {
        bail!("{}: catalog links nest more than 8 levels", path.display());
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let doc = parse_document(&text).with_context(|| path.display().to_string())?;
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    match doc {
        StacDocument::Items(items) => Ok(items.into_iter().map(|i| (i, base.clone())).collect()),
        StacDocument::Catalog {
            item_hrefs,
            child_hrefs,
            ..
        } => {
            let base = path.parent().unwrap_or(Path::new("."));
            let mut items = Vec::new();
            for href in item_hrefs.iter().chain(&child_hrefs) {
                if href.contains("://") {
                    bail!("{}: link {href} is not a local file", path.display());
                }
                items.extend(load_items(&base.join(href), depth + 1)?);
            }
            Ok(items)
        }
        _ => bail!("{}: not a STAC document with items", path.display()),
    }
}

/// Runs `geochip stack`.
pub fn run(args: &StackArgs) -> anyhow::Result<()> {
    // Refuse bad or existing output before any work.
    if !args.grid_only {
        let out = args.out.as_ref().ok_or(StackCliError::NoOutput)?;
        let outputs = match out.extension().and_then(|e| e.to_str()) {
            Some("zarr") => {
                // Check the layout options before any work.
                args.zarr.write_options()?;
                vec![out.clone()]
            }
            Some("npy") => vec![out.clone(), out.with_extension("json")],
            _ => return Err(StackCliError::BadOutput { path: out.clone() }.into()),
        };
        for p in outputs {
            if p.exists() && !args.force {
                bail!("{}: exists (use --force to overwrite)", p.display());
            }
        }
    }
    let located = load_items(&args.items, 0)?;
    let items: Vec<Item> = located.iter().map(|(i, _)| i.clone()).collect();
    let mode: StackMode = args.mode.parse()?;
    let mut params = GridParams {
        mode,
        bands: args.bands.clone(),
        groupby: args.groupby.parse::<GroupBy>()?,
        snap_bounds: !args.no_snap,
        xy_coords: if args.center_coords {
            XyCoords::Center
        } else {
            XyCoords::TopLeft
        },
        max_pixels: args.max_pixels,
        ..GridParams::default()
    };
    if let Some(c) = &args.crs {
        params.crs = Some(c.parse::<CrsChoice>()?);
    }
    if let Some(r) = &args.resolution {
        let v = floats(r, &[1, 2], "resolution")?;
        params.resolution = Some((v[0], *v.get(1).unwrap_or(&v[0])));
    }
    if let Some(b) = &args.bbox {
        let v = floats(b, &[4], "bbox")?;
        params.bbox = Some([v[0], v[1], v[2], v[3]]);
    }
    if let Some(b) = &args.bounds {
        let v = floats(b, &[4], "bounds")?;
        params.bounds = Some([v[0], v[1], v[2], v[3]]);
    }
    if let Some(a) = &args.anchor {
        params.anchor = Some(a.parse::<Anchor>()?);
    }
    if !args.grid_only {
        return stack_pixels(args, &located, &items, &params);
    }
    let out = output_grid(&items, &params)?;
    let mut json = out.to_json();
    if let Some(obj) = json.as_object_mut() {
        obj.insert("mode".into(), serde_json::to_value(mode)?);
    }
    let text = if args.compact {
        serde_json::to_string(&json)?
    } else {
        serde_json::to_string_pretty(&json)?
    };
    println!("{text}");
    Ok(())
}

fn load_options(args: &StackArgs) -> anyhow::Result<LoadOptions> {
    let mut o = LoadOptions {
        resampling: args
            .resampling
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--resampling: {e}"))?,
        use_overviews: !args.no_overviews,
        ..LoadOptions::default()
    };
    if let Some(d) = &args.dtype {
        o.dtype = Some(
            d.parse::<DType>()
                .map_err(|e| anyhow::anyhow!("--dtype: {e}"))?,
        );
    }
    if let Some(n) = &args.nodata {
        let v = match n.trim().to_ascii_lowercase().as_str() {
            "nan" => f64::NAN,
            t => t
                .parse::<f64>()
                .with_context(|| format!("--nodata '{n}': not a number"))?,
        };
        o.nodata = Some(v);
    }
    if args.rescale {
        o.rescale = Some(true);
    }
    if args.no_rescale {
        o.rescale = Some(false);
    }
    if let Some(kinds) = &args.errors_as_nodata {
        let mut v = Vec::new();
        for k in kinds {
            v.push(match k.trim() {
                "not_found" => AssetErrorKind::NotFound,
                "unreachable" => AssetErrorKind::Unreachable,
                "corrupt" => AssetErrorKind::Corrupt,
                "none" => continue,
                other => bail!(
                    "--errors-as-nodata '{other}': expected not_found, unreachable, corrupt or none"
                ),
            });
        }
        o.errors_as_nodata = Some(v);
    }
    Ok(o)
}

fn stack_pixels(
    args: &StackArgs,
    located: &[(Item, PathBuf)],
    items: &[Item],
    params: &GridParams,
) -> anyhow::Result<()> {
    let opts = load_options(args)?;
    let out = args.out.clone().ok_or(StackCliError::NoOutput)?;
    let bases: HashMap<String, PathBuf> = located
        .iter()
        .map(|(i, b)| (i.id.clone(), b.clone()))
        .collect();
    let mut reader = CogReader::new(|item: &Item, href: &str| {
        let base = bases.get(&item.id).map_or(Path::new("."), PathBuf::as_path);
        open_source(base, href)
    })
    .with_codecs(native_codecs());
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "stacking {bar:30} {pos}/{len} planes (time x band) {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    };
    let cube = load(items, params, &opts, &mut reader, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    if out.extension().and_then(|e| e.to_str()) == Some("zarr") {
        return write_zarr(args, &out, &cube, params, &opts);
    }
    write_npy(&out, &cube.array, args.force)?;
    let sidecar = out.with_extension("json");
    let mut json = cube.grid.to_json();
    if let Some(obj) = json.as_object_mut() {
        obj.insert("mode".into(), serde_json::to_value(params.mode)?);
        obj.insert("dtype".into(), cube.array.dtype().to_string().into());
        obj.insert(
            "nodata".into(),
            if cube.nodata.is_nan() {
                "nan".into()
            } else {
                cube.nodata.into()
            },
        );
        obj.insert("resampling".into(), serde_json::to_value(opts.resampling)?);
        obj.insert(
            "array".into(),
            out.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
                .into(),
        );
        obj.insert("sha256".into(), cube.array.sha256().into());
    }
    let mut f = create(&sidecar, args.force)?;
    f.write_all(serde_json::to_string_pretty(&json)?.as_bytes())?;
    f.write_all(b"\n")?;
    let shape = cube.array.shape();
    eprintln!(
        "wrote {} ({} {:?}) and {}",
        out.display(),
        cube.array.dtype(),
        shape,
        sidecar.display()
    );
    Ok(())
}

/// The cube as a Zarr v3 group at `out` (written to a temporary sibling, renamed into place):
/// `/cube` (time, band, y, x) with `dimension_names`, the grid attributes (GeoZarr `proj:`,
/// `spatial:`; rioxarray's `grid_mapping` → `/spatial_ref`), the Zarr fill value and a
/// `nodata` attribute = the cube's nodata (odc-stac's attribute; no `_FillValue`, so xarray
/// returns the values as stacked, unmasked) and the band names in attribute `band` (the core
/// writes no string arrays); 1-D
/// coordinate arrays `/time` (int64 nanoseconds since 1970-01-01, CF `units` so xarray
/// decodes datetime64[ns]), `/y`, `/x` (float64, pixel centres or corners as in the sidecar);
/// the root group's `geochip:stack` attribute holds the sidecar JSON (grid, coords, mode).
fn write_zarr(
    args: &StackArgs,
    out: &Path,
    cube: &geochip::stack::Stack,
    params: &GridParams,
    opts: &LoadOptions,
) -> anyhow::Result<()> {
    use serde_json::{Map, Value, json};
    let mut zopts = args.zarr.write_options()?;
    let g = &cube.grid;
    let nodata = if cube.nodata.is_nan() {
        json!("NaN")
    } else {
        json!(cube.nodata)
    };
    zopts.fill_value = Some(cube.nodata);
    zopts.attributes.insert("band".into(), json!(g.band));
    zopts.attributes.insert("nodata".into(), nodata.clone());
    let mut meta = g.to_json();
    if let Some(obj) = meta.as_object_mut() {
        obj.insert("mode".into(), serde_json::to_value(params.mode)?);
        obj.insert("dtype".into(), cube.array.dtype().to_string().into());
        obj.insert("nodata".into(), nodata);
        obj.insert("resampling".into(), serde_json::to_value(opts.resampling)?);
        obj.insert("array".into(), "cube".into());
        obj.insert("sha256".into(), cube.array.sha256().into());
    }
    let mut times = Vec::with_capacity(g.time.len());
    for t in &g.time {
        let ns = geochip::stac::Timestamp::parse(t)
            .and_then(|ts| i64::try_from(ts.0).ok())
            .with_context(|| format!("time coordinate '{t}' is not a datetime64[ns]"))?;
        times.push(ns);
    }
    let store = crate::zarr_io::ZarrOut::create(out, args.force)?;
    let mut root = Map::new();
    root.insert("geochip:stack".into(), meta);
    store.store().create_group("/", root)?;
    store.store().write_array("/cube", &cube.array, &zopts)?;
    let coord = |name: &str, mut attributes: Map<String, Value>| {
        attributes.insert("geochip:coordinate".into(), json!(name));
        geochip::zarr::WriteOptions {
            attributes,
            ..geochip::zarr::WriteOptions::default()
        }
    };
    let mut tattrs = Map::new();
    tattrs.insert("units".into(), json!("nanoseconds since 1970-01-01"));
    tattrs.insert("calendar".into(), json!("proleptic_gregorian"));
    let time = LabeledArray::from_shape_vec(&["time"], &[times.len()], times)?;
    store
        .store()
        .write_array("/time", &time, &coord("time", tattrs))?;
    for (name, v) in [("y", &g.y), ("x", &g.x)] {
        let a = LabeledArray::from_shape_vec(&[name], &[v.len()], v.clone())?;
        store
            .store()
            .write_array(&format!("/{name}"), &a, &coord(name, Map::new()))?;
    }
    store.commit()?;
    eprintln!(
        "wrote {} (cube {} {:?}, chunks {:?}, {})",
        out.display(),
        cube.array.dtype(),
        cube.array.shape(),
        args.zarr.chunks.clone().unwrap_or_else(|| {
            geochip::zarr::default_chunk_shape(cube.array.dims(), cube.array.shape())
        }),
        args.zarr.compression
    );
    Ok(())
}

fn create(path: &Path, force: bool) -> anyhow::Result<BufWriter<File>> {
    let mut o = OpenOptions::new();
    o.write(true);
    if force {
        o.create(true).truncate(true);
    } else {
        o.create_new(true);
    }
    let f = o
        .open(path)
        .with_context(|| format!("{}: cannot create (exists? use --force)", path.display()))?;
    Ok(BufWriter::new(f))
}

fn write_npy(path: &Path, array: &LabeledArray, force: bool) -> anyhow::Result<()> {
    use ndarray_npy::WriteNpyExt;
    let mut w = create(path, force)?;
    match array.data() {
        ArrayData::U8(a) => a.write_npy(&mut w),
        ArrayData::U16(a) => a.write_npy(&mut w),
        ArrayData::U32(a) => a.write_npy(&mut w),
        ArrayData::U64(a) => a.write_npy(&mut w),
        ArrayData::I8(a) => a.write_npy(&mut w),
        ArrayData::I16(a) => a.write_npy(&mut w),
        ArrayData::I32(a) => a.write_npy(&mut w),
        ArrayData::I64(a) => a.write_npy(&mut w),
        ArrayData::F32(a) => a.write_npy(&mut w),
        ArrayData::F64(a) => a.write_npy(&mut w),
        _ => bail!("unsupported dtype {}", array.dtype()),
    }
    .with_context(|| format!("{}: writing .npy", path.display()))?;
    w.flush()?;
    Ok(())
}

/// Where an href points.
#[derive(Debug, Clone, PartialEq)]
enum Href {
    Path(PathBuf),
    Url(String),
}

/// Resolves `href` against `base` (the directory of the JSON file the item came from).
fn resolve_href(base: &Path, href: &str) -> Href {
    if href.starts_with("http://") || href.starts_with("https://") {
        Href::Url(href.to_owned())
    } else if let Some(p) = href.strip_prefix("file://") {
        Href::Path(PathBuf::from(p))
    } else {
        Href::Path(base.join(href))
    }
}

/// Opens an asset's bytes: a local file (a missing file is *not found*, so stackstac's default
/// `errors_as_nodata` tolerates it), or an HTTP URL read by range requests (HTTP 404 is *not
/// found*; other failures *unreachable*).
fn open_source(base: &Path, href: &str) -> Result<Box<dyn ByteSource>, AssetError> {
    match resolve_href(base, href) {
        Href::Path(path) => {
            if let Err(e) = std::fs::metadata(&path) {
                let msg = format!("{}: {e}", path.display());
                return Err(if e.kind() == std::io::ErrorKind::NotFound {
                    AssetError::not_found(msg)
                } else {
                    AssetError::unreachable(msg)
                });
            }
            FileSource::open(&path)
                .map(|s| Box::new(s) as Box<dyn ByteSource>)
                .map_err(|e| asset_error(&e))
        }
        Href::Url(url) => {
            let src = geochip_bench::source::open(&url).map_err(|e| asset_error(&e))?;
            // The first request (its answer is kept): tells a missing file from a failure.
            match src.len() {
                Ok(_) => Ok(src as Box<dyn ByteSource>),
                Err(CogError::Source { reason, .. }) if reason.contains("HTTP 404") => {
                    Err(AssetError::not_found(format!("{url}: {reason}")))
                }
                Err(e) => Err(asset_error(&e)),
            }
        }
    }
}
