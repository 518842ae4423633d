//! Checks of the book's theme overrides (`book/theme/`), which make every page lighter than
//! mdBook's defaults:
//!
//! - `highlight.js` keeps only some of the languages of mdBook's highlight.js build; a code
//!   block in a language it lacks would silently stay unhighlighted, so [`check_highlight`]
//!   fails the book build naming the language and the page.
//! - `index.hbs` is mdBook's own template with the search scripts loaded on first use; it is
//!   tied to the mdBook version `cargo xtask` installs (a unit test below checks it says so).

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use regex::Regex;

/// Languages (names and aliases) that the book's highlight.js registers.
fn registered_languages(highlight_js: &str) -> Result<BTreeSet<String>> {
    let register = Regex::new(r#"hljs\.registerLanguage\("([^"]+)""#)?;
    let aliases = Regex::new(r"aliases:\[([^\]]*)\]")?;
    let quoted = Regex::new(r#""([^"]+)""#)?;
    let mut out = BTreeSet::new();
    // mdBook's build registers one language per line.
    for line in highlight_js.lines() {
        let Some(name) = register.captures(line) else {
            continue;
        };
        out.insert(name[1].to_ascii_lowercase());
        for list in aliases.captures_iter(line) {
            for a in quoted.captures_iter(&list[1]) {
                out.insert(a[1].to_ascii_lowercase());
            }
        }
    }
    Ok(out)
}

/// Fails when a built page has a code block (`class="language-X"`) in a language the book's
/// highlight.js does not register.
pub fn check_highlight(book_dir: &Path) -> Result<()> {
    let mut highlight = None;
    let mut pages = Vec::new();
    for (name, path) in crate::metrics::book_files(book_dir)? {
        if name.starts_with("highlight") && name.ends_with(".js") {
            highlight = Some(path);
        } else if name.ends_with(".html") {
            pages.push((name, path));
        }
    }
    let highlight = highlight
        .with_context(|| format!("no highlight*.js in the book {}", book_dir.display()))?;
    let js = std::fs::read_to_string(&highlight)
        .with_context(|| format!("cannot read {}", highlight.display()))?;
    let known = registered_languages(&js)?;
    let class = Regex::new(r#"class="(?:[^"]*\s)?language-([A-Za-z0-9_+-]+)"#)?;
    pages.sort();
    let mut missing = Vec::new();
    for (name, path) in &pages {
        let html = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let used: BTreeSet<String> = class
            .captures_iter(&html)
            .map(|c| c[1].to_ascii_lowercase())
            .collect();
        for lang in used.difference(&known) {
            missing.push(format!("{name}: {lang}"));
        }
    }
    if !missing.is_empty() {
        bail!(
            "code blocks in languages that book/theme/highlight.js does not register (add the \
             language's hljs.registerLanguage line from mdBook's highlight.js):\n  {}",
            missing.join("\n  ")
        );
    }
    println!(
        "xtask: highlight check: every code block's language is one of the {} names \
         book/theme/highlight.js registers",
        known.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_languages_reads_names_and_aliases() {
        let js = "var hljs=function(){}();\n\
                  hljs.registerLanguage(\"bash\",function(){return{aliases:[\"sh\",\"zsh\"]}}());\n\
                  hljs.registerLanguage(\"ini\",function(){return{aliases:[\"toml\"]}}());\n";
        let got = registered_languages(js).unwrap();
        let want: BTreeSet<String> = ["bash", "sh", "zsh", "ini", "toml"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn the_books_highlight_js_has_the_languages_the_book_uses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let js = std::fs::read_to_string(root.join("book/theme/highlight.js")).unwrap();
        let known = registered_languages(&js).unwrap();
        // The preprocessor writes recipes as `toml`; chapters use `sh` and `text`.
        for lang in ["toml", "sh", "text", "json", "rust", "python"] {
            assert!(known.contains(lang), "{lang} missing from {known:?}");
        }
    }

    #[test]
    fn index_template_names_the_pinned_mdbook_version() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let hbs = std::fs::read_to_string(root.join("book/theme/index.hbs")).unwrap();
        let stamp = format!("mdBook {}'s own index.hbs", crate::tools::MDBOOK_VERSION);
        assert!(
            hbs.contains(&stamp),
            "book/theme/index.hbs is a copy of mdBook's template; after changing the pinned \
             mdBook version, copy the new one and re-apply the geochip: block ({stamp:?})"
        );
    }
}
