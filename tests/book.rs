//! Checks of the book as a whole. Each failure names the file and line to fix.
//!
//! - every markdown file under `src/` is listed in `SUMMARY.md`, and every entry exists;
//! - code blocks are well formed: known attributes only, `ignore` with its reason, error codes on
//!   `compile_fail`, no code block inside an admonish block, no unclosed fence, blocks taken from
//!   `examples/` name an existing file and anchor;
//! - admonish blocks use a known type;
//! - every internal link and `#anchor` resolves, in the markdown and in the built pages;
//! - the book builds with the pinned mdBook and preprocessors, and loads nothing from another host;
//! - every diagram is drawn into its page as SVG when the book is built, with every label of its
//!   source, and no page loads a diagram script.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use support::markdown::{self, Block};

/// Attributes a ```rust block may carry. Anything else (`norun`, `no-run`, `should-panic`) would be
/// silently ignored by mdBook and skeptic, so it is an error.
const RUST_ATTRIBUTES: &[&str] = &[
    "ignore",
    "should_panic",
    "no_run",
    "compile_fail",
    "noplayground",
    "editable",
    "edition2021",
    "edition2024",
];

/// Languages of other code blocks. A block in another language is not tested, so a typo such as
/// `rs` or `Rust` must not slip through.
const OTHER_LANGUAGES: &[&str] = &[
    "", "text", "console", "sh", "bash", "shell", "toml", "json", "yaml", "markdown", "md", "python",
    "sql", "diff", "html", "css", "javascript", "js", "http", "mermaid", "admonish",
];

/// The admonition types mdbook-admonish 1.20 knows (with their aliases).
const ADMONISH_TYPES: &[&str] = &[
    "note", "abstract", "summary", "tldr", "info", "todo", "tip", "hint", "important", "success",
    "check", "done", "question", "help", "faq", "warning", "caution", "attention", "failure", "fail",
    "missing", "danger", "error", "bug", "example", "quote", "cite",
];

fn book_files() -> Vec<PathBuf> {
    markdown::book_files(&support::root())
}

/// Collect problems; fail once, listing them all.
fn report(what: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s)\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn every_chapter_is_listed_in_summary() {
    let entries = support::summary_entries();
    let listed: BTreeSet<PathBuf> = entries.iter().map(|(_, p)| PathBuf::from("src").join(p)).collect();
    let mut problems = Vec::new();
    for (line, target) in &entries {
        if !support::root().join("src").join(target).is_file() {
            problems.push(format!(
                "src/SUMMARY.md:{line}: lists {target}, which does not exist (write it, or make the entry a draft: `[Title]()`)"
            ));
        }
    }
    for file in book_files() {
        let rel = file.to_string_lossy().replace('\\', "/");
        if rel == "src/SUMMARY.md" || rel == "src/404.md" {
            continue;
        }
        if !listed.contains(&file) {
            let in_src = rel.strip_prefix("src/").unwrap_or(&rel);
            problems.push(format!(
                "{rel}:1: not listed in src/SUMMARY.md, so it is not part of the book: add `- [Title]({in_src})`"
            ));
        }
    }
    report("SUMMARY.md", problems);
}

/// The problems with one rust block's info string and body.
fn check_rust_block(file: &str, lines: &[&str], b: &Block, problems: &mut Vec<String>) {
    let at = format!("{file}:{}", b.line);
    if b.info.contains(char::is_whitespace) {
        problems.push(format!(
            "{at}: `{}`: separate a rust block's attributes with commas and no spaces, e.g. ```rust,no_run",
            b.info
        ));
        return;
    }
    let attrs = b.attrs();
    for a in &attrs {
        if !RUST_ATTRIBUTES.contains(&a.as_str()) && !markdown::is_error_code(a) {
            problems.push(format!(
                "{at}: unknown attribute `{a}` (mdBook and the tests would ignore it); known: {RUST_ATTRIBUTES:?} and error codes E0XXX after compile_fail"
            ));
        }
    }
    let codes = b.error_codes();
    if b.has_attr("compile_fail") && codes.is_empty() && markdown::expected_message(lines, b).is_none() {
        problems.push(format!(
            "{at}: a `compile_fail` block names the error it shows: ```rust,compile_fail,E0277, or, for an error without a code, `<!-- compile_fail: the message -->` on the line above"
        ));
    }
    if !codes.is_empty() && !b.has_attr("compile_fail") {
        problems.push(format!("{at}: error code {codes:?} without `compile_fail`"));
    }
    if b.has_attr("ignore") {
        if markdown::note_above(lines, b, "ignore").is_none() {
            problems.push(format!(
                "{at}: an `ignore` block carries its reason on the line above: `<!-- ignore: why this block cannot be tested -->`"
            ));
        }
    }
    for (i, line) in b.body.iter().enumerate() {
        let t = line.trim_start();
        if t.len() > 1 && t.starts_with('#') && !t.starts_with("# ") && !t.starts_with("#[") && !t.starts_with("#!") {
            problems.push(format!(
                "{file}:{}: `{t}`: mdBook hides this line but the tests keep the `#`: write `# {}` to hide a line",
                b.line + 1 + i,
                &t[1..]
            ));
        }
    }
    if b.includes_file() {
        check_included_example(file, b, problems);
    } else if !b.has_attr("compile_fail") && !b.program().contains("fn main") {
        problems.push(format!(
            "{at}: a rust block is a complete program: it needs `fn main` (hide boilerplate with `# ` lines)"
        ));
    }
}

/// A ```` ```text ```` block, and an output block (```` ```text,output ````) above all: it belongs
/// directly under a rust block that the tests run, and holds something.
fn check_text_block(file: &str, lines: &[&str], blocks: &[Block], i: usize, problems: &mut Vec<String>) {
    let b = &blocks[i];
    let at = format!("{file}:{}", b.line);
    for a in b.attrs() {
        if a != "output" {
            problems.push(format!("{at}: unknown attribute `{a}` of a text block (known: `output`, as in ```text,output)"));
        }
    }
    if !b.is_output() {
        return;
    }
    if b.body.iter().all(|l| l.trim().is_empty()) {
        problems.push(format!("{at}: an empty output block: a snippet that prints nothing has no output block"));
    }
    let snippet = i.checked_sub(1).map(|p| (p, &blocks[p]));
    match snippet {
        Some((p, above)) if markdown::output_after(lines, blocks, p).is_some_and(|o| o.line == b.line) => {
            if above.is_run_python() {
                // Every python block runs (tests/harness: python3 -X dev).
            } else if !above.is_rust() {
                problems.push(format!(
                    "{at}: an output block with no snippet above it (the block above, line {}, is `{}`, not a rust or python block)",
                    above.line, above.info
                ));
            } else if !above.is_run() {
                problems.push(format!(
                    "{at}: an output block under a snippet that the tests do not run (line {}: `{}`), so nothing checks it",
                    above.line, above.info
                ));
            }
        }
        _ => problems.push(format!(
            "{at}: an output block with no snippet above it: it goes directly under the rust block whose output it shows (only blank lines between)"
        )),
    }
}

