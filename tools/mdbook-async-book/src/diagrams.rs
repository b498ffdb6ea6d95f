//! Diagrams drawn when the book is built. mdbook-mermaid turns each ```` ```mermaid ```` fence into
//! `<pre class="mermaid">SOURCE</pre>`; this step, after it, replaces each such block with its
//! drawing, an inline SVG made by merman (a Rust implementation of mermaid 11), so a page carries
//! its diagrams and loads no script for them.
//!
//! Colours: each diagram is drawn once, with mermaid's "base" theme fed placeholder colours; every
//! placeholder in the SVG then becomes a CSS custom property with a light fallback,
//! `var(--diagram-box, #f1f6f8)`. `theme/book-extra.css` gives the properties their values in each
//! of mdBook's five themes, so a theme switch recolours every diagram at once, with no script and
//! no second copy of the SVG; a reader without the book's CSS (a feed reader) gets the fallbacks.
//!
//! A diagram that cannot be drawn fails the build, naming the chapter's file and the fence's line.
//!
//! Shared by the preprocessor binary (`main.rs`) and by the book's tests, which build the book with
//! mdBook as a library (`tests/support/mod.rs`).

use merman::{MermaidEngine, OperationControl, RenderOutput, RenderRequest, Renderer, SourcePresentationConfig, SvgRequest};

/// The placeholder colours the diagrams are drawn with, the custom property each one becomes, and
/// that property's fallback (the light theme's value).
///
/// The placeholders are colours no diagram uses; mermaid derives no other colour from them because
/// every colour it would derive is given explicitly in `theme_variables()`.
pub const PALETTE: &[(&str, &str, &str)] = &[
    // (placeholder, property, fallback)
    ("#010203", "--diagram-bg", "#ffffff"),
    ("#040506", "--diagram-fg", "#000000"),
    ("#070809", "--diagram-box", "#f1f6f8"),
    ("#0a0b0c", "--diagram-border", "#84888a"),
    ("#0d0e0f", "--diagram-accent", "#c0d1de"),
    ("#101112", "--diagram-soft", "#f8fbfc"),
    ("#131415", "--diagram-crit", "#f1c9ca"),
    ("#161718", "--diagram-line", "#262626"),
    ("#191a1b", "--diagram-grid", "#b3b3b3"),
    ("#1c1d1e", "--diagram-link", "#20609f"),
];

fn placeholder(property: &str) -> &'static str {
    PALETTE.iter().find(|(_, p, _)| *p == property).map(|(h, _, _)| *h).expect("a known property")
}

/// mermaid's `themeVariables`, every colour a placeholder.
fn theme_variables() -> serde_json::Value {
    let b = placeholder("--diagram-bg");
    let f = placeholder("--diagram-fg");
    let x = placeholder("--diagram-box");
    let r = placeholder("--diagram-border");
    let a = placeholder("--diagram-accent");
    let s = placeholder("--diagram-soft");
    let c = placeholder("--diagram-crit");
    let l = placeholder("--diagram-line");
    let g = placeholder("--diagram-grid");
    let k = placeholder("--diagram-link");
    let colours: &[(&str, &str)] = &[
        ("background", b), ("fontSize", "15px"), ("primaryColor", x), ("primaryTextColor", f),
        ("primaryBorderColor", r), ("secondaryColor", a), ("secondaryTextColor", f),
        ("secondaryBorderColor", r), ("tertiaryColor", s), ("tertiaryTextColor", f),
        ("tertiaryBorderColor", r), ("lineColor", l), ("textColor", f), ("titleColor", f),
        ("mainBkg", x), ("nodeBorder", r), ("nodeTextColor", f), ("clusterBkg", s),
        ("clusterBorder", r), ("edgeLabelBackground", b), ("noteBkgColor", a),
        ("noteTextColor", f), ("noteBorderColor", r), ("actorBkg", x), ("actorBorder", r),
        ("actorTextColor", f), ("actorLineColor", l), ("signalColor", f), ("signalTextColor", f),
        ("labelBoxBkgColor", x), ("labelBoxBorderColor", r), ("labelTextColor", f),
        ("loopTextColor", f), ("activationBkgColor", a), ("activationBorderColor", r),
        ("sequenceNumberColor", b), ("sectionBkgColor", s), ("altSectionBkgColor", b),
        ("sectionBkgColor2", s), ("taskBkgColor", x), ("taskBorderColor", r), ("taskTextColor", f),
        ("taskTextLightColor", f), ("taskTextDarkColor", f), ("taskTextOutsideColor", f),
        ("taskTextClickableColor", k), ("activeTaskBkgColor", a), ("activeTaskBorderColor", r),
        ("doneTaskBkgColor", s), ("doneTaskBorderColor", r), ("critBkgColor", c),
        ("critBorderColor", r), ("gridColor", g), ("todayLineColor", k), ("excludeBkgColor", s),
        ("labelColor", f), ("altBackground", s), ("compositeBackground", s),
        ("compositeTitleBackground", x), ("stateLabelColor", f), ("stateBkg", x),
        ("specialStateColor", f), ("innerEndBackground", f), ("transitionColor", l),
        ("transitionLabelColor", f), ("errorBkgColor", c), ("errorTextColor", f),
    ];
    let mut vars = serde_json::Map::new();
    vars.insert("darkMode".into(), false.into());
    for (name, value) in colours {
        vars.insert((*name).into(), (*value).into());
    }
    serde_json::Value::Object(vars)
}

