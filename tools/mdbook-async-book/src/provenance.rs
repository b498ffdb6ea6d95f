//! The footer of every page: which rustc, tokio and futures the book's snippets were tested with,
//! read when the book is built from `Cargo.lock` and `rustc --version`, never typed by hand.
//!
//! Shared by the preprocessor binary (`main.rs`) and by the book's tests, which build the book with
//! mdBook as a library (`tests/support/mod.rs`).

use std::path::Path;
use std::process::Command;

/// The versions a page names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// `rustc --version` without the leading `rustc `: "1.95.0 (59807616e 2026-04-14)".
    pub rustc: String,
    pub tokio: String,
    pub futures: String,
}

/// The version of `package` that a `Cargo.lock` records (the first, if it records several).
pub fn locked_version(lock: &str, package: &str) -> Option<String> {
    let wanted = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim().strip_prefix("version = \"")?.strip_suffix('"')?;
            return Some(version.to_string());
        }
    }
    None
}

/// Read the versions for the book whose root (the folder of `book.toml` and `Cargo.lock`) is `root`.
pub fn read(root: &Path) -> Result<Provenance, String> {
    let lock_path = root.join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path)
        .map_err(|e| format!("{}: cannot be read ({e}); the page footers name the versions it locks", lock_path.display()))?;
    let locked = |name: &str| {
        locked_version(&lock, name).ok_or_else(|| format!("{}: locks no `{name}` package", lock_path.display()))
    };
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let out = Command::new(&rustc)
        .arg("--version")
        .output()
        .map_err(|e| format!("`{rustc} --version` could not be run ({e}); the page footers name the compiler"))?;
    if !out.status.success() {
        return Err(format!("`{rustc} --version` failed; the page footers name the compiler"));
    }
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let rustc = version.strip_prefix("rustc ").unwrap_or(&version).to_string();
    Ok(Provenance { rustc, tokio: locked("tokio")?, futures: locked("futures")? })
}

/// The footer's HTML.
pub fn footer(p: &Provenance) -> String {
    format!(
        "<footer class=\"provenance\">The programs on this page are tested with rustc {}, tokio {} and futures {}.</footer>",
        p.rustc, p.tokio, p.futures
    )
}

/// A chapter's markdown with the footer at its end.
pub fn with_footer(content: &str, footer: &str) -> String {
    let mut out = content.trim_end().to_string();
    out.push_str("\n\n");
    out.push_str(footer);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_locked_version() {
        let lock = "[[package]]\nname = \"tokio\"\nversion = \"1.54.1\"\n\n[[package]]\nname = \"tokio-macros\"\nversion = \"2.7.2\"\n";
        assert_eq!(locked_version(lock, "tokio").as_deref(), Some("1.54.1"));
        assert_eq!(locked_version(lock, "tokio-macros").as_deref(), Some("2.7.2"));
        assert_eq!(locked_version(lock, "futures"), None);
    }
}