/// A block that shows part of a program in `examples/` through `{{#include}}`.
fn check_included_example(file: &str, b: &Block, problems: &mut Vec<String>) {
    let at = format!("{file}:{}", b.line);
    if !b.has_attr("noplayground") {
        problems.push(format!(
            "{at}: a block taken from examples/ cannot run on its own: mark it ```rust,noplayground"
        ));
    }
    let first = b.body.first().map(|l| l.trim()).unwrap_or("");
    let example_ok = b.example_path().is_some_and(|path| support::root().join(path).is_file());
    if !example_ok {
        problems.push(format!(
            "{at}: a block taken from examples/ starts with a line naming its program, e.g. `// examples/bookshelf.rs` (found `{first}`)"
        ));
    }
    let dir = Path::new(file).parent().unwrap_or(Path::new(""));
    for (i, line) in b.body.iter().enumerate() {
        let Some(start) = line.find("{{#") else { continue };
        let directive = &line[start + 3..];
        let Some(end) = directive.find("}}") else { continue };
        let mut words = directive[..end].split_whitespace();
        let _kind = words.next();
        let Some(target) = words.next() else { continue };
        let (path, anchor) = match target.split_once(':') {
            Some((p, a)) => (p, Some(a)),
            None => (target, None),
        };
        let full = support::root().join(dir).join(path);
        let at_line = format!("{file}:{}", b.line + 1 + i);
        let Ok(source) = std::fs::read_to_string(&full) else {
            problems.push(format!("{at_line}: includes {path}, which does not exist"));
            continue;
        };
        if let Some(anchor) = anchor.filter(|a| !a.chars().all(|c| c.is_ascii_digit() || c == ':')) {
            let has = source.lines().any(|l| l.trim() == format!("// ANCHOR: {anchor}"))
                && source.lines().any(|l| l.trim() == format!("// ANCHOR_END: {anchor}"));
            if !has {
                problems.push(format!(
                    "{at_line}: {path} has no `// ANCHOR: {anchor}` ... `// ANCHOR_END: {anchor}` region"
                ));
            }
        }
    }
}

#[test]
fn code_blocks_are_well_formed() {
    let root = support::root();
    let mut problems = Vec::new();
    for rel in markdown::tested_files(&root) {
        let file = rel.to_string_lossy().replace('\\', "/");
        let text = support::read(&rel);
        let lines: Vec<&str> = text.lines().collect();
        // A backtick fence's info string may not hold a backtick (CommonMark): such a line is no
        // fence at all, so the callout would show as a paragraph of raw text. (Lines shown inside
        // another code block, such as a markdown example, are text.)
        let blocks = markdown::blocks(&text);
        let quoted = |n: usize| blocks.iter().any(|b| b.lang() != "admonish" && b.line <= n && n <= b.end_line());
        for (n, line) in lines.iter().enumerate() {
            if quoted(n + 1) {
                continue;
            }
            let t = line.trim_start();
            if t.starts_with("```") && t.trim_start_matches('`').contains('`') && !t.trim_start_matches('`').starts_with('`') {
                let info = t.trim_start_matches('`');
                if info.starts_with("admonish") || info.starts_with("rust") || info.starts_with("text") {
                    problems.push(format!(
                        "{file}:{}: a backtick in a fence's info string (`{}`) unmakes the fence, and the block renders as plain text: write the title without backticks, or open the block with ~~~",
                        n + 1,
                        info.chars().take(60).collect::<String>()
                    ));
                }
            }
        }
        for (i, b) in blocks.iter().enumerate() {
            let b = b.clone();
            let at = format!("{file}:{}", b.line);
            if !b.closed {
                problems.push(format!("{at}: this {} fence is never closed", b.fence));
                continue;
            }
            if b.in_admonish {
                problems.push(format!(
                    "{at}: a code block inside an admonish block is never tested (skeptic does not see it): end the admonish block before the code"
                ));
                continue;
            }
            let lang = b.lang().to_string();
            if lang == "text" {
                check_text_block(&file, &lines, &blocks, i, &mut problems);
            } else if lang == "rust" {
                check_rust_block(&file, &lines, &b, &mut problems);
            } else if lang == "python" {
                if b.info != "python" {
                    problems.push(format!(
                        "{at}: `{}`: a python block takes no attributes (every python block is run by the tests, with python3 -X dev)",
                        b.info
                    ));
                }
            } else if lang.to_ascii_lowercase().starts_with("rust") || lang == "rs" {
                problems.push(format!("{at}: `{}` is not a tested language: write ```rust", b.info));
            } else if !OTHER_LANGUAGES.contains(&lang.as_str()) {
                problems.push(format!(
                    "{at}: unknown code block language `{lang}` (known: rust and {OTHER_LANGUAGES:?})"
                ));
            }
        }
    }
    report("code blocks", problems);
}

#[test]
fn admonish_blocks_have_known_types() {
    let mut problems = Vec::new();
    for rel in book_files() {
        let file = rel.to_string_lossy().replace('\\', "/");
        for b in markdown::blocks(&support::read(&rel)) {
            if b.lang() != "admonish" {
                continue;
            }
            let rest = b.info["admonish".len()..].trim_start();
            let kind = rest
                .split(|c: char| c.is_whitespace() || c == ',')
                .next()
                .unwrap_or("");
            if !kind.is_empty() && !kind.contains('=') && !ADMONISH_TYPES.contains(&kind) {
                problems.push(format!(
                    "{file}:{}: unknown admonish type `{kind}` (known: {ADMONISH_TYPES:?})",
                    b.line
                ));
            }
            if rest.matches('"').count() % 2 == 1 {
                problems.push(format!("{file}:{}: unbalanced quotes in `{}`", b.line, b.info));
            }
        }
    }
    report("admonish blocks", problems);
}

/// mdBook's id for a heading: lowercase, whitespace to `-`, only alphanumerics, `-` and `_` kept.
fn heading_id(text: &str) -> String {
    text.trim()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_ascii_lowercase())
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// The anchors of a markdown file: its headings' ids (repeats numbered as mdBook does) and any
/// explicit `id="..."` in its HTML.
fn anchors_of(text: &str) -> BTreeSet<String> {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let mut ids = BTreeSet::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut heading: Option<String> = None;
    for event in Parser::new_ext(text, Options::all()) {
        match event {
            Event::Start(Tag::Heading { id: Some(id), .. }) => {
                ids.insert(id.to_string());
                heading = None;
            }
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(h) = heading.take() {
                    let id = heading_id(&h);
                    let n = counts.entry(id.clone()).or_insert(0);
                    ids.insert(if *n == 0 { id.clone() } else { format!("{id}-{n}") });
                    *n += 1;
                }
            }
            Event::Html(h) | Event::InlineHtml(h) => {
                let mut rest: &str = &h;
                while let Some(i) = rest.find("id=\"") {
                    rest = &rest[i + 4..];
                    if let Some(end) = rest.find('"') {
                        ids.insert(rest[..end].to_string());
                    }
                }
            }
            _ => {}
        }
    }
    ids
}

