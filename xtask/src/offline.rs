//! The book works offline: nothing it *loads* comes from another host.
//!
//! Every built HTML, CSS and JS file is scanned for external URLs (`http:`, `https:`, `ws:`,
//! `wss:`, `ftp:` and protocol-relative `//host`) in the places a browser loads from:
//!
//! - HTML: `src` and `srcset` of any element, `href` of `<link>` and of SVG `<image>`/`<use>`,
//!   `data` of `<object>`, `poster` of `<video>`, `background`, inline `style` attributes,
//!   `<style>` blocks and inline `<script>`s. Plain `<a href>` links to other sites are fine.
//! - CSS: `url(...)` and `@import` (comments removed first).
//! - JS: string literals that *start* with an external URL (what `fetch`, `import`,
//!   `new Worker`, `importScripts` or `src = ` would be given); URLs inside comments or inside
//!   longer messages are not loads.
//!
//! The scan uses regular expressions rather than an HTML/CSS/JS parser: the files are the
//! output of mdBook, wasm-bindgen and our own widgets, the rules only look at attribute values,
//! `url()`s and string literals, and a full HTML5 parser (html5ever) would add much to
//! xtask's cold build. A false alarm fails loudly and names the file and the URL.
//!
//! One exception, checked rather than assumed: mdBook's `book.js` holds the Rust playground's
//! URLs (`https://play.rust-lang.org/...`) and fetches them only for code blocks with the
//! `playground` class; `book.toml` sets `output.html.playground.runnable = false` so no block
//! gets it, and the check fails if any page has one.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use regex::Regex;

/// One external reference found in the built book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where the reference is (tag and attribute, `url()`, string literal, …).
    pub what: String,
    /// The URL as written.
    pub url: String,
}

/// The prefix of mdBook's playground URLs in its `book.js` (see the module docs).
const MDBOOK_PLAYGROUND: &str = "https://play.rust-lang.org/";

/// True for a URL that a browser would fetch from another host.
pub fn is_external(url: &str) -> bool {
    let u = url.trim().to_ascii_lowercase();
    ["http:", "https:", "ws:", "wss:", "ftp:"]
        .iter()
        .any(|s| u.starts_with(s))
        || (u.starts_with("//") && u[2..].starts_with(|c: char| c.is_ascii_alphanumeric()))
}

struct Patterns {
    tag: Regex,
    attr: Regex,
    style_block: Regex,
    script_block: Regex,
    css_comment: Regex,
    css_url: Regex,
    css_import: Regex,
    js_literal: Regex,
    playground_class: Regex,
}

