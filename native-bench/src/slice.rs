//! `geochip slice`: cut a `.npy` cube into ML chips (xbatcher-compatible by default).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use geochip::slice::{ChipFilter, EdgePolicy, Selector, SliceElement, SlicePlan, SliceSpec};
use geochip::zarr::ZarrArray;
use geochip::{Crs, DType, GeoTransform, Grid, LabeledArray};
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use ndarray_npy::{ReadableElement, WritableElement};
use serde::Serialize;
use serde_json::{Value, json};

/// Options of `geochip slice`.
#[derive(Debug, Clone, clap::Args)]
pub struct SliceArgs {
    /// The input array: `.npy` (any of the ten numeric dtypes, C or Fortran order) or a Zarr
    /// v3 store (`.zarr` or any directory with a `zarr.json`; dims from its `dimension_names`,
    /// grid from its attributes unless --transform is given).
    pub input: PathBuf,
    /// Names of the input's dims, in axis order, e.g. `y,x` or `band,y,x` (required for .npy;
    /// for Zarr input they must match the array's `dimension_names`).
    #[arg(long, value_delimiter = ',')]
    pub dims: Vec<String>,
    /// Zarr input: the array's path inside the store (default: the root array, or the group's
    /// only array).
    #[arg(long)]
    pub array: Option<String>,
    /// Window per dim, in loop order (xbatcher `input_dims`): `y=256,x=256`.
    #[arg(long, value_parser = parse_pair::<usize>, value_delimiter = ',', required = true)]
    pub input_dims: Vec<(String, usize)>,
    /// Overlap per dim (xbatcher `input_overlap`); negative leaves gaps: `y=32,x=32`.
    #[arg(long, value_parser = parse_pair::<i64>, value_delimiter = ',', allow_hyphen_values = true)]
    pub overlap: Vec<(String, i64)>,
    /// xbatcher `batch_dims`: `time=2`.
    #[arg(long, value_parser = parse_pair::<usize>, value_delimiter = ',')]
    pub batch_dims: Vec<(String, usize)>,
    /// xbatcher `concat_input_dims`: concatenate the patches of a batch.
    #[arg(long)]
    pub concat: bool,
    /// Edge policy: drop (xbatcher), pad, pad:<fill>, shift-last-inside, partial.
    #[arg(long, default_value = "drop")]
    pub edge: String,
    /// Batches of this many chips (with a leading `batch` dim).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// With --batch-size: drop the last, smaller batch.
    #[arg(long)]
    pub drop_last: bool,
    /// Draw this many random chips (with replacement) instead of the grid.
    #[arg(long)]
    pub random: Option<u64>,
    /// Shuffle the chip order (per epoch).
    #[arg(long)]
    pub shuffle: bool,
    /// Seed of --random and --shuffle (geochip's own SplitMix64: same chips everywhere).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Epoch of --shuffle.
    #[arg(long, default_value_t = 0)]
    pub epoch: u64,
    /// Keep only chips without NaN.
    #[arg(long)]
    pub no_nan: bool,
    /// Keep only chips with at least this fraction of valid (non-NaN, non-nodata) values.
    #[arg(long)]
    pub min_valid: Option<f64>,
    /// The nodata value for --min-valid.
    #[arg(long, allow_hyphen_values = true)]
    pub nodata: Option<f64>,
    /// Print the batches' selectors as JSON (xbatcher's order) and write nothing.
    #[arg(long)]
    pub plan: bool,
    /// Output: a directory for `batch_000000.npy`… and `chips.json`, or a Zarr store
    /// (`X.zarr`) holding one `chips` array of dims (chip, …) with per-chip transforms in its
    /// attributes and `chips.json` beside it in the store.
    #[arg(long, required_unless_present = "plan")]
    pub out: Option<PathBuf>,
    /// Zarr output layout (`--out X.zarr` only); the default chunk is one chip.
    #[command(flatten)]
    pub zarr: crate::zarr_io::ZarrOpts,
    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,
    /// The geotransform of the y/x dims, rasterio Affine order `a,b,c,d,e,f`; chips get
    /// their own transform in chips.json.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub transform: Option<Vec<f64>>,
    /// The CRS of --transform, e.g. EPSG:32633.
    #[arg(long)]
    pub crs: Option<String>,
    /// Print JSON on one line.
    #[arg(long)]
    pub compact: bool,
}

fn parse_pair<V: std::str::FromStr>(s: &str) -> Result<(String, V), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}': expected dim=value"))?;
    let v = v
        .trim()
        .parse::<V>()
        .map_err(|_| format!("'{s}': '{v}' is not a valid number"))?;
    Ok((k.trim().to_owned(), v))
}

