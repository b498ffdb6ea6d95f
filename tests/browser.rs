//! The built book in a real browser (headless Chromium): the "Open in the Rust Playground" link of
//! every runnable snippet carries exactly the program the tests compiled, hidden lines included, and
//! a snippet taken from a program in examples/ shows the command that runs that program.
//!
//! With `CI=true` a missing Chromium is a failure; elsewhere these tests skip with a message.

mod support;

use std::path::Path;

use support::markdown;

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The `href`s of the Playground links in a rendered page, in order.
fn playground_links(dom: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = dom;
    while let Some(i) = rest.find("<a ") {
        rest = &rest[i..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        if tag.contains("playground-link") {
            if let Some(h) = tag.find("href=\"") {
                let v = &tag[h + 6..];
                if let Some(e) = v.find('"') {
                    out.push(html_unescape(&v[..e]));
                }
            }
        }
        rest = &rest[end..];
    }
    out
}

#[test]
fn playground_links_carry_the_tested_programs() {
    let Some(chrome) = support::chromium() else { return };
    let site = support::built_book();
    // print.html holds every chapter, in the order of SUMMARY.md, with the same scripts as the
    // chapters' own pages: one browser load checks them all.
    let dom = support::rendered_dom(&chrome, &site.join("print.html"));
    let links = playground_links(&dom);
    let mut problems = Vec::new();
    let mut expected = Vec::new();
    for (_, chapter) in support::summary_entries() {
        let md = support::read(&Path::new("src").join(&chapter));
        let blocks = markdown::blocks(&md);
        // Every block with a Run button also gets a Playground link, but for compile_fail blocks.
        for b in blocks.iter().filter(|b| support::has_run_button(b) && !b.has_attr("compile_fail")) {
            expected.push((format!("src/{chapter}:{}", b.line), b.program(), support::page_program(b)));
        }
        // Blocks from examples/ name the command that runs the whole program.
        for b in blocks.iter().filter(|b| b.is_rust() && b.includes_file()) {
            // tests/book.rs reports a block whose first line names no program.
            let Some(name) = b.example_name() else { continue };
            if !dom.contains(&format!("cargo run --example {name}</code>")) {
                problems.push(format!(
                    "src/{chapter}:{}: the page does not show `cargo run --example {name}` under the block",
                    b.line
                ));
            }
        }
    }
    if links.len() != expected.len() {
        problems.push(format!(
            "the book has {} runnable rust blocks but its pages show {} Playground links",
            expected.len(),
            links.len()
        ));
    }
    for ((at, program, page_program), href) in expected.iter().zip(&links) {
        let Some(query) = href.strip_prefix("https://play.rust-lang.org/?") else {
            problems.push(format!("{at}: the link goes to `{href}`, not the Rust Playground"));
            continue;
        };
        let params: Vec<(&str, &str)> = query.split('&').filter_map(|kv| kv.split_once('=')).collect();
        let get = |k: &str| params.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        for (key, want) in [("edition", "2024"), ("version", "stable"), ("mode", "debug")] {
            if get(key) != Some(want) {
                problems.push(format!("{at}: the Playground link has {key}={:?}, not {want}", get(key)));
            }
        }
        let code = support::query_decode(get("code").unwrap_or(""));
        if !support::same_program(&code, program) {
            problems.push(format!(
                "{at}: the Playground link's program differs from the tested one\n--- link\n{code}\n--- tested\n{program}"
            ));
            break; // the ones after it would be out of step
        }
        // tests/book.rs checks the length of every link as computed here: it must be the page's.
        let computed = support::playground_url(page_program, "2024");
        if *href != computed {
            problems.push(format!(
                "{at}: the page's Playground link ({} bytes) is not the one tests/book.rs computes ({} bytes)",
                href.len(),
                computed.len()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "Playground links: {} problem(s)\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
    eprintln!("checked {} Playground links against their markdown", links.len());
}
