//! A recipe run's outputs as one HTML fragment: plots inline, tables as HTML tables, and every
//! output's SHA-256. The book's preprocessor embeds it at build time (natively) and the live
//! panel shows the same fragment computed in the reader's browser, so both look alike and the
//! fragment, like the SVG, is a pure function of the outputs.
//!
//! The fragment has no blank line, so Markdown (mdBook) passes it through as one HTML block.

use geochip::recipe::{Cell, Output, OutputValue, Recipe, RunOutputs};

/// Rows of a table shown before the rest is summarised (the CSV holds them all).
pub const TABLE_ROWS: usize = 24;

/// Escapes text for HTML element content and double-quoted attributes.
///
/// ```
/// assert_eq!(geochip_plot::html::escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
/// ```
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// One line per non-empty line of `text` (blank lines would end Markdown's HTML block).
fn no_blank_lines(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Int(i) => i.to_string(),
        Cell::Float(x) if x.is_nan() => "NaN".into(),
        Cell::Float(x) => format!("{x:?}"),
        Cell::Text(t) => t.clone(),
    }
}

/// What an output is, in a few words (dtype and shape of arrays, size of tables).
fn what(o: &Output) -> String {
    match &o.value {
        OutputValue::Array(a) => {
            let shape: Vec<String> = a
                .dims()
                .iter()
                .zip(a.shape())
                .map(|(d, n)| format!("{d}={n}"))
                .collect();
            format!("{} array ({})", a.dtype().name(), shape.join(", "))
        }
        OutputValue::Table(t) => {
            format!("table, {} rows × {} columns", t.rows.len(), t.columns.len())
        }
        OutputValue::Svg { .. } => "plot (SVG)".into(),
        OutputValue::Json(_) => "JSON".into(),
        OutputValue::File(_) => "store file".into(),
        _ => o.kind().into(),
    }
}

/// How an output's checksum compares with the recipe's `[expected]` table.
fn status(recipe: &Recipe, defaults: bool, o: &Output) -> &'static str {
    if !o.checked {
        return "timings: not checksummed";
    }
    if !defaults {
        return "";
    }
    match recipe.expected.iter().find(|(n, _, _)| n == &o.name) {
        Some((_, sum, _)) if sum == &o.sha256 => "= recorded",
        Some(_) => "DIFFERS from recorded",
        None => "not recorded",
    }
}

