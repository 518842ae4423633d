//! `geochip read`: a window of a GeoTIFF/COG (local file or http:// URL) to .npy, fetching only
//! the tiles the window needs.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use geochip::Window;
use geochip::cog::Cog;
use geochip_bench::source;

/// Arguments of `geochip read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// The GeoTIFF/COG: a file path or an http:// URL (read with range requests).
    pub file: String,
    /// Pixel window `col,row,width,height` of the level read (default: the whole level).
    #[arg(long, value_parser = parse_window)]
    pub window: Option<Window>,
    /// Read internal overview N (0 = the first, largest overview, like rasterio's
    /// `overview_level`) instead of full resolution.
    #[arg(long)]
    pub overview: Option<usize>,
    /// Bands to read, 1-based like rasterio (default: all).
    #[arg(long, value_delimiter = ',')]
    pub bands: Option<Vec<usize>>,
    /// Output .npy file (dims band, y, x).
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    pub force: bool,
}

fn parse_window(s: &str) -> Result<Window, String> {
    let v: Vec<usize> = s
        .split(',')
        .map(|p| p.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("'{s}': {e} (expected col,row,width,height)"))?;
    match v[..] {
        [c, r, w, h] => Ok(Window::new(c, r, w, h)),
        _ => Err(format!("'{s}': expected 4 numbers col,row,width,height")),
    }
}

/// Runs `geochip read`.
pub fn run(args: &ReadArgs) -> anyhow::Result<()> {
    if args.out.exists() && !args.force {
        bail!("{}: exists (use --force to overwrite)", args.out.display());
    }
    let src = source::open(&args.file)?;
    let cog = Cog::open(src.as_ref())?.with_codecs(source::native_codecs());
    let level = args.overview.map_or(0, |o| o + 1);
    let lv = cog.levels().get(level).with_context(|| {
        format!(
            "{}: no overview {} (the file has {})",
            args.file,
            level - 1,
            cog.levels().len() - 1
        )
    })?;
    let window = args.window.unwrap_or_else(|| lv.full_window());
    let bands: Option<Vec<usize>> = match &args.bands {
        None => None,
        Some(b) => Some(
            b.iter()
                .map(|i| {
                    i.checked_sub(1)
                        .with_context(|| format!("--bands {i}: bands count from 1"))
                })
                .collect::<anyhow::Result<_>>()?,
        ),
    };
    let plan = cog.plan_window(level, window, bands.as_deref())?;
    let fetched_bytes: u64 = plan.requests().iter().map(|r| r.len).sum();
    let array = cog.read_window(src.as_ref(), level, window, bands.as_deref())?;
    crate::rasterize::write_npy(&args.out, &array, args.force)?;
    let grid = array.grid().map(geochip::Grid::to_json);
    let summary = serde_json::json!({
        "out": args.out.display().to_string(),
        "level": level,
        "shape": array.shape(),
        "dtype": array.dtype().name(),
        "tiles": plan.chunk_count(),
        "requests": plan.requests().len(),
        "bytes_fetched": fetched_bytes,
        "grid": grid,
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