/// `a/b/../c.md` -> `a/c.md`; `None` when it climbs out of the repository.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

#[test]
fn internal_links_resolve() {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let root = support::root();
    let chapters: BTreeSet<PathBuf> = support::summary_entries()
        .into_iter()
        .map(|(_, p)| PathBuf::from("src").join(p))
        .collect();
    let mut anchors: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut files = book_files();
    files.extend(["README.md", "CONTRIBUTING.md"].map(PathBuf::from).into_iter().filter(|p| root.join(p).exists()));
    for rel in files {
        let file = rel.to_string_lossy().replace('\\', "/");
        let in_book = file.starts_with("src/");
        let text = support::read(&rel);
        let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
        for (event, range) in Parser::new_ext(&text, Options::all()).into_offset_iter() {
            let dest = match event {
                Event::Start(Tag::Link { dest_url, .. }) | Event::Start(Tag::Image { dest_url, .. }) => dest_url,
                _ => continue,
            };
            let dest = dest.to_string();
            // SUMMARY.md's entries, drafts (`[Title]()`) included, are checked by
            // every_chapter_is_listed_in_summary.
            if dest.contains("://") || dest.starts_with("mailto:") || file == "src/SUMMARY.md" {
                continue;
            }
            let at = format!("{file}:{}", line_of(range.start));
            let (path, anchor) = match dest.split_once('#') {
                Some((p, a)) => (p.to_string(), Some(a.to_string())),
                None => (dest.clone(), None),
            };
            let target = if path.is_empty() {
                rel.clone()
            } else {
                match normalize(&rel.parent().unwrap_or(Path::new("")).join(&path)) {
                    Some(t) => t,
                    None => {
                        problems.push(format!("{at}: `{dest}` points outside the repository"));
                        continue;
                    }
                }
            };
            if !root.join(&target).exists() {
                problems.push(format!("{at}: `{dest}`: {} does not exist", target.display()));
                continue;
            }
            if in_book {
                if !target.starts_with("src") {
                    problems.push(format!(
                        "{at}: `{dest}` is outside src/, so it is not part of the built site: link to the repository file with a full URL, or name the file in `code`"
                    ));
                    continue;
                }
                if target.extension().is_some_and(|e| e == "md") && target != Path::new("src/404.md") && !chapters.contains(&target) {
                    problems.push(format!(
                        "{at}: `{dest}` is not a chapter of the book (a draft, or missing from SUMMARY.md)"
                    ));
                    continue;
                }
            }
            if let Some(anchor) = anchor {
                let known = anchors
                    .entry(target.clone())
                    .or_insert_with(|| anchors_of(&support::read(&target)));
                if !known.contains(&anchor) {
                    problems.push(format!(
                        "{at}: `{dest}`: {} has no heading with the id `{anchor}`",
                        target.display()
                    ));
                }
            }
        }
    }
    report("internal links", problems);
}

#[test]
fn book_builds_and_its_pages_hold_together() {
    let site = support::built_book();
    let mut problems = Vec::new();
    let mut pages = Vec::new();
    collect(site, &mut pages);
    // Pages that links point into with an #anchor, each read once.
    let mut linked: BTreeMap<PathBuf, String> = BTreeMap::new();
    assert!(site.join("404.html").is_file(), "the build has no 404.html (book.toml: input-404)");
    assert!(site.join("print.html").is_file(), "the build has no print.html");
    assert!(site.join("searchindex.js").is_file() || site.join("searchindex.json").is_file(), "the build has no search index");

    for page in &pages {
        let rel = page.strip_prefix(site).unwrap().to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(page).unwrap_or_default();
        if rel.ends_with(".css") {
            for bad in ["url(http", "url(\"http", "url('http", "url(//", "@import \"http", "@import url(http"] {
                if text.contains(bad) {
                    problems.push(format!("{rel}: loads from another host (`{bad}`)"));
                }
            }
            continue;
        }
        if !rel.ends_with(".html") {
            continue;
        }
        // Nothing is loaded from another host: scripts, style sheets, fonts, images.
        for tag in tags(&text, &["script", "link", "img", "iframe"]) {
            for attr in ["src", "href"] {
                if let Some(v) = attr_value(&tag, attr) {
                    let loads = !tag.starts_with("<link") || tag.contains("stylesheet") || tag.contains("preload") || tag.contains("icon");
                    if loads && (v.starts_with("http:") || v.starts_with("https:") || v.starts_with("//")) {
                        problems.push(format!("{rel}: loads {v} from another host"));
                    }
                }
            }
        }
        if rel == "print.html" || rel == "toc.html" {
            continue;
        }
        // Links and anchors between pages resolve.
        let dir = Path::new(&rel).parent().unwrap_or(Path::new("")).to_path_buf();
        for tag in tags(&text, &["a"]) {
            let Some(href) = attr_value(&tag, "href") else { continue };
            let href = href.replace("&amp;", "&");
            if href.contains("://") || href.starts_with("mailto:") || href.starts_with("javascript:") || href.is_empty() {
                continue;
            }
            let (path, anchor) = match href.split_once('#') {
                Some((p, a)) => (p.to_string(), Some(a.to_string())),
                None => (href.clone(), None),
            };
            let target = if path.is_empty() {
                Some(PathBuf::from(&rel))
            } else if rel == "404.html" {
                // The 404 page is served from any depth, so its links are made absolute by mdBook.
                Some(PathBuf::from(path.trim_start_matches('/')))
            } else {
                normalize(&dir.join(&path))
            };
            let Some(target) = target else {
                problems.push(format!("{rel}: link `{href}` points outside the site"));
                continue;
            };
            let full = site.join(&target);
            let full = if full.is_dir() { full.join("index.html") } else { full };
            if !full.is_file() {
                problems.push(format!("{rel} (from its markdown source): link `{href}`: {} is not in the site", target.display()));
                continue;
            }
            if let Some(anchor) = anchor.filter(|a| !a.is_empty()) {
                let body = linked
                    .entry(full.clone())
                    .or_insert_with(|| std::fs::read_to_string(&full).unwrap_or_default());
                if !body.contains(&format!("id=\"{anchor}\"")) {
                    problems.push(format!("{rel}: link `{href}`: {} has no element with id `{anchor}`", target.display()));
                }
            }
        }
    }

    // Every chapter renders its diagrams and callouts, and has an edit link to its own file.
    for (_, chapter) in support::summary_entries() {
        let md = support::read(&Path::new("src").join(&chapter));
        let html_rel = chapter.trim_end_matches(".md").to_string() + ".html";
        let html = std::fs::read_to_string(site.join(&html_rel)).unwrap_or_default();
        let blocks = markdown::blocks(&md);
        let diagrams = blocks.iter().filter(|b| b.lang() == "mermaid").count();
        let rendered = figures(&html).len();
        if rendered != diagrams {
            problems.push(format!("{html_rel}: src/{chapter} has {diagrams} mermaid diagram(s), the page draws {rendered}"));
        }
        let callouts = blocks.iter().filter(|b| b.lang() == "admonish").count();
        let shown = html.matches("class=\"admonition").count();
        if shown < callouts {
            problems.push(format!("{html_rel}: src/{chapter} has {callouts} admonish block(s), the page renders {shown}"));
        }
        let edit = format!("/edit/main/src/{chapter}\"");
        if !html.contains(&edit) {
            problems.push(format!("{html_rel}: no edit-this-page link to src/{chapter}"));
        }
    }
    report("the built book", problems);
}

