//! Tables (the `stats` and `checksum` outputs) as CSV, and arrays as `.npy` bytes.

use crate::{ArrayData, DType, LabeledArray};

/// One table cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// An integer.
    Int(i64),
    /// A float, written with Rust's shortest round-trip formatting (the same on every
    /// target), `NaN` for NaN.
    Float(f64),
    /// Text (quoted in CSV when it holds a comma, quote or newline).
    Text(String),
}

impl Cell {
    /// The cell as a number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Float(x) => Some(*x),
            Cell::Text(_) => None,
        }
    }

    fn csv(&self) -> String {
        match self {
            Cell::Int(i) => i.to_string(),
            Cell::Float(x) if x.is_nan() => "NaN".into(),
            Cell::Float(x) => format!("{x:?}"),
            Cell::Text(t) if t.contains([',', '"', '\n', '\r']) => {
                format!("\"{}\"", t.replace('"', "\"\""))
            }
            Cell::Text(t) => t.clone(),
        }
    }
}

/// A table with named columns.
///
/// ```
/// use geochip::recipe::{Cell, Table};
/// let t = Table { columns: vec!["name".into(), "mean".into()],
///                 rows: vec![vec![Cell::Text("a,b".into()), Cell::Float(0.5)]] };
/// assert_eq!(t.to_csv(), "name,mean\n\"a,b\",0.5\n");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// RFC 4180 CSV with `\n` line ends.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = self
            .columns
            .iter()
            .map(|c| Cell::Text(c.clone()).csv())
            .collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(Cell::csv).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// The index of a column.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

fn descr(dtype: DType) -> &'static str {
    match dtype {
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
    }
}

/// The array as `.npy` version 1.0 bytes (C order, little-endian), exactly as
/// `numpy.save` writes them. Written here rather than with `ndarray-npy` so the core, in a
/// browser too, produces the output bytes whose SHA-256 the recipes record.
///
/// ```
/// let a = geochip::LabeledArray::arange_i32(&["x"], &[3]).unwrap();
/// let b = geochip::recipe::npy_bytes(&a);
/// assert_eq!(&b[..6], b"\x93NUMPY");
/// assert_eq!(b.len() % 64, 12 % 64); // 128-byte header + 12 data bytes
/// ```
pub fn npy_bytes(array: &LabeledArray) -> Vec<u8> {
    let shape = array.shape();
    let shape_text = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape_text}, }}",
        descr(array.dtype())
    );
    // numpy pads with spaces so that magic (6) + version (2) + length (2) + header + '\n'
    // is a multiple of 64.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let data: &ArrayData = array.data();
    let body = data.to_le_bytes();
    let mut out = Vec::with_capacity(10 + header.len() + body.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&body);
    out
}
