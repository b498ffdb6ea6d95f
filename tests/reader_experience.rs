//! The reading experience, checked in headless Chromium against the built book served on
//! 127.0.0.1: diagrams in every theme, page weight, the Run, copy and edit features of the code
//! blocks, search, the print page, navigation, accessibility, and the offline copy.
//!
//! The browser is driven by `tests/browser/reader.mjs` (node + playwright-core, using the system's
//! Chromium: nothing is downloaded but the npm package, installed with `npm ci` when missing). The
//! script only reports what it saw, as JSON; the assertions are here. No request leaves the machine:
//! every request to another host is refused and must not happen, except the Rust Playground's,
//! which is faked and inspected.
//!
//! With `CI=true` a missing Chromium, node or npm package is a failure; elsewhere these tests skip
//! with a message. Screenshots for review are left in `target/reader-experience/screenshots/`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use support::markdown::{self, Block};

// ---- the book, served ---------------------------------------------------------------------------

/// Serve `root` on 127.0.0.1 with an ephemeral port, as a static host configured for mdBook does:
/// files by path, `index.html` for a folder, the book's 404 page (status 404) for anything else.
fn serve(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || {
                let _ = respond(&root, stream);
            });
        }
    });
    format!("http://{addr}/")
}

fn respond(root: &Path, mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request)? == 0 {
            return Ok(());
        }
        // Skip the headers.
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
                break;
            }
        }
        let mut parts = request.split_whitespace();
        let method = parts.next().unwrap_or("");
        let target = parts.next().unwrap_or("/");
        let path = target.split(['?', '#']).next().unwrap_or("/");
        let path = support::percent_decode(path);
        let mut file = None;
        if !path.split('/').any(|c| c == "..") {
            let mut candidate = root.join(path.trim_start_matches('/'));
            if candidate.is_dir() {
                candidate = candidate.join("index.html");
            }
            if candidate.is_file() {
                file = Some(candidate);
            }
        }
        let (status, body, kind) = match (method, file) {
            ("GET" | "HEAD", Some(f)) => ("200 OK", std::fs::read(&f)?, content_type(&f)),
            ("GET" | "HEAD", None) => (
                "404 Not Found",
                std::fs::read(root.join("404.html")).unwrap_or_default(),
                "text/html; charset=utf-8",
            ),
            _ => ("405 Method Not Allowed", Vec::new(), "text/plain"),
        };
        write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\r\n",
            body.len()
        )?;
        if method != "HEAD" {
            stream.write_all(&body)?;
        }
        stream.flush()?;
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "eot" => "application/vnd.ms-fontobject",
        _ => "application/octet-stream",
    }
}

/// The book built once for this test binary, served once.
fn book_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| serve(support::built_book().to_path_buf()))
}

// ---- the browser driver -------------------------------------------------------------------------

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn driver_dir() -> PathBuf {
    support::root().join("tests/browser")
}

/// The output folder for screenshots and figures.
fn out_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe.ancestors().nth(3).map(Path::to_path_buf).unwrap_or_else(|| support::root().join("target"));
    target.join("reader-experience")
}

/// Whether to run these checks: always under CI (`CI=true`); on a contributor's machine only when
/// asked with `READER_TESTS=1`, because they take a minute or two of browser time and the
/// edit-and-test loop should stay fast. (tests/browser.rs, a few seconds, always runs.)
fn wanted() -> bool {
    static SAID: std::sync::Once = std::sync::Once::new();
    let wanted = ci() || std::env::var("READER_TESTS").is_ok_and(|v| v == "1" || v == "true");
    if !wanted {
        SAID.call_once(|| {
            eprintln!(
                "SKIPPED: the reader-experience checks in Chromium (about 100 s) run under CI=true, \
                 or here with READER_TESTS=1 cargo test --test reader_experience"
            )
        });
    }
    wanted
}

/// Chromium, node and the driver's npm package, or None (a skip, with a message) outside CI.
fn driver() -> Option<PathBuf> {
    static READY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    if !wanted() {
        return None;
    }
    let chrome = support::chromium()?;
    let ready = READY.get_or_init(|| {
        let node = Command::new("node").arg("--version").output();
        if !node.is_ok_and(|o| o.status.success()) {
            return Err("no `node` on PATH (Debian: `apt-get install nodejs npm`)".into());
        }
        if !driver_dir().join("node_modules/playwright-core/package.json").is_file() {
            // Only the npm package: PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD, the system's Chromium is used.
            let mut npm = Command::new("npm");
            npm.args(["ci", "--no-audit", "--no-fund"])
                .current_dir(driver_dir())
                .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
            match support::run_with_timeout(npm, Duration::from_secs(300)) {
                Ok(o) if o.status.success() => {}
                Ok(o) => {
                    return Err(format!(
                        "`npm ci` in tests/browser failed: {}",
                        String::from_utf8_lossy(&o.stderr)
                    ))
                }
                Err(e) => return Err(format!("`npm ci` in tests/browser: {e}")),
            }
        }
        Ok(chrome.clone())
    });
    match ready {
        Ok(chrome) => Some(chrome.clone()),
        Err(e) if ci() => panic!("CI=true but the browser driver is not ready: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: {e}; the reader-experience checks did not run.");
            None
        }
    }
}