#[test]
fn every_page_names_the_versions_its_snippets_are_tested_with() {
    let site = support::built_book();
    let p = support::provenance::read(&support::root()).expect("the versions can be read");
    // Read independently of the preprocessor: rustc's own answer, and tokio's line in Cargo.lock.
    let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()
        .expect("rustc --version");
    let rustc = String::from_utf8_lossy(&rustc.stdout).trim().to_string();
    assert_eq!(format!("rustc {}", p.rustc), rustc);
    let lock = support::read(Path::new("Cargo.lock"));
    assert!(lock.contains(&format!("name = \"tokio\"\nversion = \"{}\"", p.tokio)), "tokio {}", p.tokio);
    let footer = support::provenance::footer(&p);
    assert!(footer.contains(&p.tokio) && footer.contains(&p.futures) && footer.contains(&p.rustc), "{footer}");
    let mut problems = Vec::new();
    for (_, chapter) in support::summary_entries() {
        let html_rel = chapter.trim_end_matches(".md").to_string() + ".html";
        let html = std::fs::read_to_string(site.join(&html_rel)).unwrap_or_default();
        if !html.contains(&footer) {
            problems.push(format!("{html_rel}: no footer naming rustc {}, tokio {} and futures {}", p.rustc, p.tokio, p.futures));
        }
    }
    report("provenance footers", problems);
}

#[test]
fn one_edition_for_the_tests_the_run_button_and_the_playground() {
    // The package's edition is the one skeptic compiles the snippets with (vendor/skeptic); the
    // book's is the one the Run button and the Playground links ask for.
    let cargo: toml::Table = support::read(Path::new("Cargo.toml")).parse().expect("Cargo.toml");
    let book: toml::Table = support::read(Path::new("book.toml")).parse().expect("book.toml");
    let package = cargo["package"]["edition"].as_str();
    let rust = book.get("rust").and_then(|r| r.get("edition")).and_then(|e| e.as_str());
    assert_eq!(package, Some("2024"), "Cargo.toml: the snippets are compiled with the package's edition");
    assert_eq!(rust, package, "book.toml's [rust] edition (the Run button's) must be Cargo.toml's (the tests')");
    let js = support::read(Path::new("theme/playground-links.js"));
    assert!(js.contains(&format!("var edition = '{}';", package.unwrap())), "theme/playground-links.js defaults to another edition");
}

#[test]
fn tool_versions_live_in_one_place() {
    // scripts/install-tools.sh installs the versions it reads from Cargo.toml, where the tests'
    // copies of the same tools are pinned; Cargo.lock shows what the tests really use.
    let out = std::process::Command::new("bash")
        .arg(support::root().join("scripts/install-tools.sh"))
        .arg("--print-versions")
        .output()
        .expect("run scripts/install-tools.sh --print-versions");
    assert!(out.status.success(), "install-tools.sh --print-versions failed: {}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    let lock = support::read(Path::new("Cargo.lock"));
    for tool in ["mdbook", "mdbook-admonish", "mdbook-mermaid"] {
        let version = printed
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{tool} ")))
            .unwrap_or_else(|| panic!("install-tools.sh --print-versions does not name {tool}: {printed}"));
        let locked = format!("name = \"{tool}\"\nversion = \"{version}\"");
        assert!(
            lock.contains(&locked),
            "install-tools.sh would install {tool} {version}, but the tests build the book with another version (Cargo.lock)"
        );
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The opening tags `<name ...>` of the given elements.
fn tags(html: &str, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end.min(rest.len())];
        let name: String = tag[1..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if names.contains(&name.to_ascii_lowercase().as_str()) {
            out.push(tag.to_string());
        }
        rest = &rest[end.min(rest.len())..];
        if rest.is_empty() {
            break;
        }
        rest = &rest[1..];
    }
    out
}

fn attr_value(tag: &str, attr: &str) -> Option<String> {
    let key = format!(" {attr}=\"");
    let i = tag.find(&key)? + key.len();
    let end = tag[i..].find('"')?;
    Some(tag[i..i + end].to_string())
}

/// The house anatomy of a module chapter (src/part1/, src/part2/): an "In this chapter" list, at
/// least one diagram, at least two callouts, a "Summary", and a "Check yourself" section with at
/// least four questions whose answers fold away.
#[test]
fn chapters_follow_the_house_anatomy() {
    let mut problems = Vec::new();
    for rel in book_files() {
        let file = rel.to_string_lossy().replace('\\', "/");
        if !(file.starts_with("src/part1/") || file.starts_with("src/part2/") || file.starts_with("src/part3/")) {
            continue;
        }
        let text = support::read(&rel);
        let blocks = markdown::blocks(&text);
        let headings: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with("## "))
            .map(|(i, l)| (i + 1, l[3..].trim()))
            .collect();
        let heading_line = |name: &str| headings.iter().find(|(_, h)| h.eq_ignore_ascii_case(name)).map(|(n, _)| *n);
        if !text.to_ascii_lowercase().contains("in this chapter") {
            problems.push(format!("{file}:1: no \"In this chapter\" list of what the reader will be able to do"));
        }
        if !blocks.iter().any(|b| b.lang() == "mermaid") {
            problems.push(format!("{file}:1: no diagram (a ```mermaid block)"));
        }
        let callouts = blocks
            .iter()
            .filter(|b| b.lang() == "admonish" && !b.info.contains("question"))
            .count();
        if callouts < 2 {
            problems.push(format!("{file}:1: {callouts} callout(s); a chapter has at least two (```admonish tip, warning, ...)"));
        }
        if heading_line("Summary").is_none() {
            problems.push(format!("{file}:1: no `## Summary` section"));
        }
        match heading_line("Check yourself") {
            None => problems.push(format!("{file}:1: no `## Check yourself` section")),
            Some(start) => {
                let questions = blocks
                    .iter()
                    .filter(|b| b.line > start && b.lang() == "admonish" && b.info.contains("question"))
                    .filter(|b| b.info.contains("collapsible=true"))
                    .count();
                if questions < 4 {
                    problems.push(format!(
                        "{file}:{start}: {questions} folded question(s) under Check yourself; at least four (```admonish question title=\"...\", collapsible=true)"
                    ));
                }
            }
        }
    }
    report("chapter anatomy", problems);
}

/// Does `quote` occur in `output`, where each `[..]` of the output block stands for any text
/// within a line?
fn quoted_in(quote: &str, output: &str) -> bool {
    enum T {
        Char(char),
        Wild,
    }
    let mut tokens = Vec::new();
    let mut rest = output;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("[..]") {
            tokens.push(T::Wild);
            rest = after;
        } else {
            let c = rest.chars().next().unwrap();
            tokens.push(T::Char(c));
            rest = &rest[c.len_utf8()..];
        }
    }
    // Positions in `tokens` reachable after matching a prefix of the quote; a match may start
    // anywhere, and a wildcard may match nothing.
    let close = |set: &mut Vec<bool>| {
        for p in 0..tokens.len() {
            if set[p] && matches!(tokens[p], T::Wild) {
                set[p + 1] = true;
            }
        }
    };
    let mut set = vec![true; tokens.len() + 1];
    for c in quote.chars() {
        close(&mut set);
        let mut next = vec![false; tokens.len() + 1];
        for p in 0..tokens.len() {
            if !set[p] {
                continue;
            }
            match tokens[p] {
                T::Wild if c != '\n' => next[p] = true,
                T::Char(t) if t == c => next[p + 1] = true,
                _ => {}
            }
        }
        set = next;
        if !set.contains(&true) {
            return false;
        }
    }
    true
}

