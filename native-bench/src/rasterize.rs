//! `geochip rasterize`: burn GeoJSON/WKT shapes onto a grid and write `.npy` or a
//! georeferenced GeoTIFF.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use geochip::rasterize::{
    Aggregation, BurnValue, MergeAlg, RasterizeOptions, Rasterizer, ReadOptions, read_geojson,
    read_wkt,
};
use geochip::{ArrayData, Crs, DType, GeoTransform, Grid, LabeledArray};
use tiff::encoder::{TiffEncoder, colortype};
use tiff::tags::Tag;

/// Options of `geochip rasterize`.
#[derive(Debug, clap::Args)]
pub struct RasterizeArgs {
    /// The shapes: GeoJSON (`.geojson`/`.json`: a FeatureCollection, Feature, geometry or an
    /// array of them) or WKT (`.wkt`, one geometry per line).
    #[arg(long)]
    pub shapes: PathBuf,
    /// GeoJSON feature property holding each shape's burn value (default: `--value`).
    #[arg(long)]
    pub value_property: Option<String>,
    /// Burn value of shapes without a value property.
    #[arg(long, default_value = "1", allow_hyphen_values = true)]
    pub value: String,
    /// Columns of the output grid (with `--height` and `--transform`, or use `--like`).
    #[arg(long, required_unless_present = "like", conflicts_with = "like")]
    pub width: Option<usize>,
    /// Rows of the output grid.
    #[arg(long, required_unless_present = "like", conflicts_with = "like")]
    pub height: Option<usize>,
    /// The affine transform in rasterio order `a,b,c,d,e,f` (x = a·col + b·row + c,
    /// y = d·col + e·row + f), e.g. `10,0,300000,0,-10,4000000`.
    #[arg(
        long,
        required_unless_present = "like",
        conflicts_with = "like",
        allow_hyphen_values = true
    )]
    pub transform: Option<String>,
    /// CRS of the grid (and of the shapes), e.g. `EPSG:32633`; written to GeoTIFF output.
    #[arg(long)]
    pub crs: Option<String>,
    /// Take the grid (transform, shape, CRS) from an existing GeoTIFF.
    #[arg(long)]
    pub like: Option<PathBuf>,
    /// Burn every pixel a shape touches (GDAL's ALL_TOUCHED) instead of centre-inside pixels.
    #[arg(long)]
    pub all_touched: bool,
    /// `replace` (last shape wins) or `add`.
    #[arg(long, default_value = "replace")]
    pub merge: String,
    /// Write exact fractional coverage (float32 in [0, 1]) instead of burned values.
    #[arg(long, conflicts_with = "aggregate")]
    pub coverage: bool,
    /// Write a per-pixel aggregation of shape values: count, sum, min, max, first, last.
    #[arg(long)]
    pub aggregate: Option<String>,
    /// Output dtype (uint8 … uint64, int8 … int64, float32, float64); default like rasterio:
    /// int64 for integer values, float64 otherwise.
    #[arg(long)]
    pub dtype: Option<String>,
    /// Value of pixels no shape burns.
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    pub fill: String,
    /// Fail on the first invalid shape or out-of-range value instead of skipping it.
    #[arg(long)]
    pub strict: bool,
    /// Output file: `.npy`, `.tif`/`.tiff` (georeferenced) or a `.zarr` store (Zarr v3: a
    /// group with the 2-D array `labels`, dims y/x, georeferenced by attributes).
    #[arg(long)]
    pub out: PathBuf,
    /// Zarr output layout (`.zarr` only).
    #[command(flatten)]
    pub zarr: crate::zarr_io::ZarrOpts,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Parses a number as an exact integer when it is one, else as a float.
fn parse_value(s: &str) -> anyhow::Result<BurnValue> {
    let s = s.trim();
    if let Ok(v) = s.parse::<i64>() {
        return Ok(BurnValue::Int(v));
    }
    if let Ok(v) = s.parse::<u64>() {
        return Ok(BurnValue::UInt(v));
    }
    s.parse::<f64>()
        .map(BurnValue::Float)
        .with_context(|| format!("'{s}' is not a number"))
}

fn parse_transform(s: &str) -> anyhow::Result<GeoTransform> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--transform '{s}': expected 6 comma-separated numbers"))?;
    let arr: [f64; 6] = v.try_into().map_err(|v: Vec<f64>| {
        anyhow::anyhow!("--transform '{s}': {} numbers, expected 6", v.len())
    })?;
    Ok(GeoTransform::from_affine(arr))
}