/// The renderer, configured once: mermaid's "base" theme with the placeholder colours.
pub fn renderer() -> Renderer {
    let config = SourcePresentationConfig::from_value(serde_json::json!({
        "theme": "base",
        "themeVariables": theme_variables(),
    }));
    Renderer::new().with_presentation_engine(MermaidEngine::new().with_site_config(config))
}

/// The kind of a diagram, from its first meaningful line: `flowchart`, `sequence`, `gantt`, `state`.
pub fn kind(source: &str) -> &'static str {
    let first = source
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("%%") && *l != "---")
        .unwrap_or("");
    let word = first.split_whitespace().next().unwrap_or("");
    match word {
        "flowchart" | "graph" => "flowchart",
        "sequenceDiagram" => "sequence",
        "gantt" => "gantt",
        "stateDiagram" | "stateDiagram-v2" => "state",
        "classDiagram" => "class",
        _ => "other",
    }
}

/// Draw one diagram: its SVG, with the theme's custom properties in place of the placeholders.
/// `id` must be unique in the book (print.html holds every chapter on one page).
pub fn draw(renderer: &Renderer, source: &str, id: &str) -> Result<String, String> {
    let mut request = SvgRequest::default();
    request.options.diagram_id = Some(merman::svg::sanitize_svg_id(id));
    let output = renderer
        .render(RenderRequest::svg(source, OperationControl::new(), request))
        .map_err(|e| e.to_string())?;
    let RenderOutput::Svg(Some(svg)) = output else {
        return Err("merman found no diagram in it".into());
    };
    Ok(without_unused_rules(&themed(svg.svg())))
}

/// The SVG with the rules of its stylesheet that can match nothing in it left out: mermaid writes
/// the same stylesheet for every diagram of a kind (edge animations, error icons, math labels...),
/// and more than half of it styles classes the diagram does not use. A rule stays when one of its
/// selectors names only classes that some element of the diagram has; `@` rules stay.
pub fn without_unused_rules(svg: &str) -> String {
    let (Some(open), Some(close)) = (svg.find("<style>"), svg.find("</style>")) else {
        return svg.to_string();
    };
    let css = &svg[open + 7..close];
    let mut classes = std::collections::HashSet::new();
    for part in [&svg[..open], &svg[close..]] {
        let mut rest = part;
        while let Some(i) = rest.find(" class=\"") {
            let after = &rest[i + 8..];
            let end = after.find('"').unwrap_or(after.len());
            classes.extend(after[..end].split_whitespace());
            rest = &after[end..];
        }
    }
    let mut kept = String::with_capacity(css.len());
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in css.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    let rule = &css[start..=i];
                    let selectors = rule.split('{').next().unwrap_or("");
                    let used = selectors.trim_start().starts_with('@')
                        || selectors.split(',').any(|sel| class_names(sel).all(|c| classes.contains(c)));
                    if used {
                        kept.push_str(rule);
                    }
                    start = i + 1;
                }
            }
            _ => {}
        }
    }
    kept.push_str(&css[start..]);
    format!("{}{kept}{}", &svg[..open + 7], &svg[close..])
}

/// The class names a selector requires: `#d .node rect.label` -> `node`, `label`.
fn class_names(selector: &str) -> impl Iterator<Item = &str> {
    selector.split('.').skip(1).map(|s| {
        let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).unwrap_or(s.len());
        &s[..end]
    })
}