impl Patterns {
    fn new() -> Result<Self> {
        Ok(Self {
            tag: Regex::new(r"<([a-zA-Z][a-zA-Z0-9-]*)(\s[^>]*)?>")?,
            attr: Regex::new(
                r#"([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))"#,
            )?,
            style_block: Regex::new(r"(?is)<style\b[^>]*>(.*?)</style\s*>")?,
            script_block: Regex::new(r"(?is)<script\b([^>]*)>(.*?)</script\s*>")?,
            css_comment: Regex::new(r"(?s)/\*.*?\*/")?,
            css_url: Regex::new(r#"(?i)url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))"#)?,
            css_import: Regex::new(r#"(?i)@import\s+(?:"([^"]*)"|'([^']*)')"#)?,
            js_literal: Regex::new(
                r#"["'`]((?i:https?:|wss?:|ftp:)//[^"'`\s]*|//[A-Za-z0-9][-A-Za-z0-9]*\.[A-Za-z][^"'`\s]*)"#,
            )?,
            playground_class: Regex::new(r#"class="[^"]*\bplayground\b[^"]*""#)?,
        })
    }

    fn css(&self, css: &str, out: &mut Vec<Finding>) {
        let css = self.css_comment.replace_all(css, "");
        for c in self.css_url.captures_iter(&css) {
            let url = c
                .get(1)
                .or(c.get(2))
                .or(c.get(3))
                .map_or("", |m| m.as_str());
            if is_external(url) {
                out.push(Finding {
                    what: "CSS url()".into(),
                    url: url.into(),
                });
            }
        }
        for c in self.css_import.captures_iter(&css) {
            let url = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
            if is_external(url) {
                out.push(Finding {
                    what: "CSS @import".into(),
                    url: url.into(),
                });
            }
        }
    }

    fn js(&self, js: &str, out: &mut Vec<Finding>) {
        for c in self.js_literal.captures_iter(js) {
            out.push(Finding {
                what: "JS string literal".into(),
                url: c[1].into(),
            });
        }
    }

    fn html(&self, html: &str, out: &mut Vec<Finding>) {
        for t in self.tag.captures_iter(html) {
            let tag = t[1].to_ascii_lowercase();
            let Some(attrs) = t.get(2) else { continue };
            for a in self.attr.captures_iter(attrs.as_str()) {
                let name = a[1].to_ascii_lowercase();
                let value = a
                    .get(2)
                    .or(a.get(3))
                    .or(a.get(4))
                    .map_or("", |m| m.as_str());
                let loads = match name.as_str() {
                    "src" | "background" => true,
                    "href" | "xlink:href" => {
                        matches!(tag.as_str(), "link" | "image" | "use" | "feimage")
                    }
                    "data" => tag == "object",
                    "poster" => tag == "video",
                    "srcset" | "imagesrcset" => {
                        for candidate in value.split(',') {
                            let url = candidate.split_whitespace().next().unwrap_or("");
                            if is_external(url) {
                                out.push(Finding {
                                    what: format!("<{tag} {name}>"),
                                    url: url.into(),
                                });
                            }
                        }
                        false
                    }
                    "style" => {
                        self.css(value, out);
                        false
                    }
                    _ => false,
                };
                if loads && is_external(value) {
                    out.push(Finding {
                        what: format!("<{tag} {name}>"),
                        url: value.into(),
                    });
                }
            }
        }
        for s in self.style_block.captures_iter(html) {
            self.css(&s[1], out);
        }
        for s in self.script_block.captures_iter(html) {
            // Inline scripts only (an external src was checked above); JSON data blocks
            // (`type="application/json"`) are data, not code, but are scanned all the same.
            self.js(&s[2], out);
        }
    }
}

/// External references in one file's text, by its extension (html, css, js/mjs).
#[cfg(test)]
fn scan_text(ext: &str, text: &str) -> Result<Vec<Finding>> {
    let p = Patterns::new()?;
    let mut out = Vec::new();
    match ext {
        "html" | "htm" => p.html(text, &mut out),
        "css" => p.css(text, &mut out),
        "js" | "mjs" => p.js(text, &mut out),
        _ => {}
    }
    Ok(out)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// Fails if any page, stylesheet or script of the built book loads from another host.
pub fn check_book(book_dir: &Path) -> Result<()> {
    let p = Patterns::new()?;
    let mut files = Vec::new();
    walk(book_dir, &mut files)?;
    files.sort();
    let mut bad = Vec::new();
    let mut playground_refs = Vec::new();
    let mut playground_pages = Vec::new();
    let mut scanned = 0;
    for file in &files {
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "html" | "htm" | "css" | "js" | "mjs") {
            continue;
        }
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // mdBook's search index is the book's text as one JSON string (data, not code).
        if name.starts_with("searchindex") {
            continue;
        }
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        scanned += 1;
        let rel = file.strip_prefix(book_dir).unwrap_or(file).display();
        if ext.starts_with("htm") && p.playground_class.is_match(&text) {
            playground_pages.push(rel.to_string());
        }
        let mut found = Vec::new();
        match ext {
            "html" | "htm" => p.html(&text, &mut found),
            "css" => p.css(&text, &mut found),
            _ => p.js(&text, &mut found),
        }
        for f in found {
            if ext == "js" && name.starts_with("book") && f.url.starts_with(MDBOOK_PLAYGROUND) {
                playground_refs.push(format!("{rel}: {}", f.url));
            } else {
                bad.push(format!("{rel}: {} {}", f.what, f.url));
            }
        }
    }
    if !playground_refs.is_empty() && !playground_pages.is_empty() {
        bad.push(format!(
            "pages with runnable Rust blocks ({}) make mdBook's book.js fetch {} \
             (set output.html.playground.runnable = false in book/book.toml)",
            playground_pages.join(", "),
            playground_refs.join(", ")
        ));
    }
    if !bad.is_empty() {
        bail!(
            "the book must work offline, but it loads from other hosts:\n  {}",
            bad.join("\n  ")
        );
    }
    if scanned == 0 {
        bail!(
            "offline check: no HTML, CSS or JS found in {}",
            book_dir.display()
        );
    }
    println!(
        "xtask: offline check: {scanned} HTML/CSS/JS files load nothing from other hosts \
         (mdBook's playground URLs unused: no runnable code blocks)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(ext: &str, text: &str) -> Vec<String> {
        scan_text(ext, text)
            .expect("patterns compile")
            .into_iter()
            .map(|f| f.url)
            .collect()
    }

    #[test]
    fn external_urls_are_recognised() {
        for u in [
            "https://cdn.example/x.js",
            "HTTP://a.b/c",
            "//fonts.googleapis.com/css",
            "wss://x.y/",
        ] {
            assert!(is_external(u), "{u}");
        }
        for u in [
            "wasm/pkg/x.js",
            "../fonts/a.woff2",
            "data:image/svg+xml,<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            "#top",
            "/abs/path.css",
            "blob:abc",
        ] {
            assert!(!is_external(u), "{u}");
        }
    }

    #[test]
    fn html_loads_are_flagged_but_plain_links_are_not() {
        let html = r#"<html><head>
            <link rel="stylesheet" href="https://cdn.example/a.css">
            <link rel="icon" href="favicon.png">
            <script src="https://cdn.example/mathjax.js"></script>
            <script src="book.js"></script>
            <style>@import "https://fonts.example/f.css"; body { background: url(img/ok.png) }</style>
            </head><body>
            <a href="https://xbatcher.readthedocs.io">xbatcher</a>
            <img src='//img.example/p.png' alt="x"><img srcset="a.png 1x, https://i.example/b.png 2x">
            <iframe src="toc.html"></iframe><iframe src=https://embed.example/v></iframe>
            <div style="background-image: url('https://bg.example/i.jpg')"></div>
            <svg xmlns="http://www.w3.org/2000/svg"><image href="https://svg.example/i.png"/></svg>
            <script>fetch("https://api.example/data.json"); // see https://docs.example
            </script>
            </body></html>"#;
        assert_eq!(
            urls("html", html),
            vec![
                "https://cdn.example/a.css",
                "https://cdn.example/mathjax.js",
                "//img.example/p.png",
                "https://i.example/b.png",
                "https://embed.example/v",
                "https://bg.example/i.jpg",
                "https://svg.example/i.png",
                "https://fonts.example/f.css",
                "https://api.example/data.json",
            ]
        );
    }

    #[test]
    fn css_comments_and_data_urls_are_not_loads() {
        let css = r#"/* Licence: http://www.apache.org/licenses/LICENSE-2.0 url(https://c.example/x) */
            @font-face { src: url('../fonts/open-sans.woff2') format('woff2'); }
            .a { content: url('data:image/svg+xml,<svg xmlns="http://www.w3.org/2000/svg"/>'); }
            .b { background: url( "https://bg.example/b.png" ) }
            @import 'http://x.example/y.css';"#;
        assert_eq!(
            urls("css", css),
            vec!["https://bg.example/b.png", "http://x.example/y.css"]
        );
    }

    #[test]
    fn js_literals_that_are_urls_are_flagged_comments_are_not() {
        let js = r#"// https://github.com/rust-lang/mdBook/issues/628
            /*! clipboard.js https://zenorocha.github.io/clipboard.js */
            const w = new Worker('https://w.example/worker.js');
            import x from "//cdn.example/mod.js";
            const msg = "see https://docs.example for help";
            const re = '//'; const path = "wasm/pkg/geochip_wasm_bg.wasm";
            fetch(`https://api.example/${id}`);"#;
        assert_eq!(
            urls("js", js),
            vec![
                "https://w.example/worker.js",
                "//cdn.example/mod.js",
                "https://api.example/${id}",
            ]
        );
    }

    #[test]
    fn book_check_fails_naming_file_and_url_and_allows_unused_playground() {
        let d = std::env::temp_dir().join(format!("xtask-offline-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("css")).expect("dir");
        std::fs::write(
            d.join("book-123.js"),
            "fetch_with_timeout('https://play.rust-lang.org/meta/crates', {});",
        )
        .expect("write");
        std::fs::write(
            d.join("index.html"),
            "<a href=\"https://x.example\">x</a><pre><code class=\"language-rust\">fn main(){}</code></pre>",
        )
        .expect("write");
        std::fs::write(d.join("css/a.css"), "body { color: red }").expect("write");
        check_book(&d).expect("offline book passes");

        // A runnable Rust block would make book.js fetch the playground.
        std::fs::write(
            d.join("rust.html"),
            "<pre class=\"playground\"><code class=\"language-rust\">fn main(){}</code></pre>",
        )
        .expect("write");
        let err = check_book(&d).expect_err("playground in use").to_string();
        assert!(
            err.contains("rust.html") && err.contains("play.rust-lang.org"),
            "{err}"
        );
        std::fs::remove_file(d.join("rust.html")).expect("rm");

        std::fs::write(
            d.join("css/a.css"),
            "@font-face { src: url(https://fonts.gstatic.com/s/x.woff2) }",
        )
        .expect("write");
        let err = check_book(&d).expect_err("font from a CDN").to_string();
        assert!(
            err.contains("css/a.css") && err.contains("https://fonts.gstatic.com/s/x.woff2"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