/// dtype and shape from a `.npy` header (versions 1 to 3), without reading the data.
fn npy_header(path: &Path) -> anyhow::Result<(DType, Vec<usize>)> {
    let mut f = fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut head = [0u8; 10];
    f.read_exact(&mut head)
        .with_context(|| format!("{}: not a .npy file", path.display()))?;
    if &head[..6] != b"\x93NUMPY" {
        bail!("{}: not a .npy file (bad magic)", path.display());
    }
    let len = if head[6] == 1 {
        usize::from(u16::from_le_bytes([head[8], head[9]]))
    } else {
        let mut more = [0u8; 2];
        f.read_exact(&mut more)?;
        u32::from_le_bytes([head[8], head[9], more[0], more[1]]) as usize
    };
    let mut text = vec![0u8; len];
    f.read_exact(&mut text)?;
    let text = String::from_utf8_lossy(&text);
    let field = |key: &str| {
        text.find(key)
            .map(|i| &text[i + key.len()..])
            .ok_or_else(|| anyhow::anyhow!("{}: header has no {key}", path.display()))
    };
    let descr = field("'descr':")?;
    let descr = descr.trim_start().trim_start_matches('\'');
    let descr = &descr[..descr.find('\'').unwrap_or(0)];
    if descr.starts_with('>') {
        bail!(
            "{}: big-endian dtype {descr} is not supported",
            path.display()
        );
    }
    let dtype: DType = descr
        .parse()
        .with_context(|| format!("{}: dtype {descr}", path.display()))?;
    let shape = field("'shape':")?;
    let shape = shape.trim_start().trim_start_matches('(');
    let shape = &shape[..shape.find(')').unwrap_or(0)];
    let shape = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: shape", path.display()))?;
    Ok((dtype, shape))
}

fn spec_of(args: &SliceArgs) -> anyhow::Result<SliceSpec> {
    let mut spec = SliceSpec::new(&args.input_dims)
        .input_overlap(&args.overlap)
        .batch_dims(&args.batch_dims)
        .concat_input_dims(args.concat)
        .edge(args.edge.parse::<EdgePolicy>()?);
    if let Some(n) = args.batch_size {
        spec = spec.batch_size(n, args.drop_last);
    } else if args.drop_last {
        bail!("--drop-last needs --batch-size");
    }
    if let Some(n) = args.random {
        spec = spec.random(n, args.seed);
    }
    if args.shuffle {
        spec = spec.shuffle(args.seed);
    }
    Ok(spec)
}

fn grid_of(args: &SliceArgs, dims: &[String], shape: &[usize]) -> anyhow::Result<Option<Grid>> {
    let Some(t) = &args.transform else {
        if args.crs.is_some() {
            bail!("--crs needs --transform");
        }
        return Ok(None);
    };
    let [a, b, c, d, e, f] = t.as_slice() else {
        bail!(
            "--transform: expected 6 numbers a,b,c,d,e,f, got {}",
            t.len()
        );
    };
    let size = |name: &str| {
        dims.iter()
            .position(|x| x == name)
            .map(|i| shape[i])
            .ok_or_else(|| {
                anyhow::anyhow!("--transform needs dims named y and x (dims are {dims:?})")
            })
    };
    let crs = args.crs.as_deref().map(str::parse::<Crs>).transpose()?;
    let transform = GeoTransform::new(*a, *b, *c, *d, *e, *f);
    Ok(Some(Grid::new(transform, size("x")?, size("y")?, crs)?))
}

fn to_text(v: &Value, compact: bool) -> anyhow::Result<String> {
    Ok(if compact {
        serde_json::to_string(v)?
    } else {
        serde_json::to_string_pretty(v)?
    })
}