fn table_html(name: &str, t: &geochip::recipe::Table) -> String {
    let mut h = format!(
        "<div class=\"geochip-table\" data-output=\"{n}\">\n<p><code>{n}</code></p>\n<table>\n<thead><tr>",
        n = escape(name)
    );
    for c in &t.columns {
        h.push_str(&format!("<th>{}</th>", escape(c)));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for row in t.rows.iter().take(TABLE_ROWS) {
        h.push_str("<tr>");
        for c in row {
            h.push_str(&format!("<td>{}</td>", escape(&cell_text(c))));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    if t.rows.len() > TABLE_ROWS {
        h.push_str(&format!(
            "<p class=\"geochip-note\">… and {} more rows in <code>{}</code>.</p>\n",
            t.rows.len() - TABLE_ROWS,
            escape(name)
        ));
    }
    h.push_str("</div>\n");
    h
}

/// The outputs of one run as HTML: each plot inline (`<figure>`), each table (first
/// [`TABLE_ROWS`] rows), then one table of every output with its kind, size and SHA-256 and,
/// for the default parameters (`defaults`), whether it equals the checksum the recipe records.
/// `origin` is one sentence saying where the outputs were computed.
///
/// ```
/// use geochip::recipe::{MemoryFiles, Recipe, Runtime};
/// let recipe = Recipe::parse("r.toml", "[recipe]\nname = \"r\"\n[[steps]]\nid = \"g\"\nop = \"grid\"\nwidth = 2\nheight = 2\ntransform = [1.0, 0.0, 0.0, 0.0, -1.0, 2.0]\noutput = \"grid.json\"\n").unwrap();
/// let out = Runtime::new(&MemoryFiles::default()).run(&recipe, &recipe.bind(&[]).unwrap()).unwrap();
/// let html = geochip_plot::html::outputs_html(&recipe, &out, true, "Computed natively.");
/// assert!(html.contains(&out.outputs[0].sha256));
/// assert!(html.contains("not recorded"));
/// assert!(!html.contains("\n\n"));
/// ```
pub fn outputs_html(recipe: &Recipe, outputs: &RunOutputs, defaults: bool, origin: &str) -> String {
    let mut h = format!("<p class=\"geochip-origin\">{}</p>\n", escape(origin));
    for o in &outputs.outputs {
        match &o.value {
            OutputValue::Svg { svg, .. } => h.push_str(&format!(
                "<figure class=\"geochip-figure\" data-output=\"{n}\">\n{}\n<figcaption><code>{n}</code>{}</figcaption>\n</figure>\n",
                no_blank_lines(svg),
                if o.checked { "" } else { " (timings of this run)" },
                n = escape(&o.name),
            )),
            OutputValue::Table(t) => h.push_str(&table_html(&o.name, t)),
            _ => {}
        }
    }
    h.push_str(
        "<table class=\"geochip-checksums\">\n<thead><tr><th>output</th><th>what</th>\
         <th>bytes</th><th>SHA-256</th><th>checksum</th></tr></thead>\n<tbody>\n",
    );
    for o in &outputs.outputs {
        h.push_str(&format!(
            "<tr data-output=\"{n}\"><td><code>{n}</code></td><td>{}</td><td>{}</td>\
             <td><code>{}</code></td><td>{}</td></tr>\n",
            escape(&what(o)),
            o.bytes.len(),
            o.sha256,
            status(recipe, defaults, o),
            n = escape(&o.name),
        ));
    }
    h.push_str("</tbody>\n</table>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use geochip::recipe::{MemoryFiles, Runtime};

    const RECIPE: &str = r#"
[recipe]
name = "t"
[params.n]
type = "int"
default = 3
min = 1
max = 40
[[steps]]
id = "box"
op = "shapes"
path = "box.wkt"
[[steps]]
id = "grid"
op = "grid"
width = "$n"
height = "$n"
transform = [1.0, 0.0, 0.0, 0.0, -1.0, 40.0]
[[steps]]
id = "mask"
op = "rasterize"
shapes = "box"
grid = "grid"
output = "mask.npy"
[[steps]]
id = "s"
op = "stats"
inputs = ["mask"]
output = "stats.csv"
[[steps]]
id = "h"
op = "plot"
kind = "histogram"
input = "mask"
bins = 4
title = "Values <of> the mask"
output = "h.svg"
[expected]
"mask.npy" = "0000000000000000000000000000000000000000000000000000000000000000"
"#;

    fn run(n: &str) -> (Recipe, RunOutputs, bool) {
        let recipe = Recipe::parse("t.toml", RECIPE).expect("recipe");
        let files = MemoryFiles(vec![(
            "box.wkt".into(),
            b"POLYGON ((0 40, 2 40, 2 38, 0 38, 0 40))".to_vec(),
        )]);
        let b = recipe.bind(&[("n".into(), n.into())]).expect("bind");
        let defaults = b.are_defaults(&recipe);
        let out = Runtime::new(&files)
            .renderer(&crate::SvgRenderer)
            .run(&recipe, &b)
            .expect("run");
        (recipe, out, defaults)
    }

    #[test]
    fn every_output_is_listed_with_its_checksum_and_status() {
        let (recipe, out, defaults) = run("3");
        let h = outputs_html(&recipe, &out, defaults, "Here & now.");
        assert!(h.starts_with("<p class=\"geochip-origin\">Here &amp; now.</p>"));
        for o in &out.outputs {
            assert!(h.contains(&o.sha256), "{}", o.name);
        }
        // The made-up recorded checksum differs; the others are not recorded.
        assert!(h.contains("DIFFERS from recorded"));
        assert!(h.contains("not recorded"));
        assert!(h.contains("int64 array (y=3, x=3)"), "{h}");
        assert!(h.contains("<figure class=\"geochip-figure\" data-output=\"h.svg\">\n<svg"));
        assert!(h.contains("<th>"), "the stats table is an HTML table");
        assert!(
            !h.contains("\n\n"),
            "no blank line: one Markdown HTML block"
        );
        assert!(
            !h.contains("Values <of>"),
            "the plot title is escaped in the SVG"
        );
    }

    #[test]
    fn other_parameters_show_no_recorded_status_and_long_tables_are_cut() {
        let (recipe, out, defaults) = run("40");
        assert!(!defaults);
        let h = outputs_html(&recipe, &out, defaults, "x");
        assert!(!h.contains("recorded"));
        let t = geochip::recipe::Table {
            columns: vec!["i".into()],
            rows: (0..30).map(|i| vec![Cell::Int(i)]).collect(),
        };
        let th = table_html("t.csv", &t);
        assert!(th.contains("<td>23</td>") && !th.contains("<td>24</td>"));
        assert!(th.contains("… and 6 more rows"));
    }
}