#[test]
fn quoted_output_is_what_the_snippet_prints() {
    // "It prints `coffee and toast in 300ms`": the quote must be in the output block nearest the
    // sentence, before or after it, which the snippet tests check against the real output.
    let root = support::root();
    let mut problems = Vec::new();
    let mut quotes = 0;
    for rel in markdown::tested_files(&root) {
        let file = rel.to_string_lossy().replace('\\', "/");
        let text = support::read(&rel);
        let blocks = markdown::blocks(&text);
        let outputs: Vec<(usize, String)> = blocks
            .iter()
            .filter(|b| b.is_output())
            .map(|b| (b.line, markdown::output_text(b)))
            .collect();
        // The prose: every line inside a fenced block blanked out, so line numbers stay.
        let mut prose: Vec<String> = text.lines().map(str::to_string).collect();
        for b in &blocks {
            for l in b.line - 1..b.end_line().min(prose.len()) {
                prose[l].clear();
            }
        }
        let prose = prose.join("\n");
        let mut search = 0;
        while let Some(found) = prose[search..].find("prints") {
            let start = search + found;
            search = start + "prints".len();
            let before_ok = prose[..start].chars().last().is_none_or(|c| !c.is_alphanumeric());
            let after = prose[search..].trim_start_matches(':');
            let after = after.trim_start_matches([' ', '\n']);
            if !before_ok || !after.starts_with('`') || after.starts_with("``") {
                continue;
            }
            let Some(end) = after[1..].find('`') else { continue };
            let quote = &after[1..1 + end];
            let line = prose[..start].matches('\n').count() + 1;
            // A paragraph about a program in examples/ quotes that program, which its own test in
            // tests/ runs and checks.
            let para_start = prose[..start].rfind("\n\n").map_or(0, |p| p + 2);
            let para_end = prose[start..].find("\n\n").map_or(prose.len(), |p| start + p);
            if prose[para_start..para_end].contains("examples/") {
                continue;
            }
            quotes += 1;
            let before = outputs.iter().rev().find(|(l, _)| *l < line);
            let after = outputs.iter().find(|(l, _)| *l > line);
            let ok = [before, after].into_iter().flatten().any(|(_, o)| quoted_in(quote, o));
            if !ok {
                let near: Vec<String> = [before, after].into_iter().flatten().map(|(l, _)| format!("line {l}")).collect();
                let near = if near.is_empty() { "this file has none".to_string() } else { near.join(" and ") };
                problems.push(format!(
                    "{file}:{line}: says the program prints `{quote}`, but the nearest output blocks ({near}) do not contain it"
                ));
            }
        }
    }
    assert!(quotes > 0, "no sentence says what a snippet prints: is the check reading the book?");
    report("quoted output", problems);
}

#[test]
fn quoted_in_matches_wildcards() {
    assert!(quoted_in("took 5ms", "done: took [..]"));
    assert!(quoted_in("a b", "x a b y"));
    assert!(!quoted_in("a c", "x a b y"));
    assert!(quoted_in("12 ms  A: start", "[..] ms  A: start"));
    assert!(!quoted_in("line one\nline two", "line one[..]"));
}

#[test]
fn contributing_counts_the_output_blocks_and_their_wildcards() {
    let root = support::root();
    let (mut blocks, mut wild) = (0, 0);
    for rel in markdown::tested_files(&root) {
        for b in markdown::blocks(&support::read(&rel)) {
            if b.is_output() && !b.in_admonish {
                blocks += 1;
                if markdown::output_text(&b).contains("[..]") {
                    wild += 1;
                }
            }
        }
    }
    let text = support::read(Path::new("CONTRIBUTING.md"));
    let said = format!("Today the book has {blocks} output blocks, {wild} of them with a wildcard");
    assert!(
        text.replace("\n  ", " ").contains(&said),
        "CONTRIBUTING.md should say: \"{said}\" (the figures have changed)"
    );
}

#[test]
fn playground_links_stay_under_the_ceiling() {
    // Each link computed exactly as theme/playground-links.js builds it (tests/browser.rs checks
    // that the page's links are these).
    let ceiling = support::PLAYGROUND_LINK_CEILING;
    let mut problems = Vec::new();
    let mut lengths = Vec::new();
    for (_, chapter) in support::summary_entries() {
        let md = support::read(&Path::new("src").join(&chapter));
        for b in markdown::blocks(&md).iter().filter(|b| support::has_run_button(b) && !b.has_attr("compile_fail")) {
            let len = support::playground_url(&support::page_program(b), "2024").len();
            let at = format!("src/{chapter}:{}", b.line);
            if len > ceiling {
                problems.push(format!(
                    "{at}: its Playground link is {len} bytes, over the ceiling of {ceiling}: tighten the program, or move it to examples/ and show it with {{{{#include}}}}"
                ));
            }
            lengths.push((len, at));
        }
    }
    lengths.sort();
    let near = lengths.iter().filter(|(len, _)| *len * 5 > ceiling * 4).count();
    if let Some((len, at)) = lengths.last() {
        eprintln!(
            "Playground links: {} links; the longest is {len} bytes ({at}); {near} over 80% of the {ceiling}-byte ceiling",
            lengths.len()
        );
    }
    assert!(!lengths.is_empty(), "no runnable snippet found: is the check reading the book?");
    report("Playground link length", problems);
}

#[test]
fn playground_encoding_round_trips() {
    let program = "fn main() {\n    let s = \"a+b = 100% & more: /x?y;z,@$#\";\n}\n";
    let encoded = support::playground_encode(program);
    assert_eq!(support::query_decode(&encoded), program);
    assert!(!encoded.contains(' ') && !encoded.contains('&') && !encoded.contains('#') && !encoded.contains('\n'));
    assert!(encoded.contains("a%2Bb"), "a literal + is escaped: {encoded}");
}

