//! `geochip stack`: the output grid of stacking STAC items (odc-stac or stackstac semantics).
//!
//! Only `--grid-only` works today: pixel reading, reprojection and fusing are not implemented
//! yet, and the command says so instead of writing anything.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use geochip::stac::{Item, StacDocument, parse_document};
use geochip::stack::{Anchor, CrsChoice, GridParams, GroupBy, StackMode, XyCoords, output_grid};

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
    /// Time grouping (odc mode): time, solar_day or id.
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
    /// Print the grid and coordinates as JSON without reading pixels (required for now).
    #[arg(long)]
    pub grid_only: bool,
    /// Print the JSON on one line.
    #[arg(long)]
    pub compact: bool,
}

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

/// Reads items from a file, following catalog links (depth-limited).
fn load_items(path: &Path, depth: usize) -> anyhow::Result<Vec<Item>> {
    if depth > 8 {
        bail!("{}: catalog links nest more than 8 levels", path.display());
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let doc = parse_document(&text).with_context(|| path.display().to_string())?;
    match doc {
        StacDocument::Items(items) => Ok(items),
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
    if !args.grid_only {
        bail!(
            "pixel stacking is not implemented yet (COG reading, reprojection and fusing are \
             still to come); run with --grid-only to print the output grid and coordinates"
        );
    }
    let items = load_items(&args.items, 0)?;
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