fn grid_of(args: &RasterizeArgs) -> anyhow::Result<Grid> {
    let crs: Option<Crs> = args
        .crs
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("--crs")?;
    if let Some(like) = &args.like {
        let bytes =
            std::fs::read(like).with_context(|| format!("{}: cannot read", like.display()))?;
        let info = geochip::geotiff::read_info(&like.display().to_string(), &bytes)?;
        let mut grid = info.grid;
        if crs.is_some() {
            grid.crs = crs;
        }
        return Ok(grid);
    }
    let (Some(w), Some(h), Some(t)) = (args.width, args.height, args.transform.as_deref()) else {
        bail!("give --width, --height and --transform, or --like");
    };
    Ok(Grid::new(parse_transform(t)?, w, h, crs)?)
}

/// Runs `geochip rasterize`.
///
/// Prints a JSON summary on stdout and one line per skipped shape on stderr.
pub fn run(args: &RasterizeArgs) -> anyhow::Result<()> {
    let ext = args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !matches!(ext.as_str(), "npy" | "tif" | "tiff" | "zarr") {
        bail!(
            "{}: output must end in .npy, .tif, .tiff or .zarr",
            args.out.display()
        );
    }
    let zarr_opts = args.zarr.write_options()?;
    if args.out.exists() && !args.force {
        bail!("{}: exists (use --force to overwrite)", args.out.display());
    }
    let grid = grid_of(args)?;
    let text = std::fs::read_to_string(&args.shapes)
        .with_context(|| format!("{}: cannot read", args.shapes.display()))?;
    let read_opts = ReadOptions {
        value_property: args.value_property.clone(),
        default_value: parse_value(&args.value).context("--value")?,
        skip_invalid: !args.strict,
    };
    let is_wkt = args
        .shapes
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("wkt"));
    let read = if is_wkt {
        read_wkt(&text, &read_opts)
    } else {
        read_geojson(&text, &read_opts)
    }
    .with_context(|| format!("{}", args.shapes.display()))?;
    let opts = RasterizeOptions {
        all_touched: args.all_touched,
        merge: args.merge.parse::<MergeAlg>().map_err(anyhow::Error::msg)?,
        dtype: args.dtype.as_deref().map(str::parse::<DType>).transpose()?,
        fill: parse_value(&args.fill).context("--fill")?,
        skip_invalid: !args.strict,
        bands: 0,
    };
    let r = Rasterizer::new(&read.shapes, &grid, &opts)?;
    let array = if args.coverage {
        r.coverage()?
    } else if let Some(agg) = &args.aggregate {
        r.aggregate(agg.parse::<Aggregation>().map_err(anyhow::Error::msg)?)?
    } else {
        r.burn()?
    };
    for s in read.skipped.iter().chain(r.skipped()) {
        eprintln!("warning: {s}");
    }
    if ext == "npy" {
        write_npy(&args.out, &array, args.force)?;
    } else if ext == "zarr" {
        let out = crate::zarr_io::ZarrOut::create(&args.out, args.force)?;
        out.store().create_group("/", serde_json::Map::new())?;
        let array = match array.grid() {
            Some(_) => array.clone(),
            None => array.clone().with_grid(grid.clone())?,
        };
        out.store().write_array("/labels", &array, &zarr_opts)?;
        out.commit()?;
    } else {
        write_geotiff(&args.out, &array, &grid, args.force)?;
    }
    let summary = serde_json::json!({
        "out": args.out.display().to_string(),
        "shapes": read.shapes.len(),
        "primitives": r.primitive_count(),
        "skipped": read.skipped.len() + r.skipped().len(),
        "dtype": array.dtype().name(),
        "shape": array.shape(),
        "sha256": array.sha256(),
        "grid": grid.to_json(),
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

fn create(path: &Path, force: bool) -> anyhow::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true);
    if force {
        o.create(true).truncate(true);
    } else {
        o.create_new(true);
    }
    o.open(path)
        .with_context(|| format!("{}: cannot create (exists? use --force)", path.display()))
}

