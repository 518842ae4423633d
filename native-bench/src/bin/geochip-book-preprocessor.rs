//! `geochip-book-preprocessor`: the book's mdBook preprocessor (`[preprocessor.geochip]` in
//! `book/book.toml`).
//!
//! A chapter holding `{{#geochip-recipe cookbooks/NAME}}` (the path relative to the
//! repository, i.e. the book directory's parent) gets, in place of the marker: the cookbook's
//! `README.md` (the chapter text), the recipe source, the live panel (a form built from the
//! recipe's parameters; `wasm/js/recipe-panel.js` runs the recipe in a Web Worker) and the
//! outputs of the recipe run natively here with its default parameters — plots inline,
//! tables, every output's SHA-256 — outside the panel, so they read printed and with
//! JavaScript off. A recipe that fails fails the book build with the recipe's error, the same
//! text `geochip run` prints.
//!
//! mdBook runs it as `geochip-book-preprocessor supports <renderer>` and then with the book
//! as JSON on stdin (parsed by the `mdbook-preprocessor` crate), the book back on stdout.

use std::io::Read as _;
use std::path::{Component, Path};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use geochip::recipe::{Recipe, Runtime};
use geochip_bench::recipe_files::{DirFiles, InstantClock};
use mdbook_preprocessor::book::BookItem;

/// The marker a chapter holds.
const MARKER: &str = "{{#geochip-recipe";