/// An SVG with every placeholder colour replaced by its custom property, in attributes
/// (`fill="#070809"`) and in the SVG's own stylesheet (`fill:#070809`) alike. In an attribute,
/// `var()` is not allowed, so the attribute keeps the fallback and a `style` attribute with the
/// property is added: CSS outranks a presentation attribute.
pub fn themed(svg: &str) -> String {
    let mut out = svg.to_string();
    for (hex, property, fallback) in PALETTE {
        for attr in ["fill", "stroke", "stop-color", "color"] {
            let from = format!("{attr}=\"{hex}\"");
            let to = format!("{attr}=\"{fallback}\" style=\"{attr}:var({property},{fallback})\"");
            out = out.replace(&from, &to);
        }
        let var = format!("var({property},{fallback})");
        out = replace_ci(&out, hex, &var);
    }
    merge_style_attributes(&out)
}

/// Replace `from` (ASCII, any case) with `to`.
fn replace_ci(text: &str, from: &str, to: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let needle = from.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in lower.match_indices(&needle) {
        out.push_str(&text[last..i]);
        out.push_str(to);
        last = i + from.len();
    }
    out.push_str(&text[last..]);
    out
}

/// A tag may now hold two `style` attributes (its own and the one `themed` added): merge them, the
/// added declarations first so that the tag's own win where both set a property, as before.
fn merge_style_attributes(svg: &str) -> String {
    let mut out = String::with_capacity(svg.len());
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('>') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let tag = &rest[start..start + len + 1];
        out.push_str(&merge_in_tag(tag));
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

fn merge_in_tag(tag: &str) -> String {
    if tag.matches(" style=\"").count() < 2 {
        return tag.to_string();
    }
    let mut styles = Vec::new();
    let mut out = String::new();
    let mut rest = tag;
    while let Some(i) = rest.find(" style=\"") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 8..];
        let end = after.find('"').unwrap_or(after.len());
        styles.push(after[..end].trim().trim_end_matches(';').to_string());
        rest = &after[(end + 1).min(after.len())..];
    }
    out.push_str(rest);
    // Added declarations (`fill:var(--diagram-...)`, one each) first.
    let (mut added, own): (Vec<String>, Vec<String>) =
        styles.into_iter().partition(|s| s.contains(":var(--diagram-") && !s.contains(';'));
    added.extend(own);
    let styles = added;
    let merged = styles.into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(";");
    let at = out.find(|c: char| c.is_whitespace()).unwrap_or(out.len() - 1);
    format!("{} style=\"{merged}\"{}", &out[..at], &out[at..])
}

/// `&lt;` `&gt;` `&quot;` `&amp;` back to text, as mdbook-mermaid escaped them.
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}

/// The lines (1-based) of the ```` ```mermaid ```` fences in a chapter's markdown, in order.
pub fn fence_lines(markdown: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut open: Option<(char, usize)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let t = line.trim_start();
        let fence = t.chars().next().filter(|c| *c == '`' || *c == '~');
        if let Some(c) = fence {
            let n = t.chars().take_while(|x| *x == c).count();
            if n >= 3 {
                match open {
                    None => {
                        open = Some((c, n));
                        if t[n..].trim().split(|c: char| c == ',' || c.is_whitespace()).next() == Some("mermaid") {
                            out.push(i + 1);
                        }
                    }
                    Some((oc, on)) if oc == c && n >= on && t[n..].trim().is_empty() => open = None,
                    _ => {}
                }
            }
        }
    }
    out
}

const OPEN: &str = "<pre class=\"mermaid\">";
const CLOSE: &str = "</pre>";

