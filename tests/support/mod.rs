//! Shared by the book checks: the markdown reader, and a build of the book with the pinned mdBook and
//! preprocessors, used as libraries so that no tool has to be installed for `cargo test`.
#![allow(dead_code)]

#[path = "../../checks/markdown.rs"]
pub mod markdown;

#[path = "../common/mod.rs"]
pub mod common;

#[path = "../../tools/mdbook-async-book/src/provenance.rs"]
pub mod provenance;
pub use common::run_with_timeout;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use mdbook::book::Book;
use mdbook::errors::Result as MdResult;
use mdbook::preprocess::{Preprocessor, PreprocessorContext};
use mdbook::{Config, MDBook};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A markdown file's text, relative to the root.
pub fn read(rel: &Path) -> String {
    std::fs::read_to_string(root().join(rel))
        .unwrap_or_else(|e| panic!("{}: cannot be read: {e}", rel.display()))
}

/// A preprocessor used as a library, handed the `[preprocessor.NAME]` table of book.toml.
///
/// The table has to be taken out of the configuration given to mdBook, or mdBook would also look
/// for the preprocessor's command (`mdbook-admonish`) and, where it is installed, run it a second
/// time.
struct Configured<P> {
    inner: P,
    table: toml::Value,
}

impl<P: Preprocessor> Preprocessor for Configured<P> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn run(&self, ctx: &PreprocessorContext, book: Book) -> MdResult<Book> {
        let mut ctx = ctx.clone();
        ctx.config
            .set(format!("preprocessor.{}", self.name()), self.table.clone())?;
        self.inner.run(&ctx, book)
    }

    fn supports_renderer(&self, renderer: &str) -> bool {
        self.inner.supports_renderer(renderer)
    }
}

/// The book's own preprocessor (`tools/mdbook-async-book`: diagrams drawn as SVG, the provenance
/// footer), run as the same binary `scripts/install-tools.sh` installs, built from its sources by
/// `cargo build --release` in its own folder. It is a program, not a module compiled into the tests,
/// because its renderer (merman) would join the book's dependency graph: cargo would then build
/// serde_json with `preserve_order` for every example and test, and every cached snippet binary
/// would be rebuilt.
struct AsyncBook {
    exe: PathBuf,
}

impl Preprocessor for AsyncBook {
    fn name(&self) -> &str {
        "async-book"
    }

    fn run(&self, ctx: &PreprocessorContext, book: Book) -> MdResult<Book> {
        use std::io::Write;
        let mut child = std::process::Command::new(&self.exe)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| mdbook::errors::Error::msg(format!("{}: {e}", self.exe.display())))?;
        let input = serde_json::to_vec(&(ctx, &book))?;
        let mut stdin = child.stdin.take().expect("piped");
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output()?;
        let _ = writer.join();
        if !out.status.success() {
            return Err(mdbook::errors::Error::msg(String::from_utf8_lossy(&out.stderr).trim().to_string()));
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    fn supports_renderer(&self, renderer: &str) -> bool {
        renderer == "html"
    }
}

/// The book's preprocessor, built (once per test binary; cargo rebuilds it only when its sources
/// changed) into `tools/mdbook-async-book/target/release/`.
pub fn async_book_preprocessor() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = root().join("tools/mdbook-async-book");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut cmd = std::process::Command::new(cargo);
            cmd.args(["build", "--release", "--locked", "--quiet"]).current_dir(&dir);
            // The test run's own cargo settings are not the tool's.
            for var in ["CARGO_TARGET_DIR", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET"] {
                cmd.env_remove(var);
            }
            let out = run_with_timeout(cmd, std::time::Duration::from_secs(1800))
                .map_err(|e| format!("building tools/mdbook-async-book: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "tools/mdbook-async-book does not build:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Ok(dir.join("target/release/mdbook-async-book"))
        })
        .clone()
}

/// Build the book into `dest` with mdBook 0.4.52, mdbook-admonish and mdbook-mermaid (the versions
/// pinned in Cargo.toml, the same as `scripts/install-tools.sh` installs) and the book's own
/// preprocessor, with the configuration of book.toml. Returns the error chain as text on failure.
pub fn build_book(dest: &Path) -> Result<(), String> {
    let root = root();
    let text = std::fs::read_to_string(root.join("book.toml")).map_err(|e| format!("book.toml: {e}"))?;
    let mut doc: toml::Table = text.parse().map_err(|e| format!("book.toml: {e}"))?;
    let mut tables = doc
        .remove("preprocessor")
        .and_then(|p| p.as_table().cloned())
        .unwrap_or_default();
    let known = ["admonish", "mermaid", "async-book"];
    if let Some(unknown) = tables.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!(
            "book.toml: [preprocessor.{unknown}] is not one of the preprocessors the tests know how to run ({known:?})"
        ));
    }
    let mut config = Config::from_str(&toml::to_string(&doc).expect("a table serializes"))
        .map_err(|e| format!("book.toml: {e}"))?;
    config.build.build_dir = dest.to_path_buf();
    let mut book = MDBook::load_with_config(&root, config).map_err(chain)?;
    if let Some(table) = tables.remove("admonish") {
        book.with_preprocessor(Configured { inner: mdbook_admonish::Admonish, table });
    }
    if let Some(table) = tables.remove("mermaid") {
        book.with_preprocessor(Configured { inner: mdbook_mermaid::Mermaid, table });
    }
    if let Some(table) = tables.remove("async-book") {
        book.with_preprocessor(Configured { inner: AsyncBook { exe: async_book_preprocessor()? }, table });
    }
    book.build().map_err(chain)
}