/// Runs `geochip slice`.
pub fn run(args: &SliceArgs) -> anyhow::Result<()> {
    let (zarr, dims, dtype, shape) = if crate::zarr_io::is_zarr(&args.input) {
        let z = crate::zarr_io::open_input(&args.input, args.array.as_deref())?;
        let dims = z.dims().to_vec();
        if !args.dims.is_empty() && args.dims != dims {
            bail!(
                "--dims {:?} differ from the Zarr array's dimension_names {dims:?}",
                args.dims
            );
        }
        let (dtype, shape) = (z.dtype(), z.shape());
        (Some(z), dims, dtype, shape)
    } else {
        if args.array.is_some() {
            bail!("--array names an array inside a Zarr store; the input is not one");
        }
        if args.dims.is_empty() {
            bail!("--dims is required for .npy input (e.g. --dims band,y,x)");
        }
        let (dtype, shape) = npy_header(&args.input)?;
        (None, args.dims.clone(), dtype, shape)
    };
    if dims.len() != shape.len() {
        bail!(
            "--dims: {} names {dims:?} for an array of shape {shape:?}",
            dims.len()
        );
    }
    let spec = spec_of(args)?;
    let mut plan = SlicePlan::new(&dims, &shape, &spec)?.with_epoch(args.epoch);
    let grid = match grid_of(args, &dims, &shape)? {
        Some(g) => Some(g),
        None => zarr.as_ref().and_then(|z| z.grid().cloned()),
    };
    if let Some(grid) = grid {
        plan = plan.with_grid(grid);
    }
    let needs_data = !args.plan || args.no_nan || args.min_valid.is_some();
    if !needs_data {
        return print_plan(&plan, args.compact);
    }
    macro_rules! typed {
        ($($variant:ident => $t:ty),*) => {
            match dtype {
                $(DType::$variant => run_typed::<$t>(args, plan, zarr.as_ref()),)*
            }
        };
    }
    typed!(U8 => u8, U16 => u16, U32 => u32, U64 => u64, I8 => i8, I16 => i16, I32 => i32,
           I64 => i64, F32 => f32, F64 => f64)
}

/// `--plan` output: the reference file's `batches[].selectors`, keys in xbatcher's order.
#[derive(Serialize)]
struct PlanOut<'a> {
    dims: &'a [String],
    shape: &'a [usize],
    len: u64,
    batches: Vec<PlanBatch>,
}

#[derive(Serialize)]
struct PlanBatch {
    index: u64,
    selectors: Vec<Selector>,
}

fn print_plan(plan: &SlicePlan, compact: bool) -> anyhow::Result<()> {
    let mut batches = Vec::new();
    for index in 0..plan.len() {
        batches.push(PlanBatch {
            index,
            selectors: plan.selectors(index)?,
        });
    }
    let out = PlanOut {
        dims: plan.dims(),
        shape: plan.shape(),
        len: plan.len(),
        batches,
    };
    // Serialised directly (not through serde_json::Value, whose maps sort their keys).
    let text = if compact {
        serde_json::to_string(&out)?
    } else {
        serde_json::to_string_pretty(&out)?
    };
    println!("{text}");
    Ok(())
}

/// One batch's entry in `chips.json`: index, dims, shape, dtype and its chips (id, selector,
/// start, padded, and with a grid their transform, GDAL geotransform, CRS and shape).
fn batch_json(plan: &SlicePlan, i: u64, dtype: DType) -> anyhow::Result<Value> {
    let (dims, shape) = plan.batch_output(i)?;
    let mut patches = Vec::new();
    for p in plan.batch(i)? {
        let start: serde_json::Map<String, Value> = p
            .selector
            .0
            .iter()
            .map(|s| (s.dim.clone(), json!(s.start)))
            .collect();
        let mut chip = json!({
            "id": p.id,
            // [[dim, start, stop], ...] in S order (a JSON object would lose the order).
            "selector": p.selector.0.iter().map(|s| json!([s.dim, s.start, s.stop])).collect::<Vec<_>>(),
            "start": start,
            "padded": p.padded,
        });
        if let Some(g) = plan.chip_grid(&p)? {
            chip["transform"] = json!(g.transform.to_affine());
            chip["gdal_geotransform"] = json!(g.transform.to_gdal());
            chip["crs"] = json!(g.crs.as_ref().map(|c| c.to_string()));
            chip["shape"] = json!([g.height, g.width]);
        }
        patches.push(chip);
    }
    Ok(json!({
        "index": i, "dims": dims, "shape": shape, "dtype": dtype.name(), "chips": patches,
    }))
}

/// Loads the whole input as a labelled array.
fn load<T>(
    args: &SliceArgs,
    dims: &[String],
    zarr: Option<&ZarrArray>,
) -> anyhow::Result<LabeledArray>
where
    T: SliceElement + ReadableElement,
{
    Ok(match zarr {
        Some(z) => z.read()?,
        None => {
            let data: ArrayD<T> = ndarray_npy::read_npy(&args.input)
                .with_context(|| format!("{}: cannot read", args.input.display()))?;
            LabeledArray::new(dims, T::into_data(data))?
        }
    })
}