/// A chapter's content with each `<pre class="mermaid">` block replaced by its drawing.
///
/// `file` names the chapter's source for error messages (`src/part1/05-the-event-loop.md`), and
/// `markdown` is that source, to find each fence's line; `slug` makes the SVG ids unique in the book.
pub fn draw_chapter(renderer: &Renderer, content: &str, file: &str, markdown: &str, slug: &str) -> Result<String, String> {
    if !content.contains(OPEN) {
        return Ok(content.to_string());
    }
    let lines = fence_lines(markdown);
    let mut out = String::with_capacity(content.len() * 4);
    let mut rest = content;
    let mut n = 0;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let body_start = start + OPEN.len();
        let Some(len) = rest[body_start..].find(CLOSE) else {
            return Err(format!("{file}: a diagram block has no closing </pre>"));
        };
        let source = unescape(&rest[body_start..body_start + len]);
        let at = match lines.get(n) {
            Some(line) => format!("{file}:{line}"),
            None => format!("{file} (diagram {})", n + 1),
        };
        let id = format!("diagram-{slug}-{}", n + 1);
        let svg = draw(renderer, &source, &id).map_err(|e| format!("{at}: this diagram cannot be drawn: {e}"))?;
        // An HTML block ends at a blank line: keep the SVG on lines that are never empty.
        let svg: String = svg.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n");
        // A wide diagram is scaled down to the column; below 80% of its size its labels get too
        // small to read, so it keeps 80% and scrolls sideways instead (theme/book-extra.css).
        let min_width = view_box_width(&svg).map(|w| format!(" style=\"--diagram-min-width:{}px\"", (w * 0.8).round()));
        out.push_str(&format!(
            "<figure class=\"diagram\" data-diagram-kind=\"{}\" id=\"{id}\"{}>{svg}</figure>",
            kind(&source),
            min_width.unwrap_or_default()
        ));
        rest = &rest[body_start + len + CLOSE.len()..];
        n += 1;
    }
    out.push_str(rest);
    Ok(out)
}

/// The width of the root `<svg>`'s viewBox.
pub fn view_box_width(svg: &str) -> Option<f64> {
    let root = &svg[..svg.find('>')?];
    let i = root.find("viewBox=\"")? + 9;
    let value = &root[i..i + root[i..].find('"')?];
    value.split_whitespace().nth(2)?.parse().ok()
}

/// A slug for a chapter's path, for ids: `part1/05-the-event-loop.md` -> `part1-05-the-event-loop`.
pub fn slug(path: &str) -> String {
    let stem = path.strip_suffix(".md").unwrap_or(path);
    stem.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fence_lines() {
        let md = "# T\n\n```mermaid\nflowchart LR\n  A --> B\n```\n\n````markdown\n```mermaid\n```\n````\n\n~~~mermaid\ngantt\n~~~\n";
        assert_eq!(fence_lines(md), vec![3, 13]);
    }

    #[test]
    fn draws_with_custom_properties() {
        let r = renderer();
        let svg = draw(&r, "flowchart LR\n  A[\"Start here\"] --> B[\"Done\"]\n", "t-1").unwrap();
        assert!(svg.contains("Start here"), "{svg}");
        assert!(svg.contains("var(--diagram-box,"), "{svg}");
        for (hex, _, _) in PALETTE {
            assert!(!svg.to_ascii_lowercase().contains(hex), "{hex} left in {svg}");
        }
    }

    #[test]
    fn an_undrawable_diagram_names_its_line() {
        let r = renderer();
        let md = "# T\n\ntext\n\n```mermaid\nflowchart LR\n  A --> \n```\n";
        let content = "# T\n\ntext\n\n<pre class=\"mermaid\">flowchart LR\n  A --&gt; \n</pre>\n";
        let e = draw_chapter(&r, content, "src/t.md", md, "t").unwrap_err();
        assert!(e.starts_with("src/t.md:5: this diagram cannot be drawn"), "{e}");
    }

    #[test]
    fn leaves_out_rules_for_classes_not_used() {
        let svg = "<svg><style>#d{fill:red;}#d .node rect,#d .cluster rect{fill:blue;}#d .katex path{fill:#000;}@keyframes dash{to{stroke-dashoffset:0;}}#d .a.b{x:y}</style><g class=\"node a\"><rect/></g></svg>";
        assert_eq!(
            without_unused_rules(svg),
            "<svg><style>#d{fill:red;}#d .node rect,#d .cluster rect{fill:blue;}@keyframes dash{to{stroke-dashoffset:0;}}</style><g class=\"node a\"><rect/></g></svg>"
        );
    }

    #[test]
    fn reads_the_view_box() {
        assert_eq!(view_box_width("<svg id=\"d\" viewBox=\"-50 -10 731.5 593\" role=\"x\"><g/></svg>"), Some(731.5));
        assert_eq!(view_box_width("<svg><g viewBox=\"0 0 1 1\"/></svg>"), None);
    }

    #[test]
    fn merges_two_style_attributes() {
        let tag = "<rect style=\"stroke:red\" fill=\"#fff\" style=\"fill:var(--diagram-box,#fff)\"/>";
        assert_eq!(merge_in_tag(tag), "<rect style=\"fill:var(--diagram-box,#fff);stroke:red\" fill=\"#fff\"/>");
    }
}
