//! A small, dependency-free reader of the book's markdown: where the fenced code blocks are, what
//! their info strings say, and whether they sit inside an ```` ```admonish ```` fence.
//!
//! It is shared by `build.rs` (which turns rust blocks into tests) and by the book checks in `tests/`,
//! so that both agree on what a block is and on its line number (the line of its opening fence,
//! counting from 1).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// One fenced code block.
#[derive(Debug, Clone)]
pub struct Block {
    /// Line of the opening fence, from 1.
    pub line: usize,
    /// The fence itself, e.g. "```" or "````".
    pub fence: String,
    /// The info string, trimmed: "rust,no_run", "admonish tip title=\"...\"", "mermaid", "".
    pub info: String,
    /// The lines between the fences.
    pub body: Vec<String>,
    /// True when the block sits inside an admonish block (mdbook-admonish renders the inside as
    /// markdown, so the block shows on the page, but skeptic never sees it).
    pub in_admonish: bool,
    /// True when the closing fence was found.
    pub closed: bool,
}

impl Block {
    /// The first word of the info string: "rust", "admonish", "mermaid", "text", "".
    pub fn lang(&self) -> &str {
        self.info
            .split(|c: char| c == ',' || c.is_whitespace())
            .next()
            .unwrap_or("")
    }

    /// The comma-separated attributes of a rust block, after "rust": ["no_run"], ["compile_fail", "E0277"].
    pub fn attrs(&self) -> Vec<String> {
        self.info
            .split(',')
            .skip(1)
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect()
    }

    pub fn has_attr(&self, attr: &str) -> bool {
        self.attrs().iter().any(|a| a == attr)
    }

    pub fn is_rust(&self) -> bool {
        self.lang() == "rust"
    }

    /// A ```` ```python ```` block: an asyncio program that the tests run with `python3 -X dev`.
    pub fn is_python(&self) -> bool {
        self.lang() == "python"
    }

    /// True for a python block that the tests run: every closed one outside admonish blocks.
    pub fn is_run_python(&self) -> bool {
        self.is_python() && self.closed && !self.in_admonish
    }

    /// A python block's program: its lines as they stand (`# ` starts a comment in Python, so no
    /// line is hidden).
    pub fn python_program(&self) -> String {
        let mut out = String::new();
        for line in &self.body {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// An output block: ```` ```text,output ````, what the snippet above it prints.
    pub fn is_output(&self) -> bool {
        self.lang() == "text" && self.has_attr("output")
    }

    /// The line of the closing fence (for a closed block outside admonish: the body is all the
    /// lines between the fences).
    pub fn end_line(&self) -> usize {
        self.line + self.body.len() + 1
    }

    /// True for a rust block that the snippet tests run: not `no_run`, not `ignore`, not shown
    /// from a program in `examples/`, not inside an admonish block (where nothing sees it).
    /// `compile_fail` blocks count: their output block shows the compiler's first error.
    pub fn is_run(&self) -> bool {
        self.is_rust()
            && self.closed
            && !self.in_admonish
            && !self.has_attr("no_run")
            && !self.has_attr("ignore")
            && !self.includes_file()
    }

    /// The error codes a `compile_fail` block names (E0277, ...).
    pub fn error_codes(&self) -> Vec<String> {
        self.attrs()
            .into_iter()
            .filter(|a| is_error_code(a))
            .collect()
    }

    /// True when the block's code comes from a file through mdBook's `{{#include}}` (or
    /// `{{#rustdoc_include}}`): skeptic would see the directive, not the code.
    pub fn includes_file(&self) -> bool {
        self.body
            .iter()
            .any(|l| l.contains("{{#include") || l.contains("{{#rustdoc_include"))
    }

    /// For a block shown from a program in `examples/`: the program its first line names,
    /// `// examples/bookshelf.rs` -> `examples/bookshelf.rs`.
    pub fn example_path(&self) -> Option<&str> {
        let named = self.body.first()?.trim().strip_prefix("//")?.trim();
        (named.starts_with("examples/") && named.ends_with(".rs")).then_some(named)
    }

    /// The name `cargo run --example` takes for that program: `examples/bookshelf.rs` and
    /// `examples/bookshelf/main.rs` are both `bookshelf`.
    pub fn example_name(&self) -> Option<&str> {
        let path = self.example_path()?.strip_prefix("examples/")?;
        Some(path.strip_suffix("/main.rs").or_else(|| path.strip_suffix(".rs"))?)
    }

    /// The program as the compiler, the Playground and the tests see it: hidden `# ` lines kept,
    /// with their marker removed (the same rule as mdBook's and skeptic's).
    pub fn program(&self) -> String {
        let mut out = String::new();
        for line in &self.body {
            out.push_str(unhide(line));
            out.push('\n');
        }
        out
    }
}

/// The output block that belongs to `blocks[i]`: the next block, when only blank lines separate it
/// from `blocks[i]`'s closing fence and it is an output block.
pub fn output_after<'b>(lines: &[&str], blocks: &'b [Block], i: usize) -> Option<&'b Block> {
    let b = &blocks[i];
    let next = blocks.get(i + 1)?;
    if !next.is_output() || next.line <= b.end_line() {
        return None;
    }
    let between = lines.get(b.end_line()..next.line - 1).unwrap_or(&[]);
    between.iter().all(|l| l.trim().is_empty()).then_some(next)
}