/// Where the build-time outputs come from, said on the page.
const ORIGIN: &str = "Computed natively (the same runtime as `geochip run`) when this book was \
                      built, with the default parameters. Run the panel above and these are \
                      replaced by the outputs your browser computes.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("supports") {
        // Plain Markdown and HTML out: every renderer can take it.
        return ExitCode::SUCCESS;
    }
    match preprocess() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("geochip-book-preprocessor: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn preprocess() -> Result<()> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the book from stdin")?;
    let (ctx, mut book) =
        mdbook_preprocessor::parse_input(input.as_bytes()).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let book_root = ctx
        .root
        .canonicalize()
        .with_context(|| format!("{}: cannot resolve the book's root", ctx.root.display()))?;
    let repo = book_root
        .parent()
        .context("the book's root has no parent directory (the repository)")?
        .to_path_buf();
    let mut first_error = None;
    book.for_each_mut(|item| {
        let BookItem::Chapter(ch) = item else { return };
        if first_error.is_some() || !ch.content.contains(MARKER) {
            return;
        }
        let name = ch
            .source_path
            .as_ref()
            .map_or_else(|| ch.name.clone(), |p| p.display().to_string());
        match expand(&repo, &ch.content) {
            Ok(text) => ch.content = text,
            Err(e) => first_error = Some(e.context(format!("chapter {name}"))),
        }
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    serde_json::to_writer(std::io::stdout().lock(), &book).context("cannot write the book")?;
    Ok(())
}

/// Replaces every marker of a chapter.
fn expand(repo: &Path, content: &str) -> Result<String> {
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(at) = rest.find(MARKER) {
        out.push_str(&rest[..at]);
        let after = &rest[at + MARKER.len()..];
        let end = after
            .find("}}")
            .with_context(|| format!("`{MARKER}` without a closing `}}}}`"))?;
        let arg = after[..end].trim();
        if arg.is_empty() {
            bail!("`{MARKER}}}}}` names no cookbook (expected `{MARKER} cookbooks/NAME}}}}`)");
        }
        out.push_str(&cookbook_chapter(repo, arg)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The chapter text of one cookbook, with its recipe run natively.
fn cookbook_chapter(repo: &Path, rel: &str) -> Result<String> {
    let rel = rel.trim_end_matches('/');
    if !Path::new(rel)
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        bail!("{rel}: a cookbook is named by a relative path inside the repository");
    }
    let dir = repo.join(rel);
    // The name `geochip run cookbooks/NAME` gives the recipe from the repository's root, so
    // errors read the same here, in the CLI and in the browser.
    let file = format!("{rel}/recipe.toml");
    let text = std::fs::read_to_string(dir.join("recipe.toml"))
        .with_context(|| format!("{file}: cannot read the recipe"))?;
    let readme = std::fs::read_to_string(dir.join("README.md"))
        .with_context(|| format!("{rel}/README.md: cannot read the chapter text"))?;
    let recipe = Recipe::parse(&file, &text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let bindings = recipe.bind(&[]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let files =
        DirFiles::new(&dir).with_context(|| format!("{rel}: cannot resolve the directory"))?;
    let clock = InstantClock::start();
    let started = std::time::Instant::now();
    let outputs = Runtime::new(&files)
        .renderer(&geochip_plot::SvgRenderer)
        .clock(&clock)
        .run(&recipe, &bindings)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!(
        "geochip-book-preprocessor: {file}: {} outputs in {:.1} s",
        outputs.outputs.len(),
        started.elapsed().as_secs_f64()
    );
    let outputs_html = geochip_plot::html::outputs_html(&recipe, &outputs, true, ORIGIN);
    Ok(chapter_markdown(
        rel,
        &recipe,
        &text,
        &readme,
        &outputs_html,
    ))
}

/// The page: README, recipe source, live panel, build-time outputs.
fn chapter_markdown(
    rel: &str,
    recipe: &Recipe,
    text: &str,
    readme: &str,
    outputs_html: &str,
) -> String {
    use geochip_plot::html::escape;
    let id = recipe
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>();
    // JSON inside <script>: `</` would end the element early.
    let params = recipe.params_json().to_string().replace("</", "<\\/");
    let fence = if text.contains("```") { "~~~~" } else { "```" };
    // Size (gzipped wasm + JS, the worker's files included; `xtask/src/metrics.rs`): the
    // issue's target for a chapter with Zarr, 1 MB (1000 KB, the unit of the lessons' 300 KB),
    // is the enforced budget.
    format!(
        "{readme}\n\n\
         ## The recipe\n\n\
         `{rel}/recipe.toml`:\n\n\
         {fence}toml\n{text}\n{fence}\n\n\
         ## Run it in your browser\n\n\
         Change the parameters and press **Run**: the recipe runs in a Web Worker on the \
         WebAssembly build of the same core, reading its data from files served next to this \
         page (HTTP range requests for the GeoTIFFs). With the default parameters every \
         checksummed output equals the native one below.\n\n\
         <div class=\"geochip-widget geochip-recipe-panel\" id=\"recipe-{id}\" data-ready=\"false\" \
         data-budget-kb=\"1000\" data-recipe=\"{rel_e}/recipe.toml\" data-outputs=\"outputs-{id}\">\n\
         <script type=\"application/json\" class=\"geochip-params\">{params}</script>\n\
         <form class=\"geochip-form\" onsubmit=\"return false\"></form>\n\
         <div><button type=\"button\" class=\"geochip-run\" disabled>Run</button> \
         <button type=\"button\" class=\"geochip-reset\">Reset</button> \
         <progress class=\"geochip-progress\" max=\"1\" value=\"0\"></progress> \
         <span class=\"geochip-step\"></span></div>\n\
         <p class=\"geochip-status\">Loading the recipe runtime (WebAssembly, in a Web Worker)…</p>\n\
         <p class=\"geochip-error\" role=\"alert\"></p>\n\
         </div>\n\
         <script type=\"module\" src=\"wasm/lessons/recipe-panel.js\"></script>\n\n\
         ## What the recipe produced\n\n\
         <div class=\"geochip-outputs\" id=\"outputs-{id}\">\n{outputs_html}</div>\n",
        readme = readme.trim_end(),
        text = text.trim_end(),
        rel_e = escape(rel),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_replaced_and_bad_ones_refused() {
        let repo = Path::new("/nonexistent");
        assert_eq!(expand(repo, "no marker").unwrap(), "no marker");
        let e = expand(repo, "{{#geochip-recipe }}").unwrap_err();
        assert!(e.to_string().contains("names no cookbook"), "{e}");
        let e = expand(repo, "{{#geochip-recipe cookbooks/x").unwrap_err();
        assert!(e.to_string().contains("without a closing"), "{e}");
        let e = expand(repo, "{{#geochip-recipe ../etc}}").unwrap_err();
        assert!(e.to_string().contains("relative path inside"), "{e}");
        let e = expand(repo, "a {{#geochip-recipe cookbooks/none}} b").unwrap_err();
        assert!(
            e.to_string()
                .contains("cookbooks/none/recipe.toml: cannot read the recipe"),
            "{e}"
        );
    }
}