/// A pair: an asyncio program and its tokio counterpart, shown as two tabs ("Python (asyncio)",
/// "Rust (tokio)", by theme/pairs.js), each with its output block. In the markdown:
///
/// ```text
/// <div class="pair" data-pair="same">            (or data-pair="different" data-difference="WORDS")
///
/// ```python ... ``` and its ```text,output block
/// ```rust ... ``` and its ```text,output block
///
/// </div>
/// ```
///
/// `same`: the two output blocks are equal (both are checked against real runs by the snippet
/// tests, so the programs print the same). `different`: they differ, and the prose of the section
/// around the pair (from the heading above it to the next heading) names the difference in WORDS.
#[derive(Debug)]
struct Pair {
    line: usize,
    kind: String,
    difference: Option<String>,
    python: Option<String>,
    rust: Option<String>,
}

/// The pairs of one markdown file, and the problems with their markup.
fn pairs_of(file: &str, text: &str, problems: &mut Vec<String>) -> Vec<Pair> {
    let lines: Vec<&str> = text.lines().collect();
    let blocks = markdown::blocks(text);
    let in_block = |n: usize| blocks.iter().any(|b| b.line <= n && n <= b.end_line());
    let mut pairs = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        if in_block(n) || !line.trim_start().starts_with("<div class=\"pair\"") {
            continue;
        }
        let at = format!("{file}:{n}");
        let tag = line.trim();
        let kind = attr_value(tag, "data-pair").unwrap_or_default();
        let difference = attr_value(tag, "data-difference");
        let Some(end) = (i + 1..lines.len()).find(|&j| !in_block(j + 1) && lines[j].trim() == "</div>").map(|j| j + 1) else {
            problems.push(format!("{at}: this pair has no `</div>` line"));
            continue;
        };
        let inside: Vec<(usize, &Block)> = blocks.iter().enumerate().filter(|(_, b)| b.line > n && b.line < end).collect();
        let shape: Vec<&str> = inside.iter().map(|(_, b)| if b.is_output() { "output" } else { b.lang() }).collect();
        if shape != ["python", "output", "rust", "output"] {
            problems.push(format!(
                "{at}: a pair holds a python block and its output block, then a rust block and its output block (found {shape:?})"
            ));
            continue;
        }
        let (pi, ri) = (inside[0].0, inside[2].0);
        if markdown::output_after(&lines, &blocks, pi).is_none() || markdown::output_after(&lines, &blocks, ri).is_none() {
            problems.push(format!("{at}: each program of a pair has its output block directly under it"));
        }
        if !blocks[ri].is_run() {
            problems.push(format!("{at}: the rust program of a pair must be one the tests run (`{}`)", blocks[ri].info));
        }
        for j in n..end - 1 {
            if !in_block(j + 1) && !lines[j].trim().is_empty() {
                problems.push(format!(
                    "{file}:{}: text inside a pair would be hidden behind a tab: put it before the `<div class=\"pair\">` or after its `</div>`",
                    j + 1
                ));
            }
        }
        pairs.push(Pair {
            line: n,
            kind,
            difference,
            python: Some(markdown::output_text(&blocks[pi + 1])),
            rust: Some(markdown::output_text(&blocks[ri + 1])),
        });
    }
    pairs
}