fn run_typed<T>(
    args: &SliceArgs,
    mut plan: SlicePlan,
    zarr: Option<&ZarrArray>,
) -> anyhow::Result<()>
where
    T: SliceElement + ReadableElement + WritableElement + zarrs::array::Element,
{
    let array = load::<T>(args, plan.dims(), zarr)?;
    if args.no_nan {
        plan = plan.filter(&array, &ChipFilter::NoNan)?;
    }
    if let Some(fraction) = args.min_valid {
        let f = ChipFilter::MinValidFraction {
            fraction,
            nodata: args.nodata,
        };
        plan = plan.filter(&array, &f)?;
    }
    if args.plan {
        return print_plan(&plan, args.compact);
    }
    let Some(out) = &args.out else {
        bail!("--out DIR is needed to write chips (or use --plan)");
    };
    let Some(view) = T::view_of(array.data()) else {
        bail!("internal: dtype mismatch");
    };
    if crate::zarr_io::is_zarr(out) {
        return write_zarr_chips(args, &plan, view, out);
    }
    fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let sidecar = out.join("chips.json");
    if sidecar.exists() && !args.force {
        bail!(
            "{}: exists; use --force to overwrite the output",
            sidecar.display()
        );
    }
    let mut buf = vec![T::default(); plan.max_batch_elements()];
    let mut batches = Vec::new();
    let mut chips = 0usize;
    for i in 0..plan.len() {
        let n = plan.gather_into_par(view.clone(), i, &mut buf)?;
        let (_, shape) = plan.batch_output(i)?;
        let name = format!("batch_{i:06}.npy");
        let path = out.join(&name);
        let chunk = ArrayViewD::from_shape(IxDyn(&shape), &buf[..n])?;
        if args.force {
            ndarray_npy::write_npy(&path, &chunk)
        } else {
            ndarray_npy::create_new_npy(&path, &chunk)
        }
        .with_context(|| {
            format!(
                "{}: cannot write (exists? use --force to overwrite)",
                path.display()
            )
        })?;
        let mut batch = batch_json(&plan, i, T::DTYPE)?;
        chips += batch["chips"].as_array().map_or(0, Vec::len);
        batch["file"] = json!(name);
        batches.push(batch);
    }
    let v = json!({
        "input": args.input.display().to_string(),
        "dims": plan.dims(),
        "shape": plan.shape(),
        "len": plan.len(),
        "batches": batches,
    });
    fs::write(&sidecar, to_text(&v, args.compact)? + "\n")
        .with_context(|| format!("{}: cannot write", sidecar.display()))?;
    eprintln!(
        "wrote {} batches ({chips} chips) and chips.json to {}",
        plan.len(),
        out.display()
    );
    Ok(())
}

/// The dims and shape of one chip of batch `i` (holding `n` chips): a batch of one chip is the
/// chip; with --batch-size the batch has a leading `batch` dim of `n` chips.
fn chip_layout(
    args: &SliceArgs,
    i: u64,
    n: usize,
    dims: Vec<String>,
    shape: Vec<usize>,
) -> anyhow::Result<(Vec<String>, Vec<usize>)> {
    if args.batch_size.is_none() && n == 1 {
        return Ok((dims, shape));
    }
    if args.batch_size.is_some()
        && dims.first().map(String::as_str) == Some("batch")
        && shape[0] == n
    {
        return Ok((dims[1..].to_vec(), shape[1..].to_vec()));
    }
    bail!(
        "batch {i} holds {n} chips as dims {dims:?}: a Zarr output stores one (chip, ...) array, \
         which needs one chip per batch or --batch-size (without --concat/--batch-dims); write \
         .npy files into a directory instead"
    )
}

