//! Every `geochip …` command line the book quotes (fenced code blocks of `book/src/*.md` and of
//! the cookbooks' `README.md` chapters) parses with the CLI's clap definition, so a renamed
//! flag or subcommand cannot leave a stale command in the handout.

use clap::Parser;
use clap::error::ErrorKind;

use super::Cli;

/// The `geochip` command lines of the fenced code blocks of `md`: continuation lines
/// (`\`) joined, a leading `$ ` prompt, environment assignments and a launcher (`mpirun -np 2`,
/// `cargo run … --`) dropped, cut at a comment or a shell operator; `(line, words)` with the
/// words after the program name.
fn command_lines(md: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in md.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            pending = None;
            continue;
        }
        if !in_block {
            continue;
        }
        let (start, mut text) = match pending.take() {
            Some((s, t)) => (s, t + " " + line.trim()),
            None => (i + 1, line.trim().to_owned()),
        };
        if let Some(t) = text.strip_suffix('\\') {
            text = t.trim_end().to_owned();
            pending = Some((start, text));
            continue;
        }
        let text = text.strip_prefix("$ ").unwrap_or(&text);
        let Some(words) = shlex::split(text) else {
            continue;
        };
        let Some(at) = words
            .iter()
            .position(|w| w == "geochip" || w.ends_with("/geochip"))
        else {
            continue;
        };
        let mut args: Vec<String> = Vec::new();
        for w in &words[at + 1..] {
            if w.starts_with('#') || ["|", "&&", ";", ">", "2>"].contains(&w.as_str()) {
                break;
            }
            args.push(w.clone());
        }
        // `cargo run -p geochip-bench --bin geochip -- ARGS`
        if args.first().map(String::as_str) == Some("--") {
            args.remove(0);
        }
        out.push((start, args));
    }
    out
}

fn parses(args: &[String]) -> Result<(), String> {
    let argv = std::iter::once("geochip".to_owned()).chain(args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn extracts_commands_from_code_blocks_only() {
    let md = "geochip info x.tif in prose\n```sh\n$ geochip info a.tif  # comment\n\
              mpirun -np 2 target/release/geochip bench mpi --quick \\\n    --out r/\n\
              cargo run -p geochip-bench --bin geochip -- --help\nls geochip-out\n```\n";
    let got = command_lines(md);
    let words: Vec<Vec<&str>> = got
        .iter()
        .map(|(_, w)| w.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        words,
        vec![
            vec!["info", "a.tif"],
            vec!["bench", "mpi", "--quick", "--out", "r/"],
            vec!["--help"],
        ]
    );
    assert_eq!(
        got[1].0, 4,
        "a continued command is named by its first line"
    );
    assert!(parses(&["info".into(), "--no-such-flag".into()]).is_err());
}

#[test]
fn every_command_in_the_book_parses() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .to_path_buf();
    let mut files = Vec::new();
    for dir in ["book/src", "cookbooks"] {
        for e in std::fs::read_dir(repo.join(dir)).expect("directory") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "md") {
                files.push(p);
            } else if p.join("README.md").is_file() {
                files.push(p.join("README.md"));
            }
        }
    }
    files.sort();
    let (mut checked, mut bad) = (0, Vec::new());
    for f in &files {
        let md = std::fs::read_to_string(f).expect("markdown");
        for (line, args) in command_lines(&md) {
            checked += 1;
            if let Err(e) = parses(&args) {
                let shown = f.strip_prefix(&repo).unwrap_or(f).display();
                bad.push(format!("{shown}:{line}: geochip {}\n{e}", args.join(" ")));
            }
        }
    }
    assert!(checked >= 20, "only {checked} commands found in {files:?}");
    assert!(
        bad.is_empty(),
        "commands that do not parse:\n{}",
        bad.join("\n")
    );
    println!("{checked} geochip command lines in the book parse");
}