pub(crate) fn write_npy(path: &Path, array: &LabeledArray, force: bool) -> anyhow::Result<()> {
    use ndarray_npy::WriteNpyExt;
    let mut w = BufWriter::new(create(path, force)?);
    macro_rules! put {
        ($a:expr) => {
            $a.write_npy(&mut w)
        };
    }
    match array.data() {
        ArrayData::U8(a) => put!(a),
        ArrayData::U16(a) => put!(a),
        ArrayData::U32(a) => put!(a),
        ArrayData::U64(a) => put!(a),
        ArrayData::I8(a) => put!(a),
        ArrayData::I16(a) => put!(a),
        ArrayData::I32(a) => put!(a),
        ArrayData::I64(a) => put!(a),
        ArrayData::F32(a) => put!(a),
        ArrayData::F64(a) => put!(a),
        _ => bail!("unsupported dtype {}", array.dtype()),
    }
    .with_context(|| format!("{}: writing .npy", path.display()))?;
    w.flush()?;
    Ok(())
}

/// GeoKeyDirectory: model type, raster type PixelIsArea, and the EPSG code (EPSG 4000–4999
/// written as a geographic CRS, others as projected).
fn geokeys(crs: Option<&Crs>) -> Vec<u16> {
    let epsg = crs.and_then(Crs::epsg).and_then(|e| u16::try_from(e).ok());
    let mut keys: Vec<u16> = vec![1, 1, 0, 0];
    let mut add = |k: [u16; 4]| {
        keys.extend_from_slice(&k);
        keys[3] += 1;
    };
    match epsg {
        Some(code) if (4000..5000).contains(&code) => {
            add([1024, 0, 1, 2]);
            add([1025, 0, 1, 1]);
            add([2048, 0, 1, code]);
        }
        Some(code) => {
            add([1024, 0, 1, 1]);
            add([1025, 0, 1, 1]);
            add([3072, 0, 1, code]);
        }
        None => add([1025, 0, 1, 1]),
    }
    keys
}

fn write_geotiff(
    path: &Path,
    array: &LabeledArray,
    grid: &Grid,
    force: bool,
) -> anyhow::Result<()> {
    let file = BufWriter::new(create(path, force)?);
    let (w, h) = (
        u32::try_from(grid.width).context("width")?,
        u32::try_from(grid.height).context("height")?,
    );
    macro_rules! put {
        ($ct:ident, $a:expr) => {{
            let data: Vec<_> = $a.iter().copied().collect();
            tiff_image::<colortype::$ct, _>(file, w, h, grid, &data)
        }};
    }
    match array.data() {
        ArrayData::U8(a) => put!(Gray8, a),
        ArrayData::U16(a) => put!(Gray16, a),
        ArrayData::U32(a) => put!(Gray32, a),
        ArrayData::U64(a) => put!(Gray64, a),
        ArrayData::I8(a) => put!(GrayI8, a),
        ArrayData::I16(a) => put!(GrayI16, a),
        ArrayData::I32(a) => put!(GrayI32, a),
        ArrayData::I64(a) => put!(GrayI64, a),
        ArrayData::F32(a) => put!(Gray32Float, a),
        ArrayData::F64(a) => put!(Gray64Float, a),
        _ => bail!("unsupported dtype {}", array.dtype()),
    }
    .with_context(|| format!("{}: writing GeoTIFF", path.display()))
}

fn tiff_image<C, W>(file: W, w: u32, h: u32, grid: &Grid, data: &[C::Inner]) -> anyhow::Result<()>
where
    C: colortype::ColorType,
    W: Write + Seek,
    [C::Inner]: tiff::encoder::TiffValue,
{
    let mut enc = TiffEncoder::new(file)?;
    let mut img = enc.new_image::<C>(w, h)?;
    let t = grid.transform;
    let dir = img.encoder();
    if t.is_rectilinear() && t.e < 0.0 {
        dir.write_tag(Tag::ModelPixelScaleTag, &[t.a, -t.e, 0.0][..])?;
        dir.write_tag(Tag::ModelTiepointTag, &[0.0, 0.0, 0.0, t.c, t.f, 0.0][..])?;
    } else {
        let m = [
            t.a, t.b, 0.0, t.c, t.d, t.e, 0.0, t.f, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0,
        ];
        dir.write_tag(Tag::ModelTransformationTag, &m[..])?;
    }
    dir.write_tag(Tag::GeoKeyDirectoryTag, &geokeys(grid.crs.as_ref())[..])?;
    img.write_data(data)?;
    Ok(())
}