fn chain(e: mdbook::errors::Error) -> String {
    e.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ")
}

/// The book built once per test binary into `target/book-tests/<binary>/`, shared by its tests.
pub fn built_book() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        let name = exe.file_stem().unwrap().to_string_lossy().into_owned();
        // target/<profile>/deps/<binary> -> target/book-tests/<binary>
        let target = exe.ancestors().nth(3).map(Path::to_path_buf).unwrap_or_else(|| root().join("target"));
        let dest = target.join("book-tests").join(name);
        let _ = std::fs::remove_dir_all(&dest);
        build_book(&dest).map(|()| dest)
    });
    match built {
        Ok(dest) => dest,
        Err(e) => panic!("the book does not build: {e}"),
    }
}

/// The chapters SUMMARY.md links to, as (line, path relative to src/), drafts (`[Title]()`) left out.
pub fn summary_entries() -> Vec<(usize, String)> {
    let text = read(Path::new("src/SUMMARY.md"));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].trim();
            if !target.is_empty() {
                out.push((i + 1, target.to_string()));
            }
            rest = &after[end..];
        }
    }
    out
}

/// Is Chromium here? Under CI (`CI=true`) its absence is a failure; elsewhere the browser tests
/// skip with a message.
pub fn chromium() -> Option<PathBuf> {
    let candidates = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
    if let Ok(path) = std::env::var("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).find_map(|dir| {
            candidates.iter().map(|c| dir.join(c)).find(|p| p.is_file())
        })
    });
    if found.is_none() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(
            !ci,
            "CI=true but no Chromium was found (looked for {candidates:?} on PATH, and $CHROMIUM): \
             .ci/run installs Debian's `chromium` package"
        );
        eprintln!(
            "SKIPPED: no Chromium on this machine, so the browser checks did not run. \
             Install it (Debian: `apt-get install chromium`) or set CHROMIUM=/path/to/chrome."
        );
    }
    found
}

/// Load `page` (a file of the built book) in headless Chromium and return the DOM after its
/// scripts ran.
pub fn rendered_dom(chrome: &Path, page: &Path) -> String {
    let profile = tempfile::tempdir().expect("a temporary profile directory");
    let url = format!("file://{}", page.display());
    let mut cmd = std::process::Command::new(chrome);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .arg("--dump-dom")
    .arg(&url);
    let out = run_with_timeout(cmd, std::time::Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("chromium on {url}: {e}"));
    assert!(
        out.status.success(),
        "chromium failed on {url}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A block that gets mdBook's Run button: a rust block outside callouts, not `noplayground` or
/// `ignore`. (A `compile_fail` block has one too, to show the error; it gets no Playground link.)
pub fn has_run_button(b: &markdown::Block) -> bool {
    b.is_rust() && !b.in_admonish && !b.has_attr("noplayground") && !b.has_attr("ignore")
}

/// The longest "Open in the Rust Playground" link the book may have, in bytes. The Playground answers
/// `414 Request-URI Too Large` to a longer link (rust-lang/rust-playground#439); CloudFront, in front
/// of it, refuses URLs over 8,192 bytes, and nginx's default header buffers (4 x 8k) stop a request
/// line at about the same size. 7,000 leaves room for the request's other headers.
pub const PLAYGROUND_LINK_CEILING: usize = 7_000;

/// The program that a block's page holds, as `theme/playground-links.js` reads it: mdBook keeps the
/// indentation before a hidden line's `# ` (the tests' program drops it), writes `##` as `#`, and
/// has no newline after the last line.
pub fn page_program(b: &markdown::Block) -> String {
    let mut out = String::new();
    for (i, line) in b.body.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let indent = &line[..line.len() - line.trim_start().len()];
        let rest = line.trim_start();
        if let Some(hidden) = rest.strip_prefix("# ") {
            out.push_str(indent);
            out.push_str(hidden);
        } else if rest == "#" {
            out.push_str(indent);
        } else if let Some(literal) = rest.strip_prefix("##") {
            out.push_str(indent);
            out.push('#');
            out.push_str(literal);
        } else {
            out.push_str(line);
        }
    }
    out
}

/// A program as the query value of a Playground link, exactly as `theme/playground-links.js`
/// encodes it: encodeURIComponent, then `+` for a space and `: / , ; @ $ ?` unescaped.
pub fn playground_encode(program: &str) -> String {
    let mut out = String::new();
    for &byte in program.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => out.push(byte as char),
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')' => out.push(byte as char),
            b':' | b'/' | b',' | b';' | b'@' | b'$' | b'?' => out.push(byte as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The link the page builds for a program.
pub fn playground_url(program: &str, edition: &str) -> String {
    format!(
        "https://play.rust-lang.org/?version=stable&mode=debug&edition={edition}&code={}",
        playground_encode(program)
    )
}

/// A query value back to text, as the Playground's `qs` decodes it: `+` is a space, `%XX` a byte.
pub fn query_decode(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

/// `%XX` escapes (UTF-8) back to text.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Compare programs line by line, ignoring each line's indentation and trailing blank lines:
/// mdBook keeps the indentation before a hidden line's `# `, the tests drop it.
pub fn same_program(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s.lines().map(|l| l.trim().to_string()).collect();
        while v.last().is_some_and(|l| l.is_empty()) {
            v.pop();
        }
        v
    };
    norm(a) == norm(b)
}