/// Run one scenario of tests/browser/reader.mjs against `base` and return what it saw. Scenarios
/// run one at a time: the machine may have only two cores.
fn scenario(name: &str, base: &str, env: &[(&str, String)]) -> Value {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let chrome = driver().expect("checked by the caller");
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cmd = Command::new("node");
    cmd.arg(driver_dir().join("reader.mjs"))
        .arg(name)
        .arg(base)
        .arg(out_dir())
        .current_dir(driver_dir())
        .env("CHROMIUM", &chrome);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = support::run_with_timeout(cmd, Duration::from_secs(600))
        .unwrap_or_else(|e| panic!("scenario {name}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or("");
    let value: Value = serde_json::from_str(last).unwrap_or_else(|e| {
        panic!(
            "scenario {name}: no result ({e})\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    if let Some(err) = value.get("error") {
        panic!("scenario {name} failed in the browser: {}", err.as_str().unwrap_or(""));
    }
    let external = value["external"].as_array().cloned().unwrap_or_default();
    assert!(
        external.is_empty(),
        "scenario {name}: the pages asked for {} resource(s) from other hosts: {external:?}",
        external.len()
    );
    value
}

fn report(what: &str, problems: Vec<String>) {
    assert!(problems.is_empty(), "{what}: {} problem(s)\n  {}", problems.len(), problems.join("\n  "));
}

fn chapters() -> Vec<String> {
    support::summary_entries().into_iter().map(|(_, c)| c).collect()
}

fn html_of(chapter: &str) -> String {
    chapter.trim_end_matches(".md").to_string() + ".html"
}

fn mermaid_count(chapter: &str) -> usize {
    let md = support::read(&Path::new("src").join(chapter));
    markdown::blocks(&md).iter().filter(|b| b.lang() == "mermaid").count()
}

// ---- the checks ---------------------------------------------------------------------------------

/// Each diagram of two pages that hold all four kinds (flowchart, sequence, gantt, state) is an SVG
/// in all five themes, and every label has a contrast of at least 4.5:1 with what is painted under
/// it. Picking another theme recolours the diagrams (their colours are CSS custom properties)
/// without a reload.
#[test]
fn diagrams_render_legibly_in_every_theme_and_follow_theme_switches() {
    if driver().is_none() {
        return;
    }
    let seen = scenario("diagrams", book_url(), &[]);
    let mut problems = Vec::new();
    for theme in ["light", "rust", "coal", "navy", "ayu"] {
        for (page, facts) in seen["themes"][theme].as_object().expect("per page") {
            let chapter = page.trim_end_matches(".html").to_string() + ".md";
            let want = mermaid_count(&chapter);
            let diagrams = facts["diagrams"].as_array().unwrap();
            if facts["state"] != "rendered" || diagrams.len() != want {
                problems.push(format!(
                    "{theme}: {page}: state {}, {} diagram(s) on the page, {want} in src/{chapter}",
                    facts["state"],
                    diagrams.len()
                ));
            }
            if !facts["htmlClass"].as_str().unwrap_or("").split(' ').any(|c| c == theme) {
                problems.push(format!("{theme}: {page}: the page is not in the {theme} theme: {}", facts["htmlClass"]));
            }
            for d in diagrams {
                let at = format!("{theme}: {page}: diagram {}", d["index"]);
                if d["svg"] != true {
                    problems.push(format!("{at}: not rendered to SVG"));
                    continue;
                }
                if d["width"].as_f64().unwrap_or(0.0) < 100.0 {
                    problems.push(format!("{at}: only {}px wide", d["width"]));
                }
                if d["texts"].as_u64().unwrap_or(0) == 0 {
                    problems.push(format!("{at}: no visible text"));
                } else if d["worst"].as_f64().unwrap_or(0.0) < 4.5 {
                    problems.push(format!(
                        "{at}: the label `{}` has a contrast of {}:1 (under 4.5:1)",
                        d["worstText"].as_str().unwrap_or(""),
                        d["worst"]
                    ));
                }
            }
        }
    }
    let switch = &seen["switch"];
    if switch["sameDocument"] != true || switch["backSameDocument"] != true {
        problems.push("switching theme reloaded the page".into());
    }
    if switch["theme"] != "navy" || switch["back"] != "rust" {
        problems.push(format!(
            "after picking navy then rust the diagrams were drawn for {} then {}",
            switch["theme"], switch["back"]
        ));
    }
    let fills = |v: &Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|d| d["fills"].to_string()).collect()
    };
    if fills(&switch["before"]) == fills(&switch["after"]) {
        problems.push(format!("the diagrams kept their colours after a switch to navy: {:?}", fills(&switch["after"])));
    }
    if switch["after"].as_array().unwrap().iter().any(|d| d["svg"] != true || d["worst"].as_f64().unwrap_or(0.0) < 4.5) {
        problems.push(format!("after the switch to navy: {}", switch["after"]));
    }
    report("diagrams", problems);
}

/// With JavaScript disabled, the diagrams are still there: every diagram of two pages that hold
/// all four kinds is an SVG in the page, at least 100 px wide, with every label at 4.5:1 contrast,
/// for a reader who prefers light and one who prefers dark (mdBook then shows its coal colours).
#[test]
fn diagrams_are_visible_with_javascript_disabled() {
    if driver().is_none() {
        return;
    }
    let seen = scenario("nojs", book_url(), &[]);
    let mut problems = Vec::new();
    for scheme in ["light", "dark"] {
        for (page, facts) in seen["schemes"][scheme].as_object().expect("per page") {
            let chapter = page.trim_end_matches(".html").to_string() + ".md";
            let want = mermaid_count(&chapter);
            let diagrams = facts["diagrams"].as_array().unwrap();
            if facts["scriptsRan"] != false {
                problems.push(format!("{scheme}: {page}: the page's scripts ran"));
            }
            if facts["state"] != "rendered" || diagrams.len() != want {
                problems.push(format!("{scheme}: {page}: state {}, {} diagram(s), {want} in src/{chapter}", facts["state"], diagrams.len()));
            }
            for d in diagrams {
                let at = format!("{scheme}: {page}: diagram {} ({})", d["index"], d["kind"]);
                if d["svg"] != true || d["width"].as_f64().unwrap_or(0.0) < 100.0 {
                    problems.push(format!("{at}: not drawn, or only {}px wide", d["width"]));
                } else if d["texts"].as_u64().unwrap_or(0) == 0 {
                    problems.push(format!("{at}: no visible text"));
                } else if d["worst"].as_f64().unwrap_or(0.0) < 4.5 {
                    problems.push(format!("{at}: the label `{}` has a contrast of {}:1", d["worstText"].as_str().unwrap_or(""), d["worst"]));
                }
            }
        }
    }
    report("diagrams without JavaScript", problems);
}

/// No page fetches a diagram script: the diagrams are SVGs in the page, drawn when the book was
/// built, on every page that has one, at any depth. Then scripts/page-weight.py: a page without a
/// diagram weighs at most 110% of the same page built by plain mdBook, a chapter with diagrams at
/// most 130%.
#[test]
fn no_page_loads_a_diagram_script_and_pages_stay_light() {
    if driver().is_none() {
        return;
    }
    let seen = scenario("weight", book_url(), &[]);
    let mut problems = Vec::new();
    for (page, facts) in seen["pages"].as_object().unwrap() {
        let responses = facts["responses"].as_array().unwrap();
        let mermaid: Vec<&Value> =
            responses.iter().filter(|r| r["url"].as_str().unwrap_or("").contains("mermaid")).collect();
        let failed: Vec<String> = responses
            .iter()
            .filter(|r| r["type"] != "document" && r["status"].as_u64().unwrap_or(0) >= 400)
            .map(|r| format!("{} {}", r["status"], r["url"]))
            .collect();
        if !failed.is_empty() {
            problems.push(format!("{page}: failed requests: {failed:?}"));
        }
        if !mermaid.is_empty() {
            problems.push(format!("{page}: fetched {mermaid:?}"));
        }
        if facts["hasDiagram"] == true && facts["diagrams"] != "rendered" {
            problems.push(format!("{page}: diagrams {}", facts["diagrams"]));
        }
    }
    let missing = &seen["pages"]["no/such/page.html"];
    if missing["status"] != 404 || missing["title"].as_str().unwrap_or("").is_empty() {
        problems.push(format!("an unknown page: status {}, title {}", missing["status"], missing["title"]));
    }
    if !missing["bodyFont"].as_str().unwrap_or("").contains("Open Sans") {
        problems.push(format!("the 404 page at depth 2 lost its styles: font {}", missing["bodyFont"]));
    }
    report("what pages fetch", problems);

    // The figures, against the same book built by plain mdBook (no plugins, default settings).
    let plain = out_dir().join("plain-mdbook");
    build_plain_book(&plain);
    let figures = out_dir().join("page-weight.json");
    let mut cmd = Command::new("python3");
    cmd.arg(support::root().join("scripts/page-weight.py"))
        .args(["--site".as_ref(), support::built_book().as_os_str()])
        .args(["--plain".as_ref(), plain.as_os_str()])
        .args(["--pages", "404.html,introduction.html,part2/06c-running-many-tasks.html"])
        .args(["--json".as_ref(), figures.as_os_str()])
        .env("CHROMIUM", driver().unwrap());
    let out = support::run_with_timeout(cmd, Duration::from_secs(600)).expect("scripts/page-weight.py");
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "scripts/page-weight.py: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: Value = serde_json::from_str(&std::fs::read_to_string(&figures).unwrap()).unwrap();
    let ratio = figures["404.html"]["ratio"].as_f64().expect("a ratio for 404.html");
    assert!(ratio <= 1.10, "404.html weighs {:.0}% of plain mdBook's", ratio * 100.0);
    for page in ["introduction.html", "part2/06c-running-many-tasks.html"] {
        let ratio = figures[page]["ratio"].as_f64().unwrap_or_else(|| panic!("a ratio for {page}"));
        assert!(figures[page]["diagram"] == true, "{page}: no diagram found in the page");
        assert!(ratio <= 1.30, "{page} (with diagrams) weighs {:.0}% of plain mdBook's", ratio * 100.0);
    }
}

/// The same markdown built by mdBook alone, with its default theme and settings.
fn build_plain_book(dest: &Path) {
    let _ = std::fs::remove_dir_all(dest);
    let toml = format!(
        "[book]\ntitle = \"Async Rust: From First Principles to Production\"\nsrc = \"src\"\n[build]\ncreate-missing = false\nbuild-dir = {:?}\n",
        dest.display().to_string()
    );
    let config: mdbook::Config = toml.parse().expect("a plain configuration");
    let book = mdbook::MDBook::load_with_config(support::root(), config).expect("the plain book loads");
    book.build().expect("the plain book builds");
}

/// On pages with hidden lines, every Run button sends the complete program (hidden lines
/// included, as the tests compile it) with edition 2024, the Playground link opens it, and every
/// copy button copies it (mdBook's own copy drops the hidden lines).
#[test]
fn run_and_copy_use_the_complete_program() {
    if driver().is_none() {
        return;
    }
    let mut problems = Vec::new();
    let mut checked = 0;
    for chapter in ["part2/06a-first-async-program.md", "part1/04-async-fundamentals.md"] {
        let md = support::read(&Path::new("src").join(chapter));
        let blocks = markdown::blocks(&md);
        let expected: Vec<&Block> = blocks.iter().filter(|b| support::has_run_button(b)).collect();
        assert!(
            expected.iter().any(|b| b.body.iter().any(|l| l.trim_start().starts_with("# "))),
            "src/{chapter} was picked for its hidden lines, and has none any more: pick another chapter"
        );
        let seen = scenario("run", book_url(), &[("PAGE", html_of(chapter))]);
        let shown = seen["blocks"].as_array().unwrap();
        if shown.len() != expected.len() {
            problems.push(format!("src/{chapter}: {} runnable block(s), {} on the page", expected.len(), shown.len()));
            continue;
        }
        if seen["crateRequests"].as_u64() != Some(1) {
            problems.push(format!("src/{chapter}: {} request(s) for the Playground's crate list", seen["crateRequests"]));
        }
        for (b, facts) in expected.iter().zip(shown) {
            let at = format!("src/{chapter}:{}", b.line);
            let program = b.program();
            let no_run = b.has_attr("no_run");
            if facts["playVisible"] == no_run {
                problems.push(format!("{at}: Run button shown: {} (no_run: {no_run})", facts["playVisible"]));
            }
            if !no_run {
                let req = &facts["request"];
                if req["edition"] != "2024" {
                    problems.push(format!("{at}: Run asked for edition {}", req["edition"]));
                }
                if !support::same_program(req["code"].as_str().unwrap_or(""), &program) {
                    problems.push(format!(
                        "{at}: Run sent another program\n--- sent\n{}\n--- tested\n{program}",
                        req["code"].as_str().unwrap_or("(nothing)")
                    ));
                }
            }
            // The Playground link opens the same program (tests/browser.rs checks every page).
            if !b.has_attr("compile_fail") {
                let link = facts["link"].as_str().unwrap_or("");
                let query = link.split_once('?').map(|(_, q)| q).unwrap_or("");
                let param = |k: &str| {
                    query.split('&').find_map(|kv| kv.strip_prefix(&format!("{k}="))).map(support::query_decode)
                };
                if param("edition").as_deref() != Some("2024")
                    || !support::same_program(&param("code").unwrap_or_default(), &program)
                {
                    problems.push(format!("{at}: the Playground link does not open the tested program: {link}"));
                }
            }
            let copied = facts["copied"].as_str().unwrap_or("(no copy button)");
            if !support::same_program(copied, &program) {
                problems.push(format!("{at}: the copy button copied another program\n--- copied\n{copied}\n--- tested\n{program}"));
            }
            checked += 1;
        }
    }
    report("Run and copy", problems);
    eprintln!("checked Run and copy on {checked} blocks");
}

/// An edited snippet survives a reload (localStorage); Run and the Playground link use the edit;
/// the reset button, visible and named, brings back the book's version for good. The arrow keys
/// move the caret while editing instead of turning the page.
#[test]
fn edits_survive_a_reload_and_can_be_reset() {
    if driver().is_none() {
        return;
    }
    let chapter = "part2/06a-first-async-program.md";
    let seen = scenario("edits", book_url(), &[("PAGE", html_of(chapter))]);
    let md = support::read(&Path::new("src").join(chapter));
    let blocks = markdown::blocks(&md);
    let first = blocks.iter().find(|b| support::has_run_button(b)).expect("a runnable block").program();
    let original = seen["original"].as_str().unwrap();
    let mut problems = Vec::new();
    let check = |ok: bool, what: String, problems: &mut Vec<String>| {
        if !ok {
            problems.push(what);
        }
    };
    check(support::same_program(original, &first), format!("the first block is not the tested program:\n{original}"), &mut problems);
    check(seen["editLabel"] == "Edit this program", format!("edit button's aria-label: {}", seen["editLabel"]), &mut problems);
    check(seen["resetHiddenBefore"] == true, "a reset button shows before any edit".into(), &mut problems);
    check(
        seen["editable"] == "plaintext-only" || seen["editable"] == "true",
        format!("after Edit, contenteditable={}", seen["editable"]),
        &mut problems,
    );
    let edited = seen["edited"].as_str().unwrap_or("");
    check(edited.trim_end().ends_with("// edited by the reader"), format!("the edit did not take:\n{edited}"), &mut problems);
    check(
        support::same_program(edited.trim_end().trim_end_matches("// edited by the reader"), &first),
        format!("editing starts from the complete program (hidden lines included):\n{edited}"),
        &mut problems,
    );
    check(seen["stayedOnPage"] == true, "arrow keys in the editor turned the page".into(), &mut problems);
    check(seen["afterReload"].as_str() == Some(edited), format!("after a reload the block shows:\n{}", seen["afterReload"]), &mut problems);
    check(seen["resetVisible"] == true, "after a reload the edited block shows no reset button".into(), &mut problems);
    check(
        seen["resetLabel"].as_str().is_some_and(|l| l.to_lowercase().contains("reset")),
        format!("reset button's aria-label: {}", seen["resetLabel"]),
        &mut problems,
    );
    check(
        seen["status"].as_str().is_some_and(|s| s.contains("Edited")),
        format!("no visible note that the block is edited: {}", seen["status"]),
        &mut problems,
    );
    let link = seen["linkAfterReload"].as_str().unwrap_or("");
    check(link.contains("edited+by+the+reader"), format!("the Playground link does not carry the edit: {link}"), &mut problems);
    let run = &seen["runAfterReload"];
    check(
        run["code"].as_str() == Some(edited) && run["edition"] == "2024",
        format!("Run after the reload sent {run}"),
        &mut problems,
    );
    check(support::same_program(seen["afterReset"].as_str().unwrap_or(""), &first), format!("after reset: {}", seen["afterReset"]), &mut problems);
    check(seen["editableAfterReset"].is_null(), "after reset the block is still being edited".into(), &mut problems);
    check(seen["storedAfterReset"] == 0, format!("{} edit(s) still stored after reset", seen["storedAfterReset"]), &mut problems);
    check(
        support::same_program(seen["afterResetReload"].as_str().unwrap_or(""), &first),
        format!("after reset and reload: {}", seen["afterResetReload"]),
        &mut problems,
    );
    report("edits", problems);
}

/// Search finds the key terms: the chapter that teaches each one is among the first three results
/// (a reference page such as the quick reference may come first), and following that result lands
/// on the chapter with the term highlighted.
#[test]
fn search_finds_the_chapter_that_teaches_the_term() {
    if driver().is_none() {
        return;
    }
    // The chapters that teach each term.
    let terms = serde_json::json!({
        "Waker": ["part1/05-the-event-loop.html"],
        "select!": ["part2/06c-running-many-tasks.html"],
        "spawn_blocking": ["part2/06b-understanding-await.html", "part2/06f-async-vs-threads-vs-processes.html"],
        "CancellationToken": ["part2/06c-running-many-tasks.html", "part2/06g-production-patterns.html"],
        "LinesCodec": ["part3/10-async-io-and-protocols.html"],
        "turmoil": ["part3/11-testing-async-code.html"],
        "consume_budget": ["part3/12-inside-the-runtime.html", "part2/06d-common-bugs-and-debugging.html", "part1/05-the-event-loop.html"],
    });
    let seen = scenario("search", book_url(), &[("TERMS", terms.to_string())]);
    let mut problems = Vec::new();
    for (term, teaching) in terms.as_object().unwrap() {
        let facts = &seen["terms"][term];
        let rank = facts["rank"].as_i64().unwrap_or(-1);
        if !(0..3).contains(&rank) {
            problems.push(format!("`{term}`: none of {teaching} in the first three results: {}", facts["hits"]));
            continue;
        }
        let landed = facts["landed"].as_str().unwrap_or("(nowhere)");
        if !teaching.as_array().unwrap().iter().any(|t| t == landed) {
            problems.push(format!("`{term}`: following the result landed on {landed}"));
        } else if facts["marked"].as_u64().unwrap_or(0) == 0 {
            problems.push(format!("`{term}`: {landed} does not highlight the term"));
        }
        eprintln!("`{term}`: result {} of {}, {landed}", rank + 1, facts["hits"]);
    }
    report("search", problems);
}

/// print.html holds every chapter, and every diagram of the book drawn (they are in the page: the
/// print dialog it opens on load has them), each within the printed column.
#[test]
fn print_page_holds_every_chapter_with_its_diagrams() {
    if driver().is_none() {
        return;
    }
    let seen = scenario("print", book_url(), &[]);
    let mut problems = Vec::new();
    let want: usize = chapters().iter().map(|c| mermaid_count(c)).sum();
    if seen["diagrams"].as_u64() != Some(want as u64) || seen["rendered"].as_u64() != Some(want as u64) {
        problems.push(format!(
            "{} diagram(s) in print.html, {} rendered, {want} in the chapters (state {})",
            seen["diagrams"], seen["rendered"], seen["state"]
        ));
    }
    let text = seen["text"].as_str().unwrap_or("");
    for chapter in chapters() {
        let md = support::read(&Path::new("src").join(&chapter));
        let title = md.lines().find_map(|l| l.strip_prefix("# ")).unwrap_or("").replace('`', "");
        if title.is_empty() || !text.contains(title.trim()) {
            problems.push(format!("print.html lacks src/{chapter} (`{title}`)"));
        }
    }
    if seen["printed"] != serde_json::json!(["rendered"]) {
        problems.push(format!(
            "print.html should open the print dialog once, after its diagrams are drawn; it did when they were: {}",
            seen["printed"]
        ));
    }
    for (i, d) in seen["printDiagrams"].as_array().into_iter().flatten().enumerate() {
        let (w, h, parent) = (d["width"].as_f64().unwrap_or(0.0), d["height"].as_f64().unwrap_or(0.0), d["parent"].as_f64().unwrap_or(0.0));
        if w < 50.0 || h < 20.0 || w > parent + 1.0 {
            problems.push(format!("print.html, printed: diagram {i} is {w}x{h}px in a {parent}px column"));
        }
    }
    if let Some(shown) = seen["printHidden"].as_array().filter(|a| !a.is_empty()) {
        problems.push(format!("when printed, the page still shows {shown:?}"));
    }
    report("print.html", problems);
}

/// The 404 page, an edit link per page naming its own file, arrow keys between chapters, an
/// accessible name on every control a reader can operate (an aria-label on every button we add),
/// and callouts readable in every theme (text at least 4.5:1 against its background).
#[test]
fn navigation_edit_links_accessible_names_and_readable_callouts() {
    if driver().is_none() {
        return;
    }
    let pages: Vec<String> = chapters().iter().map(|c| html_of(c)).collect();
    // Pages whose callouts and output blocks are checked in every theme: output blocks with and
    // without `[..]`, a should_panic and a compile_fail block among them.
    let output_pages = ["part2/06c-running-many-tasks.md", "introduction.md", "part1/03-concurrency-vs-parallelism.md"];
    let (mut want_outputs, mut want_varies) = (0, 0);
    for md in output_pages {
        for b in markdown::blocks(&support::read(&Path::new("src").join(md))).iter().filter(|b| b.is_output()) {
            want_outputs += 1;
            want_varies += markdown::output_text(b).matches("[..]").count();
        }
    }
    let output_html: Vec<String> = output_pages.iter().map(|c| html_of(c)).collect();
    let seen = scenario(
        "navigation",
        book_url(),
        &[
            ("PAGES", serde_json::to_string(&pages).unwrap()),
            ("OUTPUT_PAGES", serde_json::to_string(&output_html).unwrap()),
        ],
    );
    let mut problems = Vec::new();
    let entries = chapters();
    let second = html_of(&entries[1]);
    if seen["afterRight"] != second.as_str() || seen["afterLeft"] != "introduction.html" {
        problems.push(format!(
            "from introduction.html, → went to {} (want {second}) and ← back to {}",
            seen["afterRight"], seen["afterLeft"]
        ));
    }
    let focus = &seen["focus"];
    if focus["focused"] != true || focus["opacity"] != "1" {
        problems.push(format!("a code block's buttons cannot take the keyboard focus, or stay invisible with it: {focus}"));
    }
    for chapter in &entries {
        let rel = html_of(chapter);
        let facts = &seen["pages"][&rel];
        let want = format!("https://github.com/async-rust-book/async-rust-book/edit/main/src/{chapter}");
        if facts["edit"] != want.as_str() {
            problems.push(format!("{rel}: edit link {} (want {want})", facts["edit"]));
        }
        if facts["editLabel"].as_str().unwrap_or("").is_empty() {
            problems.push(format!("{rel}: the edit link has no accessible name"));
        }
        for list in ["unnamed", "oursWithoutAriaLabel"] {
            if let Some(items) = facts[list].as_array().filter(|a| !a.is_empty()) {
                problems.push(format!("{rel}: controls without a name ({list}): {items:?}"));
            }
        }
        if facts["editButtons"] != facts["playgrounds"] {
            problems.push(format!("{rel}: {} runnable block(s), {} edit button(s)", facts["playgrounds"], facts["editButtons"]));
        }
    }
    let nf = &seen["notFound"];
    if nf["status"] != 404 || nf["h1"] != "Page not found" || nf["styled"] != "fixed" {
        problems.push(format!("the 404 page at depth 2: {nf}"));
    }
    if nf["firstLinkStatus"] != 200 {
        problems.push(format!("the 404 page's first link does not resolve: {nf}"));
    }
    for (theme, callouts) in seen["callouts"].as_object().unwrap() {
        let callouts = callouts.as_array().unwrap();
        if callouts.is_empty() {
            problems.push(format!("{theme}: no callout found to check"));
        }
        for c in callouts {
            for part in ["title", "body"] {
                if let Some(r) = c[part].as_f64() {
                    if r < 4.5 {
                        problems.push(format!("{theme}: {}: a `{}` callout's {part} has a contrast of {r}:1", c["page"], c["kind"]));
                    }
                }
            }
        }
    }
    for (theme, outputs) in seen["outputs"].as_object().unwrap() {
        let outputs = outputs.as_array().unwrap();
        if outputs.len() != want_outputs {
            problems.push(format!("{theme}: {} output panels on {output_pages:?}, their markdown has {want_outputs}", outputs.len()));
        }
        let varies: u64 = outputs.iter().map(|o| o["varies"].as_u64().unwrap_or(0)).sum();
        if varies != want_varies as u64 || want_varies == 0 {
            problems.push(format!("{theme}: {varies} \"varies\" marks, for {want_varies} `[..]` in the markdown"));
        }
        for o in outputs {
            if o["label"] != "\"Output\"" {
                problems.push(format!("{theme}: {}: an output block without its \"Output\" label ({})", o["page"], o["label"]));
            }
            for part in ["labelRatio", "text"] {
                if o[part].as_f64().is_none_or(|r| r < 4.5) {
                    problems.push(format!("{theme}: {}: an output block's {part} has a contrast of {}:1", o["page"], o[part]));
                }
            }
            if o["wildcardsLeft"] != 0 {
                problems.push(format!("{theme}: {}: `[..]` left in an output block instead of a \"varies\" mark", o["page"]));
            }
        }
    }
    report("navigation and accessibility", problems);
}

/// Packs the built book with scripts/package-offline.sh into `work`, as a reader would, and
/// unpacks the archive there; returns the folder it was unpacked into.
fn unpacked_offline_copy(work: &Path) -> PathBuf {
    let zip = work.join("book.zip");
    let mut cmd = Command::new("bash");
    cmd.arg(support::root().join("scripts/package-offline.sh"))
        .args(["--site".as_ref(), support::built_book().as_os_str()])
        .arg(&zip);
    let out = support::run_with_timeout(cmd, Duration::from_secs(300)).expect("scripts/package-offline.sh");
    assert!(
        out.status.success(),
        "scripts/package-offline.sh failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let unpacked = work.join("unpacked");
    let mut unzip = Command::new("python3");
    unzip.args(["-m", "zipfile", "-e"]).arg(&zip).arg(&unpacked);
    let out = support::run_with_timeout(unzip, Duration::from_secs(120)).expect("unzip");
    assert!(out.status.success(), "unzip: {}", String::from_utf8_lossy(&out.stderr));
    unpacked
}

/// scripts/package-offline.sh zips the book; unpacked and opened from disk (file://), pages,
/// diagrams, fonts and search work.
#[test]
fn offline_copy_works_from_disk() {
    if driver().is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let unpacked = unpacked_offline_copy(work.path());
    // The archive holds one folder, named after the book.
    let roots: Vec<PathBuf> = std::fs::read_dir(&unpacked).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(roots.len(), 1, "the archive should hold one folder, not {roots:?}");
    let root = &roots[0];
    assert!(root.join("index.html").is_file() && root.join("searchindex.js").is_file(), "{} lacks index.html or searchindex.js", root.display());
    assert!(root.join("README.txt").is_file(), "the archive has no README.txt telling how to open it");

    let base = format!("file://{}/", root.display());
    let seen = scenario("offline", &base, &[]);
    let mut problems = Vec::new();
    if seen["index"]["diagrams"] != "rendered" || seen["index"]["svgs"].as_u64().unwrap_or(0) == 0 {
        problems.push(format!("index.html from disk: {}", seen["index"]));
    }
    if seen["deep"]["diagrams"] != "rendered" || seen["deep"]["svgs"] != seen["deep"]["total"] {
        problems.push(format!("part2/06c from disk: {}", seen["deep"]));
    }
    if seen["deep"]["fontLoaded"] != true {
        problems.push("part2/06c from disk: the Open Sans font did not load".into());
    }
    let landed = seen["searchLanded"].as_str().unwrap_or("");
    if !landed.starts_with("file://") || !landed.contains("part1/05-the-event-loop.html") {
        problems.push(format!("search for Waker from disk: results {}, landed on {landed}", seen["search"]));
    }
    if let Some(errors) = seen["errors"].as_array().filter(|e| !e.is_empty()) {
        problems.push(format!("script errors: {errors:?}"));
    }
    report("offline copy", problems);
}

/// Screenshots for review, in target/reader-experience/screenshots/: three representative pages,
/// and one diagram of each kind (flowchart, sequence, gantt, state), in a light and a dark theme;
/// and a diagram with JavaScript off.
#[test]
fn screenshots_for_review() {
    if driver().is_none() {
        return;
    }
    let seen = scenario("screenshots", book_url(), &[]);
    let files = seen["files"].as_array().unwrap();
    assert_eq!(files.len(), 15, "three pages and four diagrams in two themes, and one without JavaScript: {files:?}");
    for f in files {
        let path = PathBuf::from(f.as_str().unwrap());
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let least = if path.file_name().unwrap().to_string_lossy().starts_with("diagram-") { 3_000 } else { 20_000 };
        assert!(len > least, "{}: {len} bytes, too small to show what it should", path.display());
    }
    for kind in ["flowchart", "sequence", "gantt", "state"] {
        for theme in ["light", "navy"] {
            let name = format!("diagram-{kind}-{theme}.png");
            assert!(files.iter().any(|f| f.as_str().unwrap().ends_with(&name)), "no screenshot {name}");
        }
    }
    eprintln!("screenshots in {}", out_dir().join("screenshots").display());
}

/// The pages with paired programs (`<div class="pair">`: an asyncio program beside its tokio
/// counterpart), with how many pairs each has.
fn pair_pages() -> Vec<(String, usize)> {
    chapters()
        .into_iter()
        .map(|c| {
            let md = support::read(&Path::new("src").join(&c));
            let n = md.lines().filter(|l| l.trim_start().starts_with("<div class=\"pair\"")).count();
            (html_of(&c), n)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// What the `pairs` scenario saw, against what it should: problems, each naming where.
fn pair_problems(seen: &Value, pages: &[(String, usize)], at: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let (first, first_n) = &pages[0];
    let (last, last_n) = &pages[pages.len() - 1];
    let total: usize = pages.iter().map(|(_, n)| n).sum();
    let labels = ["Python (asyncio)", "Rust (tokio)"];
    let each = |what: &str, pairs: &Value, want: usize, problems: &mut Vec<String>, ok: &dyn Fn(&Value) -> Result<(), String>| {
        let list = pairs.as_array().cloned().unwrap_or_default();
        if list.len() != want {
            problems.push(format!("{at}: {what}: {} pair(s) on the page, {want} in the markdown", list.len()));
        }
        for (i, p) in list.iter().enumerate() {
            if let Err(e) = ok(p) {
                problems.push(format!("{at}: {what}: pair {}: {e}: {p}", i + 1));
            }
        }
    };
    let showing = |lang: &'static str| {
        move |p: &Value| -> Result<(), String> {
            let tabs = p["tabs"].as_array().cloned().unwrap_or_default();
            let names: Vec<&str> = tabs.iter().map(|t| t["label"].as_str().unwrap_or("")).collect();
            if names != labels {
                return Err(format!("tabs {names:?}"));
            }
            if tabs.iter().any(|t| t["visible"] != true || t["controls"] != true) {
                return Err("a tab is hidden or controls no panel".into());
            }
            let selected: Vec<&str> = tabs.iter().filter(|t| t["selected"] == true).map(|t| t["lang"].as_str().unwrap_or("")).collect();
            if selected != [lang] {
                return Err(format!("selected {selected:?}, want {lang}"));
            }
            let (py, rs) = (p["python"] == true, p["rust"] == true);
            if (py, rs) != (lang == "python", lang == "rust") || p["outputs"] != 1 {
                return Err(format!("python shown {py}, rust shown {rs}, {} output(s) shown", p["outputs"]));
            }
            Ok(())
        }
    };
    let both = |want_labels: bool| {
        move |p: &Value| -> Result<(), String> {
            if p["python"] != true || p["rust"] != true || p["outputs"] != 2 {
                return Err("not both programs and both outputs shown".into());
            }
            if want_labels && p["labels"] != serde_json::json!(labels) {
                return Err(format!("labels {} above the programs", p["labels"]));
            }
            if want_labels && p["labelRatios"].as_array().is_none_or(|r| r.iter().any(|r| r.as_f64().is_none_or(|r| r < 4.5))) {
                return Err(format!("labels at a contrast of {}", p["labelRatios"]));
            }
            Ok(())
        }
    };
    for theme in ["light", "rust", "coal", "navy", "ayu"] {
        let t = &seen["themes"][theme];
        if !t["htmlClass"].as_str().unwrap_or("").split(' ').any(|c| c == theme) {
            problems.push(format!("{at}: {theme}: the page is not in the {theme} theme"));
        }
        each(&format!("{theme}: {first}"), &t["pairs"], *first_n, &mut problems, &|p| {
            showing("python")(p)?;
            for tab in p["tabs"].as_array().unwrap() {
                if tab["ratio"].as_f64().is_none_or(|r| r < 4.5) {
                    return Err(format!("the tab `{}` has a contrast of {}:1", tab["label"], tab["ratio"]));
                }
            }
            Ok(())
        });
    }
    each(&format!("{first} on arrival"), &seen["initial"], *first_n, &mut problems, &showing("python"));
    each(&format!("{first} after clicking Rust"), &seen["afterClick"], *first_n, &mut problems, &showing("rust"));
    if seen["stored"] != "rust" {
        problems.push(format!("{at}: the choice is not kept in localStorage: {}", seen["stored"]));
    }
    each(&format!("{last}, opened after choosing Rust"), &seen["otherPage"]["pairs"], *last_n, &mut problems, &showing("rust"));
    let key = &seen["afterKey"];
    if key["url"] != last.as_str() || key["focused"] != "python" {
        problems.push(format!("{at}: ArrowLeft on a tab: page {} (want {last}), focus on {}", key["url"], key["focused"]));
    }
    each(&format!("{last} after ArrowLeft"), &key["pairs"], *last_n, &mut problems, &showing("python"));
    each(&format!("{last} printed"), &seen["printMedia"], *last_n, &mut problems, &both(false));
    each(&format!("{first} without JavaScript"), &seen["noScript"], *first_n, &mut problems, &both(true));
    each("print.html", &seen["printPage"], total, &mut problems, &both(true));
    if let Some(errors) = seen["errors"].as_array().filter(|e| !e.is_empty()) {
        problems.push(format!("{at}: script errors: {errors:?}"));
    }
    problems
}

/// Paired programs (an asyncio program beside its tokio counterpart) are two tabs, legible in all
/// five themes; the reader's choice holds on the next page; the arrow keys move between the tabs
/// without turning the page; without JavaScript, printed, and in print.html both programs are
/// shown under their labels. The same, from the offline copy opened from disk.
#[test]
fn paired_programs_are_tabs_that_remember_the_choice() {
    if driver().is_none() {
        return;
    }
    let pages = pair_pages();
    assert!(!pages.is_empty(), "no page has a pair");
    let env = [("PAIR_PAGES", serde_json::to_string(&pages.iter().map(|(p, _)| p).collect::<Vec<_>>()).unwrap())];
    let mut problems = pair_problems(&scenario("pairs", book_url(), &env), &pages, "served");

    // The offline copy, from disk.
    let work = tempfile::tempdir().unwrap();
    let unpacked = unpacked_offline_copy(work.path());
    let root = std::fs::read_dir(&unpacked).unwrap().flatten().map(|e| e.path()).next().expect("one folder");
    let base = format!("file://{}/", root.display());
    problems.extend(pair_problems(&scenario("pairs", &base, &env), &pages, "offline"));
    report("paired programs", problems);
}