/// The prose of the section holding line `n` (1-based): from the heading above it to the next
/// heading, with code blocks and HTML lines left out.
fn section_prose(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let blocks = markdown::blocks(text);
    let in_block = |k: usize| blocks.iter().any(|b| b.line <= k && k <= b.end_line());
    let is_heading = |k: usize| !in_block(k) && lines[k - 1].starts_with('#');
    let start = (1..=n).rev().find(|&k| is_heading(k)).unwrap_or(1);
    let end = (n + 1..=lines.len()).find(|&k| is_heading(k)).unwrap_or(lines.len() + 1);
    (start..end)
        .filter(|&k| !in_block(k) && !lines[k - 1].trim_start().starts_with('<'))
        .map(|k| lines[k - 1])
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn paired_programs_are_the_same_or_different_on_purpose() {
    let mut problems = Vec::new();
    let mut count = 0;
    for rel in book_files() {
        let file = rel.to_string_lossy().replace('\\', "/");
        let text = support::read(&rel);
        let pairs = pairs_of(&file, &text, &mut problems);
        count += pairs.len();
        for p in &pairs {
            let at = format!("{file}:{}", p.line);
            let (py, rs) = (p.python.as_deref().unwrap_or(""), p.rust.as_deref().unwrap_or(""));
            match (p.kind.as_str(), p.difference.as_deref()) {
                ("same", None) => {
                    if py != rs {
                        problems.push(format!(
                            "{at}: a `same` pair whose programs print different things:\n--- python\n{py}\n--- rust\n{rs}"
                        ));
                    }
                }
                ("same", Some(_)) => problems.push(format!("{at}: a `same` pair names no difference (remove data-difference)")),
                ("different", Some(words)) if !words.trim().is_empty() => {
                    if py == rs {
                        problems.push(format!("{at}: a `different` pair whose programs print the same thing: say `same`, or show the difference"));
                    }
                    let prose = section_prose(&text, p.line).to_lowercase();
                    if !prose.contains(&words.to_lowercase()) {
                        problems.push(format!(
                            "{at}: the text around this `different` pair does not name the difference: \"{words}\" is not in its section"
                        ));
                    }
                }
                ("different", _) => problems.push(format!(
                    "{at}: a `different` pair names the difference the text explains: data-difference=\"the words the text uses\""
                )),
                (other, _) => problems.push(format!("{at}: data-pair=\"{other}\": a pair is `same` or `different`")),
            }
        }
        // Module chapters (01-05, 06a-06g) are the asyncio course's modules: each shows at least one.
        let module = file.starts_with("src/part1/") || file.starts_with("src/part2/");
        if module && pairs.is_empty() {
            problems.push(format!("{file}:1: a module chapter shows at least one asyncio program beside its tokio counterpart (a pair)"));
        }
    }
    assert!(count > 0, "no pair found: is the check reading the book?");
    report("paired programs", problems);
}

#[test]
fn pair_checks_catch_what_they_should() {
    let text = "# T\n\nThe task starts eagerly in one.\n\n<div class=\"pair\" data-pair=\"different\" data-difference=\"starts eagerly\">\n\n```python\nprint(1)\n```\n\n```text,output\n1\n```\n\n```rust\nfn main() { println!(\"2\"); }\n```\n\n```text,output\n2\n```\n\n</div>\n";
    let mut problems = Vec::new();
    let pairs = pairs_of("t.md", text, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(pairs.len(), 1);
    assert_eq!((pairs[0].python.as_deref(), pairs[0].rust.as_deref()), (Some("1"), Some("2")));
    assert!(section_prose(text, pairs[0].line).contains("starts eagerly"));
    let broken = text.replace("```rust\nfn main() { println!(\"2\"); }\n```\n\n", "");
    let mut problems = Vec::new();
    assert!(pairs_of("t.md", &broken, &mut problems).is_empty());
    assert_eq!(problems.len(), 1, "{problems:?}");
}

// ---- diagrams -------------------------------------------------------------------------------------

/// The diagrams a built page holds: the inside of each `<figure class="diagram" ...>`, in order.
fn figures(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<figure class=\"diagram\"") {
        let after = &rest[i..];
        let end = after.find("</figure>").unwrap_or(after.len());
        out.push(&after[..end]);
        rest = &after[end..];
    }
    out
}

/// The text a reader sees in an SVG: tags dropped, entities decoded, whitespace removed (a label
/// may be wrapped over several lines or `<tspan>`s).
fn svg_text(svg: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    let mut in_style = false;
    let mut i = 0;
    while i < svg.len() {
        let rest = &svg[i..];
        let c = rest.chars().next().unwrap();
        if !in_tag && c == '<' {
            in_tag = true;
            if rest.starts_with("<style") {
                in_style = true;
            } else if rest.starts_with("</style") {
                in_style = false;
            }
        } else if in_tag && c == '>' {
            in_tag = false;
        } else if !in_tag && !in_style {
            text.push(c);
        }
        i += c.len_utf8();
    }
    squash(&decode_entities(&text))
}

fn decode_entities(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(end) = after.find(';').filter(|e| *e < 10) else {
            out.push('&');
            rest = &after[1..];
            continue;
        };
        let name = &after[1..end];
        let decoded = match name {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ if name.starts_with("#x") => u32::from_str_radix(&name[2..], 16).ok().and_then(char::from_u32),
            _ if name.starts_with('#') => name[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// What a diagram's source says a reader must see: node and edge labels, participants, messages
/// and notes, gantt titles, sections and task names, states and transition labels.
fn diagram_labels(source: &[String]) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        // `<br/>` breaks a label over lines: the drawing holds the lines.
        let s = s.replace("<br/>", " ").replace("<br>", " ");
        let s = s.trim();
        if !s.is_empty() && s != "[*]" && !labels.iter().any(|l| l == s) {
            labels.push(s.to_string());
        }
    };
    let mut in_note = false;
    let kind = source.iter().map(|l| l.trim()).find(|l| !l.is_empty()).unwrap_or("");
    let kind = kind.split_whitespace().next().unwrap_or("");
    for line in source.iter().skip(1) {
        let l = line.trim();
        if l.is_empty() || l.starts_with("%%") {
            continue;
        }
        match kind {
            "flowchart" | "graph" => {
                // "quoted" labels, node shapes with bare text, |edge| labels and -- edge --> labels.
                let mut rest = l;
                while let Some(q) = rest.find('"') {
                    let after = &rest[q + 1..];
                    let Some(end) = after.find('"') else { break };
                    push(&after[..end]);
                    rest = &after[end + 1..];
                }
                let unquoted: String = {
                    let mut out = String::new();
                    let mut inq = false;
                    for c in l.chars() {
                        if c == '"' {
                            inq = !inq;
                            out.push('"');
                        } else if !inq {
                            out.push(c);
                        }
                    }
                    out
                };
                for (open, close) in [("[(", ")]"), ("[", "]"), ("{", "}"), ("(", ")"), ("|", "|")] {
                    let mut rest = unquoted.as_str();
                    while let Some(o) = rest.find(open) {
                        let after = &rest[o + open.len()..];
                        let Some(end) = after.find(close) else { break };
                        let inner = &after[..end];
                        // A bare label (the quoted ones were taken above); `()` after a name in a
                        // quoted label, or the inside of `[(`, are not labels of their own.
                        if !inner.contains('"') && !inner.is_empty() && !inner.starts_with('(') && !inner.starts_with('[') {
                            push(inner);
                        }
                        rest = &after[end + close.len()..];
                    }
                }
                if let Some(i) = unquoted.find("-- ") {
                    if let Some(j) = unquoted[i + 3..].find(" -->") {
                        let inner = &unquoted[i + 3..i + 3 + j];
                        if !inner.contains('"') {
                            push(inner);
                        }
                    }
                }
            }
            "sequenceDiagram" => {
                let words: Vec<&str> = l.split_whitespace().collect();
                match words.first().copied() {
                    Some("participant") | Some("actor") => match l.find(" as ") {
                        Some(i) => push(&l[i + 4..]),
                        None => push(words.get(1).copied().unwrap_or("")),
                    },
                    Some("Note") | Some("note") => push(l.split_once(':').map(|x| x.1).unwrap_or("")),
                    Some("par") | Some("and") | Some("loop") | Some("alt") | Some("else") | Some("opt")
                    | Some("critical") | Some("break") | Some("rect") | Some("end") => {
                        if !matches!(words[0], "end" | "rect") {
                            push(&l[words[0].len()..]);
                        }
                    }
                    _ => {
                        if l.contains("->") {
                            push(l.split_once(':').map(|x| x.1).unwrap_or(""));
                        }
                    }
                }
            }
            "gantt" => {
                let first = l.split_whitespace().next().unwrap_or("");
                match first {
                    "title" | "section" => push(&l[first.len()..]),
                    "dateFormat" | "axisFormat" | "tickInterval" | "excludes" | "includes" | "todayMarker"
                    | "weekday" => {}
                    _ => push(l.split_once(':').map(|x| x.0).unwrap_or("")),
                }
            }
            "stateDiagram" | "stateDiagram-v2" => {
                // A note: `note right of S: text`, or its text on the lines up to `end note`.
                if in_note {
                    if l == "end note" {
                        in_note = false;
                    } else {
                        push(l);
                    }
                    continue;
                }
                if l.starts_with("note ") {
                    match l.split_once(':') {
                        Some((_, text)) => push(text),
                        None => in_note = true,
                    }
                    continue;
                }
                let (edge, label) = l.split_once(':').map(|(a, b)| (a, Some(b))).unwrap_or((l, None));
                if let Some(label) = label {
                    push(label);
                }
                for state in edge.split("-->") {
                    push(state);
                }
            }
            _ => {}
        }
    }
    labels
}

#[test]
fn diagram_labels_are_read_from_the_source() {
    let src = |s: &str| s.lines().map(String::from).collect::<Vec<_>>();
    assert_eq!(
        diagram_labels(&src("flowchart LR\n  A[\"a: b\"] -->|\"x\"| B{Is it?}\n  B -- yes --> C[(Store)]\n  C -.->|go| A")),
        ["a: b", "x", "Is it?", "Store", "yes", "go"]
    );
    assert_eq!(
        diagram_labels(&src("sequenceDiagram\n  participant E as Executor\n  E->>E: poll\n  Note over E: free\n  par join!\n  end")),
        ["Executor", "poll", "free", "join!"]
    );
    assert_eq!(diagram_labels(&src("gantt\n  title T\n  dateFormat x\n  section S\n  coffee : 0, 300")), ["T", "S", "coffee"]);
    assert_eq!(
        diagram_labels(&src("stateDiagram-v2\n  [*] --> Running: spawn\n  note right of Running\n    a<br/>note\n  end note")),
        ["spawn", "Running", "a note"]
    );
}

/// Every diagram is drawn into its page when the book is built: an SVG inside the page, holding
/// every label of its source; no page keeps a `<pre class="mermaid">` for a script to draw, and no
/// page loads mermaid.
#[test]
fn every_diagram_is_drawn_at_build_time_with_all_its_labels() {
    let site = support::built_book();
    let mut problems = Vec::new();
    let mut drawn = 0;
    let mut kinds = BTreeMap::new();
    for (_, chapter) in support::summary_entries() {
        let md = support::read(&Path::new("src").join(&chapter));
        let html_rel = chapter.trim_end_matches(".md").to_string() + ".html";
        let html = std::fs::read_to_string(site.join(&html_rel)).unwrap_or_default();
        let sources: Vec<Block> = markdown::blocks(&md).into_iter().filter(|b| b.lang() == "mermaid").collect();
        let svgs = figures(&html);
        for (b, figure) in sources.iter().zip(&svgs) {
            let at = format!("src/{chapter}:{}", b.line);
            if !figure.contains("<svg") {
                problems.push(format!("{at}: the page holds no SVG for this diagram"));
                continue;
            }
            drawn += 1;
            let kind = attr_value(figure, "data-diagram-kind").unwrap_or_default();
            *kinds.entry(kind).or_insert(0) += 1;
            let text = svg_text(figure);
            for label in diagram_labels(&b.body) {
                if !text.contains(&squash(&label)) {
                    problems.push(format!("{at}: the drawing lacks the label `{label}`"));
                }
            }
        }
        if html.contains("<pre class=\"mermaid\"") {
            problems.push(format!("{html_rel}: a diagram was left for a script to draw"));
        }
    }
    let mut pages = Vec::new();
    collect(site, &mut pages);
    for page in pages.iter().filter(|p| p.extension().is_some_and(|e| e == "html")) {
        let html = std::fs::read_to_string(page).unwrap_or_default();
        for tag in tags(&html, &["script"]) {
            if attr_value(&tag, "src").is_some_and(|s| s.contains("mermaid")) {
                problems.push(format!("{}: loads {tag}>", page.strip_prefix(site).unwrap_or(page).display()));
            }
        }
    }
    if drawn == 0 {
        problems.push("no diagram drawn at all".into());
    }
    for kind in ["flowchart", "sequence", "gantt", "state"] {
        if !kinds.contains_key(kind) {
            problems.push(format!("no {kind} diagram was drawn (kinds drawn: {kinds:?})"));
        }
    }
    report("diagrams", problems);
}

/// The diagram renderer is pinned (`=` in tools/mdbook-async-book/Cargo.toml) and locked at that
/// version in the tool's own Cargo.lock, which `cargo install --locked` and the tests' build use.
#[test]
fn the_diagram_renderer_is_pinned_and_locked() {
    let manifest = support::read(Path::new("tools/mdbook-async-book/Cargo.toml"));
    let pinned = manifest
        .lines()
        .find_map(|l| l.strip_prefix("merman = { version = \"="))
        .and_then(|rest| rest.split('"').next())
        .expect("tools/mdbook-async-book/Cargo.toml pins merman with `=`");
    let lock = support::read(Path::new("tools/mdbook-async-book/Cargo.lock"));
    assert!(
        lock.contains(&format!("name = \"merman\"\nversion = \"{pinned}\"")),
        "tools/mdbook-async-book/Cargo.lock does not lock merman {pinned}"
    );
}

/// The glossary's sort key of a term: its bold text without backticks and leading punctuation
/// (`.await` files under A, `'static` under S), lower-cased.
fn glossary_key(term: &str) -> String {
    term.replace('`', "")
        .trim_start_matches(['.', '\'', '#'])
        .to_lowercase()
}

/// Problems with glossary entries (`**term**: ...` paragraphs under `## X to Y` headings): out of
/// alphabetical order, under a heading whose letters do not cover them, or defined twice.
fn glossary_problems(file: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut range: Option<(char, char)> = None;
    let mut previous: Option<(String, usize)> = None;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut in_fence = false;
    let mut blank_before = true;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.starts_with("```") {
            in_fence = !in_fence;
        }
        if in_fence {
            blank_before = false;
            continue;
        }
        if let Some(h) = line.strip_prefix("## ") {
            let letters: Vec<char> = h.split(" to ").filter_map(|p| p.trim().chars().next()).collect();
            range = match letters[..] {
                [a, b] if h.contains(" to ") => Some((a.to_ascii_lowercase(), b.to_ascii_lowercase())),
                _ => None,
            };
            previous = None;
        } else if blank_before && line.starts_with("**") {
            let Some(term) = line[2..].split("**").next().filter(|t| !t.is_empty()) else {
                blank_before = line.trim().is_empty();
                continue;
            };
            let key = glossary_key(term);
            match range {
                None => problems.push(format!("{file}:{n}: **{term}** is not under a `## X to Y` heading")),
                Some((a, b)) => {
                    let first = key.chars().next().unwrap_or(' ');
                    if first < a || first > b {
                        problems.push(format!(
                            "{file}:{n}: **{term}** belongs under another heading (this one covers {} to {})",
                            a.to_ascii_uppercase(),
                            b.to_ascii_uppercase()
                        ));
                    }
                }
            }
            if let Some((before, at)) = &previous {
                if *before > key {
                    problems.push(format!("{file}:{n}: **{term}** is out of alphabetical order (after line {at})"));
                }
            }
            if let Some(at) = seen.insert(key.clone(), n) {
                problems.push(format!("{file}:{n}: **{term}** is defined twice (also at line {at})"));
            }
            previous = Some((key, n));
        }
        blank_before = line.trim().is_empty();
    }
    problems
}

#[test]
fn glossary_terms_are_sorted_and_defined_once() {
    let file = "src/reference/glossary.md";
    report("glossary", glossary_problems(file, &support::read(Path::new(file))));
}

#[test]
fn glossary_check_catches_disorder_and_duplicates() {
    let good = "## A to C\n\n**`abort`**: x.\n\n**`.await`**: y.\n\n**Channel**: z.\n\n## D to Z\n\n**`'static`**: w.\n";
    assert_eq!(glossary_problems("g.md", good), Vec::<String>::new());
    let swapped = good.replace("**`abort`**: x.\n\n**`.await`**: y.", "**`.await`**: y.\n\n**`abort`**: x.");
    assert!(glossary_problems("g.md", &swapped)[0].contains("g.md:5: **`abort`** is out of alphabetical order"));
    let twice = format!("{good}\n**Static**: again.\n");
    assert!(glossary_problems("g.md", &twice).iter().any(|p| p.contains("defined twice (also at line 11)")));
    let misplaced = good.replace("**Channel**", "**Deadlock**");
    assert!(glossary_problems("g.md", &misplaced)[0].contains("**Deadlock** belongs under another heading"));
}