/// `--out X.zarr`: one `chips` array of dims (chip, …chip dims), written through a temporary
/// store renamed into place, with per-chip ids, selectors and transforms in its attributes and
/// `chips.json` in the store's root.
fn write_zarr_chips<T>(
    args: &SliceArgs,
    plan: &SlicePlan,
    view: ArrayViewD<'_, T>,
    out: &Path,
) -> anyhow::Result<()>
where
    T: SliceElement + zarrs::array::Element,
{
    let zout = crate::zarr_io::ZarrOut::create(out, args.force)?;
    // First pass: the chips' layout and metadata, before anything is written.
    let mut layout: Option<(Vec<String>, Vec<usize>)> = None;
    let (mut batches, mut ids, mut selectors, mut transforms) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut crs = None;
    for i in 0..plan.len() {
        let mut batch = batch_json(plan, i, T::DTYPE)?;
        let chips = batch["chips"].as_array().cloned().unwrap_or_default();
        let (dims, shape) = plan.batch_output(i)?;
        let this = chip_layout(args, i, chips.len(), dims, shape)?;
        match &layout {
            None => layout = Some(this),
            Some(first) if *first == this => {}
            Some(first) => bail!(
                "batch {i}: chips of dims {:?} shape {:?} differ from the first chips' {:?} {:?}; \
                 a Zarr output holds equal chips (use --edge drop or pad, or write .npy files)",
                this.0,
                this.1,
                first.0,
                first.1
            ),
        }
        batch["chip_offset"] = json!(ids.len());
        for c in &chips {
            ids.push(c["id"].clone());
            selectors.push(c["selector"].clone());
            if let Some(t) = c.get("transform") {
                transforms.push(t.clone());
            }
            if crs.is_none() {
                crs = c.get("crs").and_then(Value::as_str).map(str::to_owned);
            }
        }
        batches.push(batch);
    }
    let Some((chip_dims, chip_shape)) = layout else {
        bail!("no chips to write (the plan is empty)");
    };
    if chip_dims.iter().any(|d| d == "chip") {
        bail!("the chips already have a dim named 'chip' ({chip_dims:?}); rename the input's dims");
    }
    let total = ids.len();
    let mut dims = vec!["chip".to_owned()];
    dims.extend(chip_dims);
    let mut shape = vec![total];
    shape.extend(&chip_shape);
    let mut opts = args.zarr.write_options()?;
    if opts.chunk_shape.is_none() {
        let mut c = vec![1];
        c.extend(&chip_shape);
        opts.chunk_shape = Some(c);
    }
    if let Some(c) = crs.as_deref() {
        opts.attributes
            .extend(geochip::zarr::crs_attributes(&c.parse::<Crs>()?));
    }
    opts.attributes.insert(
        "geochip:source".into(),
        json!(args.input.display().to_string()),
    );
    opts.attributes
        .insert("geochip:chip_ids".into(), json!(ids));
    opts.attributes
        .insert("geochip:chip_selectors".into(), json!(selectors));
    if transforms.len() == total {
        // rasterio Affine order per chip; the y/x dims of each chip are georeferenced by it.
        opts.attributes
            .insert("geochip:chip_transforms".into(), json!(transforms));
        opts.attributes
            .insert("spatial:dimensions".into(), json!(["y", "x"]));
    }
    zout.store().create_group("/", serde_json::Map::new())?;
    let w = zout
        .store()
        .create_array("/chips", &dims, &shape, T::DTYPE, None, &opts)?;
    // Second pass: gather each batch and write whole chunks (or shards) of chips at a time,
    // so no chunk is read back and re-encoded.
    let rows = opts
        .shard_shape
        .as_ref()
        .or(opts.chunk_shape.as_ref())
        .map_or(1, |s| s[0].max(1));
    let per_chip: usize = chip_shape.iter().product();
    let mut pending: Vec<T> = Vec::with_capacity(rows * per_chip);
    let mut written = 0usize;
    let flush = |pending: &mut Vec<T>, written: &mut usize| -> anyhow::Result<()> {
        let n = pending.len() / per_chip.max(1);
        if n == 0 {
            return Ok(());
        }
        let mut s = vec![n];
        s.extend(&chip_shape);
        let mut start = vec![0; s.len()];
        start[0] = *written;
        w.write_window(
            &start,
            ArrayViewD::from_shape(IxDyn(&s), pending.as_slice())?,
        )?;
        *written += n;
        pending.clear();
        Ok(())
    };
    let mut buf = vec![T::default(); plan.max_batch_elements()];
    for i in 0..plan.len() {
        let n = plan.gather_into_par(view.clone(), i, &mut buf)?;
        for chip in buf[..n].chunks(per_chip.max(1)) {
            pending.extend_from_slice(chip);
            if pending.len() >= rows * per_chip {
                flush(&mut pending, &mut written)?;
            }
        }
    }
    flush(&mut pending, &mut written)?;
    let v = json!({
        "input": args.input.display().to_string(),
        "dims": plan.dims(),
        "shape": plan.shape(),
        "len": plan.len(),
        "array": "chips",
        "array_dims": dims,
        "array_shape": shape,
        "batches": batches,
    });
    let sidecar = zout.dir().join("chips.json");
    fs::write(&sidecar, to_text(&v, args.compact)? + "\n")
        .with_context(|| format!("{}: cannot write", sidecar.display()))?;
    zout.commit()?;
    eprintln!(
        "wrote {total} chips as {} array 'chips' {dims:?} {shape:?} to {}",
        T::DTYPE,
        out.display()
    );
    Ok(())
}