/// The text of an output block, as the tests compare it: its lines joined, without the final newline.
pub fn output_text(b: &Block) -> String {
    b.body.join("\n")
}

/// What the HTML comment `<!-- KEY: text -->` on the line directly above a block's fence says:
/// `ignore` gives an ignored block's reason, `compile_fail` the message of an error without a code.
pub fn note_above(lines: &[&str], b: &Block, key: &str) -> Option<String> {
    let above = lines.get(b.line.checked_sub(2)?)?.trim();
    let text = above
        .strip_prefix("<!-- ")?
        .strip_prefix(key)?
        .strip_prefix(':')?
        .strip_suffix("-->")?
        .trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The compiler message a `compile_fail` block expects, for an error that has no code: written on the
/// line directly above the fence as `<!-- compile_fail: future cannot be sent between threads safely -->`.
pub fn expected_message(lines: &[&str], b: &Block) -> Option<String> {
    note_above(lines, b, "compile_fail")
}

/// `E` followed by four digits.
pub fn is_error_code(s: &str) -> bool {
    s.len() == 5 && s.starts_with('E') && s[1..].chars().all(|c| c.is_ascii_digit())
}

/// Remove the marker of a hidden line (`# code` -> `code`, a lone `#` -> ``).
pub fn unhide(line: &str) -> &str {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix("# ") {
        rest
    } else if trimmed == "#" {
        ""
    } else {
        line
    }
}

/// An opening or closing fence: (indent, fence, info).
fn fence(line: &str) -> Option<(usize, String, String)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[indent..];
    let ch = rest.chars().next()?;
    if ch != '`' && ch != '~' {
        return None;
    }
    let len = rest.chars().take_while(|&c| c == ch).count();
    if len < 3 {
        return None;
    }
    let info = rest[len..].trim().to_string();
    if ch == '`' && info.contains('`') {
        return None; // not a fence: inline code such as ```x```
    }
    Some((indent, rest[..len].to_string(), info))
}

/// Every fenced block of a markdown text, in order, including blocks nested in admonish blocks.
pub fn blocks(text: &str) -> Vec<Block> {
    let mut done: Vec<Block> = Vec::new();
    // Open blocks, outermost first. Only an admonish block can contain further blocks: inside any
    // other block, a line that looks like a fence is text.
    let mut open: Vec<Block> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if let Some((_, f, info)) = fence(line) {
            if let Some(top) = open.last() {
                let closes = info.is_empty()
                    && f.starts_with(&top.fence[..1])
                    && f.len() >= top.fence.len();
                if closes {
                    let mut b = open.pop().expect("an open block");
                    b.closed = true;
                    if let Some(parent) = open.last_mut() {
                        // The nested block's lines belong to the parent's body too.
                        parent.body.extend(b.body.iter().cloned());
                        parent.body.push(line.to_string());
                    }
                    done.push(b);
                    continue;
                }
            }
            let can_open = open.last().is_none_or(|top| top.lang() == "admonish");
            if can_open {
                if let Some(parent) = open.last_mut() {
                    parent.body.push(line.to_string());
                }
                let in_admonish = !open.is_empty();
                open.push(Block {
                    line: n,
                    fence: f,
                    info,
                    body: Vec::new(),
                    in_admonish,
                    closed: false,
                });
                continue;
            }
        }
        if let Some(top) = open.last_mut() {
            top.body.push(line.to_string());
        }
    }
    done.extend(open.drain(..).rev());
    done.sort_by_key(|b| b.line);
    done
}

/// The markdown files of the book: every `.md` under `src/` (skeptic's `.skt.md` templates
/// excluded), sorted, as paths relative to `root`.
pub fn book_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(root, &root.join("src"), &mut out);
    out.sort();
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "md")
            && !path.to_string_lossy().ends_with(".skt.md")
        {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
}

/// The markdown files whose rust blocks are tested: the book's, then the README's and
/// CONTRIBUTING's.
pub fn tested_files(root: &Path) -> Vec<PathBuf> {
    let mut files = book_files(root);
    for extra in ["README.md", "CONTRIBUTING.md"] {
        if root.join(extra).exists() {
            files.push(PathBuf::from(extra));
        }
    }
    files
}

/// A Rust identifier made from a file's path: `src/part2/06a-first.md` -> `part2_06a_first`.
pub fn module_name(path: &Path) -> String {
    let s = path.to_string_lossy();
    let s = s.strip_prefix("src/").unwrap_or(&s);
    let s = s.strip_suffix(".md").unwrap_or(s);
    let mut name: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    while name.contains("__") {
        name = name.replace("__", "_");
    }
    let name = name.trim_matches('_').to_string();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("ch_{name}")
    } else {
        name
    }
}
