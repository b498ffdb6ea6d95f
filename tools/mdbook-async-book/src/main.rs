//! The book's own mdBook preprocessor. It adds to every chapter a footer that names the rustc, tokio
//! and futures versions the snippets are tested with (`provenance.rs`).
//!
//! mdBook runs it as `mdbook-async-book supports RENDERER` (exit 0: yes) and then with
//! `[context, book]` as JSON on standard input, expecting the book as JSON on standard output. It
//! uses serde_json only, so that it installs in seconds.

mod provenance;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("supports") => {
            // The footer is HTML: only the html renderer gets it.
            return if args.get(1).map(String::as_str) == Some("html") { ExitCode::SUCCESS } else { ExitCode::FAILURE };
        }
        Some("--version") | Some("-V") => {
            println!("mdbook-async-book {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mdbook-async-book: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| format!("reading the book from mdBook: {e}"))?;
    let Value::Array(mut pair) = serde_json::from_str(&input).map_err(|e| format!("mdBook's input is not JSON: {e}"))? else {
        return Err("mdBook's input is not a [context, book] pair".into());
    };
    if pair.len() != 2 {
        return Err("mdBook's input is not a [context, book] pair".into());
    }
    let mut book = pair.pop().expect("two items");
    let context = pair.pop().expect("two items");
    let root = context["root"].as_str().ok_or("mdBook's context has no `root`")?;
    let footer = provenance::footer(&provenance::read(&PathBuf::from(root))?);
    // mdBook 0.4's book: {"sections": [{"Chapter": {...}}, "Separator", {"PartTitle": "..."}]}.
    let sections = book.get_mut("sections").ok_or("mdBook's book has no `sections`")?;
    add_footers(sections, &footer);
    let out = serde_json::to_string(&book).map_err(|e| format!("writing the book: {e}"))?;
    std::io::stdout().write_all(out.as_bytes()).map_err(|e| format!("writing the book: {e}"))
}

/// Every chapter, nested ones included, gets the footer.
fn add_footers(items: &mut Value, footer: &str) {
    let Value::Array(items) = items else { return };
    for item in items {
        if let Some(chapter) = item.get_mut("Chapter") {
            if let Some(Value::String(content)) = chapter.get_mut("content") {
                *content = provenance::with_footer(content, footer);
            }
            if let Some(sub) = chapter.get_mut("sub_items") {
                add_footers(sub, footer);
            }
        }
    }
}
