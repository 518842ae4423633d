//! `cargo xtask handout`: the whole book as a print-ready PDF, for workshop handouts.
//!
//! Builds the book, measures the lessons (so the "Start-up time and size" chapter holds real
//! figures), opens mdBook's `print.html` (every chapter on one page) in headless Chromium and
//! prints it with WebDriver's standard `POST /session/{id}/print`. The book's CSS hides the
//! live panels in print (`@media print`), so the PDF shows prose and build-time outputs only.
//! The PDF is then read back (pdf-extract) and must hold every chapter title of
//! `book/src/SUMMARY.md`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::browser::Session;
use crate::build::{Workspace, shown};
use crate::{build, metrics, serve, tools};

/// Chapter titles in an mdBook `SUMMARY.md`: the text of every `[title](file.md)` link
/// (draft chapters, `[title]()`, are not rendered and are left out).
pub fn chapter_titles(summary: &str) -> Result<Vec<String>> {
    let link = regex::Regex::new(r"\[([^\]]+)\]\(([^)]*)\)")?;
    Ok(link
        .captures_iter(summary)
        .filter(|c| !c[2].trim().is_empty())
        .map(|c| c[1].trim().to_owned())
        .collect())
}

/// Text compared without whitespace (PDF text extraction breaks lines and words freely).
fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The titles that do not appear in the PDF's text.
pub fn missing_titles(pdf_text: &str, titles: &[String]) -> Vec<String> {
    let text = squeeze(pdf_text);
    titles
        .iter()
        .filter(|t| !text.contains(&squeeze(t)))
        .cloned()
        .collect()
}

/// Checks that `pdf` is a PDF with text holding every title; returns its page count.
pub fn check_pdf(pdf: &[u8], titles: &[String]) -> Result<usize> {
    if !pdf.starts_with(b"%PDF-") {
        bail!("the printed file is not a PDF ({} bytes)", pdf.len());
    }
    let pages = pdf_extract::extract_text_from_mem_by_pages(pdf)
        .map_err(|e| anyhow::anyhow!("cannot read the PDF's text: {e}"))?;
    let text = pages.concat();
    if text.trim().is_empty() {
        bail!("the PDF has {} pages but no text", pages.len());
    }
    let missing = missing_titles(&text, titles);
    if !missing.is_empty() {
        bail!(
            "the PDF lacks these chapter titles of book/src/SUMMARY.md: {}",
            missing.join(", ")
        );
    }
    Ok(pages.len())
}

/// Builds the book (unless `build` is false: then the last build is used) and writes its PDF
/// to `out` (default `<target>/geochip-handout.pdf`); an existing `--out` file is replaced
/// only with `force`.
pub fn handout(ws: &Workspace, out: Option<PathBuf>, force: bool, build: bool) -> Result<PathBuf> {
    let default = ws.target_dir.join("geochip-handout.pdf");
    let out = match out {
        Some(p) => {
            if p.exists() && !force {
                bail!("{} exists; pass --force to replace it", shown(&p));
            }
            p
        }
        None => default,
    };
    let summary_path = ws.root.join("book/src/SUMMARY.md");
    let summary = std::fs::read_to_string(&summary_path)
        .with_context(|| format!("cannot read {}", summary_path.display()))?;
    let titles = chapter_titles(&summary)?;
    if titles.is_empty() {
        bail!("{}: no chapters found", summary_path.display());
    }

    let book_dir = if build {
        build::book(ws, None)?
    } else {
        let dir = ws.book_dir();
        if !dir.join("print.html").is_file() {
            bail!(
                "{} holds no built book; run without --no-build",
                shown(&dir)
            );
        }
        dir
    };
    let browser = tools::ensure_browser()?;
    let scratch = ws.target_dir.join("xtask-scratch");
    std::fs::create_dir_all(&scratch)?;
    let server = serve::spawn(&book_dir, 0)?;
    let pdf = (|| -> Result<Vec<u8>> {
        let s = Session::start(&browser, &scratch)?;
        s.window_size(1200, 1400)?;
        let base = server.url();
        let measured = metrics::measure_all(&s, &base, &book_dir)?;
        metrics::report(&book_dir, &measured)?;
        println!("  printing {base}print.html");
        s.goto(&format!("{base}print.html"))?;
        // Fonts and images loaded, and mdBook's own print page script (which calls
        // window.print() after load, a no-op in headless Chromium) has run.
        s.wait_for(
            "print.html to finish loading",
            "return document.readyState === 'complete' && document.fonts.status === 'loaded';",
            Duration::from_secs(30),
        )?;
        // The live panels must be hidden in print (the book's `@media print` rules).
        s.cdp("Emulation.setEmulatedMedia", json!({ "media": "print" }))?;
        let panels = s.eval(
            "const all = [...document.querySelectorAll('[data-ready]')];
             return { total: all.length,
                      shown: all.filter(e => getComputedStyle(e).display !== 'none')
                                .map(e => e.id) };",
        )?;
        s.cdp("Emulation.setEmulatedMedia", json!({ "media": "" }))?;
        let shown = panels["shown"].as_array().cloned().unwrap_or_default();
        if !shown.is_empty() {
            bail!("live panels still shown in print: {shown:?} (book/theme/lessons.css)");
        }
        println!(
            "  ok: the {} live panels of print.html are hidden in print",
            panels["total"]
        );
        s.print_pdf()
    })();
    server.stop();
    let pdf = pdf?;
    let pages = check_pdf(&pdf, &titles)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, &pdf).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "xtask: handout written to {} ({} pages, {} bytes; all {} chapter titles found)",
        shown(&out),
        pages,
        pdf.len(),
        titles.len()
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_summary_links_skipping_drafts() {
        let summary = "# Summary\n\n[Introduction](introduction.md)\n\n# Lessons\n\n\
                       - [Grids and pixels](grids-and-pixels.md)\n\
                       - [Later](  )\n";
        assert_eq!(
            chapter_titles(summary).expect("regex"),
            vec!["Introduction", "Grids and pixels"]
        );
    }

    #[test]
    fn titles_are_found_across_line_breaks_only() {
        let titles = vec![
            "Slicing a cube into chips".to_owned(),
            "Burning labels".to_owned(),
        ];
        let text = "1 Slicing a cube\ninto chips\n...";
        assert_eq!(missing_titles(text, &titles), vec!["Burning labels"]);
    }

    #[test]
    fn non_pdf_bytes_are_refused() {
        let err = check_pdf(b"<html>", &["x".to_owned()]).expect_err("not a PDF");
        assert!(err.to_string().contains("not a PDF"), "{err}");
    }
}
