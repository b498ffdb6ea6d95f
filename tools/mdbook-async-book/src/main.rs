//! The book's own mdBook preprocessor. It draws every diagram as an inline SVG (`diagrams.rs`, after
//! mdbook-mermaid has turned the fences into `<pre class="mermaid">` blocks), and adds to every
//! chapter a footer that names the rustc, tokio and futures versions the snippets are tested with
//! (`provenance.rs`).
//!
//! mdBook runs it as `mdbook-async-book supports RENDERER` (exit 0: yes) and then with
//! `[context, book]` as JSON on standard input, expecting the book as JSON on standard output.
//! `mdbook-async-book draw FILE.mmd` prints one diagram's SVG, as the book would hold it.

mod diagrams;
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
        Some("draw") => {
            let Some(file) = args.get(1) else {
                eprintln!("usage: mdbook-async-book draw FILE.mmd");
                return ExitCode::FAILURE;
            };
            let drawn = std::fs::read_to_string(file)
                .map_err(|e| format!("{file}: {e}"))
                .and_then(|source| diagrams::draw(&diagrams::renderer(), &source, "diagram"));
            return match drawn {
                Ok(svg) => {
                    println!("{svg}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("mdbook-async-book: {file}: {e}");
                    ExitCode::FAILURE
                }
            };
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
    let root = PathBuf::from(root);
    let src = root.join(context["config"]["book"]["src"].as_str().unwrap_or("src"));
    let footer = provenance::footer(&provenance::read(&root)?);
    // mdBook 0.4's book: {"sections": [{"Chapter": {...}}, "Separator", {"PartTitle": "..."}]}.
    let sections = book.get_mut("sections").ok_or("mdBook's book has no `sections`")?;
    let renderer = diagrams::renderer();
    let mut failures = Vec::new();
    each_chapter(sections, &mut |chapter| {
        let Some(Value::String(content)) = chapter.get("content") else { return };
        let path = chapter.get("source_path").and_then(Value::as_str).unwrap_or("").to_string();
        let markdown = std::fs::read_to_string(src.join(&path)).unwrap_or_default();
        let file = format!("{}/{path}", src.strip_prefix(&root).unwrap_or(&src).display());
        let drawn = diagrams::draw_chapter(&renderer, content, &file, &markdown, &diagrams::slug(&path));
        match drawn {
            Ok(drawn) => chapter["content"] = Value::String(provenance::with_footer(&drawn, &footer)),
            Err(e) => failures.push(e),
        }
    });
    if !failures.is_empty() {
        return Err(failures.join("\n"));
    }
    let out = serde_json::to_string(&book).map_err(|e| format!("writing the book: {e}"))?;
    std::io::stdout().write_all(out.as_bytes()).map_err(|e| format!("writing the book: {e}"))
}

/// Every chapter, nested ones included.
fn each_chapter(items: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    let Value::Array(items) = items else { return };
    for item in items {
        if let Some(chapter) = item.get_mut("Chapter") {
            f(chapter);
            if let Some(sub) = chapter.get_mut("sub_items") {
                each_chapter(sub, f);
            }
        }
    }
}
