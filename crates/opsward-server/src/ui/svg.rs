//! Charts as SVG text, drawn on the server so pages need no JavaScript. Each chart is an
//! accessible image (`role="img"`, a `<title>` and a `<desc>` that states every number), scales
//! to its container through `viewBox`, and uses presentation attributes (`fill=`), never
//! `style=`, because the Content-Security-Policy forbids inline styles.

use std::fmt::Write;

const WIDTH: u32 = 600;
const TEXT: &str = "#1d2330";
const MUTED: &str = "#5b6475";
const GRID: &str = "#d9dde5";

/// One bar of a horizontal bar chart, on a 0-100 scale.
pub struct Bar {
    pub label: String,
    pub value: u8,
    pub fill: &'static str,
}

/// Horizontal bars on a 0-100 scale, one row per bar, labels on the left and the value at
/// the end of each bar. `id` must be unique on the page (it links the title to the image).
pub fn horizontal_bars(id: &str, title: &str, bars: &[Bar]) -> String {
    const ROW: u32 = 26;
    const LABEL_WIDTH: u32 = 130;
    const SCALE: u32 = 4; // pixels per point: 100 points = 400 px
    let height = ROW * bars.len() as u32 + 24;
    let desc = bars
        .iter()
        .map(|b| format!("{} {}", b.label, b.value))
        .collect::<Vec<_>>()
        .join(", ");
    let mut svg = open(id, title, &desc, height);
    // Grid lines at 0, 50 and 100 with their values underneath.
    for mark in [0u32, 50, 100] {
        let x = LABEL_WIDTH + mark * SCALE;
        let _ = write!(
            svg,
            r#"<line x1="{x}" y1="0" x2="{x}" y2="{}" stroke="{GRID}"/><text x="{x}" y="{}" font-size="11" fill="{MUTED}" text-anchor="middle">{mark}</text>"#,
            height - 18,
            height - 4
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = ROW * i as u32;
        let value = u32::from(bar.value.min(100));
        let label = escape(&bar.label);
        let _ = write!(
            svg,
            r#"<g class="bar"><text x="{}" y="{}" font-size="13" fill="{TEXT}" text-anchor="end">{label}</text><rect x="{LABEL_WIDTH}" y="{}" width="{}" height="18" fill="{}"><title>{label}: {value}</title></rect><text x="{}" y="{}" font-size="13" fill="{TEXT}">{value}</text></g>"#,
            LABEL_WIDTH - 8,
            y + 17,
            y + 4,
            value * SCALE,
            bar.fill,
            LABEL_WIDTH + value * SCALE + 6,
            y + 17,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One part of a stacked column.
pub struct Segment {
    pub value: u32,
    pub fill: &'static str,
}

/// One column: its label (shown under every `label_every`-th column) and its parts,
/// stacked bottom to top in the order given.
pub struct Column {
    pub label: String,
    pub segments: Vec<Segment>,
}

/// Stacked columns with a legend above them: `legend` names each fill colour.
pub fn stacked_columns(
    id: &str,
    title: &str,
    columns: &[Column],
    legend: &[(&str, &'static str)],
    label_every: usize,
) -> String {
    const HEIGHT: u32 = 200;
    const LEFT: u32 = 34;
    const TOP: u32 = 28;
    const BOTTOM: u32 = 170; // baseline of the plot
    let total = |c: &Column| c.segments.iter().map(|s| s.value).sum::<u32>();
    let max = columns.iter().map(total).max().unwrap_or(0).max(1);
    let desc = columns
        .iter()
        .map(|c| format!("{} {}", c.label, total(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut svg = open(id, title, &desc, HEIGHT);
    let mut x = LEFT;
    for (name, fill) in legend {
        let name = escape(name);
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="6" width="12" height="12" fill="{fill}"/><text x="{}" y="17" font-size="12" fill="{TEXT}">{name}</text>"#,
            x + 16
        );
        x += 16 + 8 * name.chars().count() as u32 + 16;
    }
    // The axis: baseline, top line, and their values.
    let _ = write!(
        svg,
        r#"<line x1="{LEFT}" y1="{BOTTOM}" x2="{WIDTH}" y2="{BOTTOM}" stroke="{MUTED}"/><line x1="{LEFT}" y1="{TOP}" x2="{WIDTH}" y2="{TOP}" stroke="{GRID}"/><text x="{}" y="{}" font-size="11" fill="{MUTED}" text-anchor="end">0</text><text x="{}" y="{}" font-size="11" fill="{MUTED}" text-anchor="end">{max}</text>"#,
        LEFT - 4,
        BOTTOM + 4,
        LEFT - 4,
        TOP + 4
    );
    let plot = f64::from(BOTTOM - TOP);
    let step = f64::from(WIDTH - LEFT) / columns.len().max(1) as f64;
    for (i, column) in columns.iter().enumerate() {
        let left = f64::from(LEFT) + step * i as f64;
        let label = escape(&column.label);
        let _ = write!(
            svg,
            r#"<g class="column"><title>{label}: {}</title>"#,
            total(column)
        );
        let mut base = f64::from(BOTTOM);
        for segment in column.segments.iter().filter(|s| s.value > 0) {
            let h = plot * f64::from(segment.value) / f64::from(max);
            base -= h;
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{base:.1}" width="{:.1}" height="{h:.1}" fill="{}"/>"#,
                left + 1.0,
                (step - 2.0).max(1.0),
                segment.fill
            );
        }
        if label_every > 0 && i % label_every == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" font-size="11" fill="{MUTED}">{label}</text>"#,
                left + 1.0,
                BOTTOM + 16
            );
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    svg
}

/// One line of a line chart; `None` leaves a gap (no data that period).
pub struct Series {
    pub name: String,
    pub stroke: &'static str,
    pub points: Vec<Option<f64>>,
}

/// Lines over shared x labels on a fixed `y_min..y_max` scale, with a legend and a dot per
/// point (so a single point is visible). Values outside the scale are clamped.
pub fn line_chart(
    id: &str,
    title: &str,
    labels: &[String],
    series: &[Series],
    y_min: f64,
    y_max: f64,
) -> String {
    const HEIGHT: u32 = 200;
    const LEFT: u32 = 40;
    const TOP: u32 = 28;
    const BOTTOM: u32 = 170;
    let desc = series
        .iter()
        .map(|s| {
            let values = labels
                .iter()
                .zip(&s.points)
                .map(|(l, p)| match p {
                    Some(v) => format!("{l} {v:.0}"),
                    None => format!("{l} no data"),
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("{}: {values}", s.name)
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut svg = open(id, title, &desc, HEIGHT);
    let mut x = LEFT;
    for s in series {
        let name = escape(&s.name);
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="6" width="12" height="12" fill="{}"/><text x="{}" y="17" font-size="12" fill="{TEXT}">{name}</text>"#,
            s.stroke,
            x + 16
        );
        x += 16 + 8 * name.chars().count() as u32 + 16;
    }
    let span = (y_max - y_min).max(f64::EPSILON);
    let y_of = |v: f64| {
        f64::from(BOTTOM) - f64::from(BOTTOM - TOP) * ((v.clamp(y_min, y_max) - y_min) / span)
    };
    for v in [y_min, (y_min + y_max) / 2.0, y_max] {
        let y = y_of(v);
        let _ = write!(
            svg,
            r#"<line x1="{LEFT}" y1="{y:.1}" x2="{WIDTH}" y2="{y:.1}" stroke="{GRID}"/><text x="{}" y="{:.1}" font-size="11" fill="{MUTED}" text-anchor="end">{v:.0}</text>"#,
            LEFT - 4,
            y + 4.0
        );
    }
    let step = f64::from(WIDTH - LEFT) / labels.len().max(1) as f64;
    let x_of = |i: usize| f64::from(LEFT) + step * (i as f64 + 0.5);
    let label_every = labels.len().div_ceil(12).max(1);
    for (i, label) in labels
        .iter()
        .enumerate()
        .filter(|(i, _)| i % label_every == 0)
    {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" font-size="11" fill="{MUTED}" text-anchor="middle">{}</text>"#,
            x_of(i),
            BOTTOM + 16,
            escape(label)
        );
    }
    for s in series {
        let mut path = String::new();
        let mut pen_down = false;
        for (i, p) in s.points.iter().enumerate() {
            match p {
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        x_of(i),
                        y_of(*v)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        if !path.is_empty() {
            let _ = write!(
                svg,
                r#"<path d="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
                path.trim_end(),
                s.stroke
            );
        }
        for (i, p) in s.points.iter().enumerate() {
            if let Some(v) = p {
                let _ = write!(
                    svg,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"><title>{}: {v:.0}</title></circle>"#,
                    x_of(i),
                    y_of(*v),
                    s.stroke,
                    escape(&format!(
                        "{} {}",
                        s.name,
                        labels.get(i).map_or("", |l| l.as_str())
                    ))
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

fn open(id: &str, title: &str, desc: &str, height: u32) -> String {
    let id = escape(id);
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" font-family="system-ui, sans-serif"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(desc)
    )
}

/// Text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\n' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

/// One point of a line chart.
pub struct Point {
    pub label: String,
    pub value: f64,
}

/// A line over evenly spaced points on a fixed `min..=max` scale, with a grid line and value
/// at every whole step, each point marked and labelled: a trend such as scorecard totals.
pub fn point_line_chart(id: &str, title: &str, points: &[Point], min: f64, max: f64) -> String {
    const HEIGHT: u32 = 220;
    // Room for half a date label beside the first and last points.
    const LEFT: f64 = 60.0;
    const RIGHT: f64 = 45.0;
    const TOP: f64 = 14.0;
    const BOTTOM: f64 = 180.0;
    let desc = points
        .iter()
        .map(|p| format!("{} {:.2}", p.label, p.value))
        .collect::<Vec<_>>()
        .join(", ");
    let mut svg = open(id, title, &desc, HEIGHT);
    let span = (max - min).max(f64::EPSILON);
    let y = |v: f64| BOTTOM - (v.clamp(min, max) - min) / span * (BOTTOM - TOP);
    let mut step = min;
    while step <= max + f64::EPSILON {
        let _ = write!(
            svg,
            r#"<line x1="{LEFT}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="{GRID}"/><text x="{2}" y="{3:.1}" font-size="11" fill="{MUTED}" text-anchor="end">{step}</text>"#,
            y(step),
            f64::from(WIDTH) - RIGHT,
            LEFT - 6.0,
            y(step) + 4.0,
        );
        step += 1.0;
    }
    let width = f64::from(WIDTH) - LEFT - RIGHT;
    let x = |i: usize| match points.len() {
        0 | 1 => LEFT + width / 2.0,
        n => LEFT + width * i as f64 / (n - 1) as f64,
    };
    if points.len() > 1 {
        let path = points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.value)))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = write!(
            svg,
            r##"<polyline points="{path}" fill="none" stroke="#2f6fde" stroke-width="2"/>"##
        );
    }
    for (i, p) in points.iter().enumerate() {
        let label = escape(&p.label);
        let _ = write!(
            svg,
            r##"<g class="point"><circle cx="{0:.1}" cy="{1:.1}" r="4" fill="#2f6fde"><title>{label}: {2:.2}</title></circle><text x="{0:.1}" y="{3:.1}" font-size="12" fill="{TEXT}" text-anchor="middle">{2:.2}</text><text x="{0:.1}" y="{4}" font-size="11" fill="{MUTED}" text-anchor="middle">{label}</text></g>"##,
            x(i),
            y(p.value),
            p.value,
            y(p.value) - 8.0,
            BOTTOM + 18.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed: {e}\n{svg}"))
    }

    fn texts(doc: &roxmltree::Document<'_>, tag: &str) -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name(tag))
            .filter_map(|n| n.text().map(str::to_string))
            .collect()
    }

    #[test]
    fn bars_are_well_formed_accessible_and_scaled() {
        let svg = horizontal_bars(
            "scores",
            "Hygiene <score> & more",
            &[
                Bar {
                    label: "certificates".into(),
                    value: 60,
                    fill: "#a15c00",
                },
                Bar {
                    label: "R&D \"lab\" <x>".into(),
                    value: 100,
                    fill: "#1e7d32",
                },
            ],
        );
        let doc = parse(&svg);
        let root = doc.root_element();
        assert_eq!(root.attribute("role"), Some("img"));
        assert_eq!(
            root.attribute("aria-labelledby"),
            Some("scores-title scores-desc")
        );
        assert!(!svg.contains("style="), "the CSP forbids inline styles");
        let title = doc
            .descendants()
            .find(|n| n.attribute("id") == Some("scores-title"))
            .unwrap();
        assert_eq!(title.text(), Some("Hygiene <score> & more"));
        let desc = doc
            .descendants()
            .find(|n| n.attribute("id") == Some("scores-desc"))
            .unwrap();
        assert_eq!(desc.text(), Some("certificates 60, R&D \"lab\" <x> 100"));
        let rects: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect"))
            .collect();
        assert_eq!(rects.len(), 2);
        assert_eq!(rects[0].attribute("width"), Some("240"));
        assert_eq!(rects[0].attribute("fill"), Some("#a15c00"));
        assert_eq!(rects[1].attribute("width"), Some("400"));
        let labels = texts(&doc, "text");
        assert!(labels.contains(&"certificates".to_string()), "{labels:?}");
        assert!(
            labels.contains(&"R&D \"lab\" <x>".to_string()),
            "{labels:?}"
        );
    }

    #[test]
    fn columns_stack_segments_and_label_every_nth_column() {
        let columns: Vec<Column> = (0..10)
            .map(|i| Column {
                label: format!("day {i}"),
                segments: vec![
                    Segment {
                        value: i,
                        fill: "#1e7d32",
                    },
                    Segment {
                        value: 2,
                        fill: "#1f5fbf",
                    },
                ],
            })
            .collect();
        let svg = stacked_columns(
            "days",
            "Occurrences per day",
            &columns,
            &[("done", "#1e7d32"), ("upcoming", "#1f5fbf")],
            5,
        );
        let doc = parse(&svg);
        let groups: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("column"))
            .collect();
        assert_eq!(groups.len(), 10);
        // Day 0 has no "done" part: one rect; the others two.
        let rect_heights = |g: &roxmltree::Node<'_, '_>| -> Vec<f64> {
            g.children()
                .filter(|n| n.has_tag_name("rect"))
                .map(|r| r.attribute("height").unwrap().parse().unwrap())
                .collect()
        };
        assert_eq!(rect_heights(&groups[0]).len(), 1);
        assert_eq!(rect_heights(&groups[9]).len(), 2);
        // The tallest column (9 + 2 = 11, the maximum) fills the plot: 142 px.
        let height: f64 = rect_heights(&groups[9]).iter().sum();
        assert!((height - 142.0).abs() < 0.2, "{height}");
        let labels = texts(&doc, "text");
        assert!(labels.contains(&"day 0".to_string()) && labels.contains(&"day 5".to_string()));
        assert!(!labels.contains(&"day 3".to_string()), "{labels:?}");
        assert!(labels.contains(&"upcoming".to_string()) && labels.contains(&"11".to_string()));
        let group_titles = texts(&doc, "title");
        assert!(
            group_titles.contains(&"day 9: 11".to_string()),
            "{group_titles:?}"
        );
    }

    #[test]
    fn empty_charts_are_still_well_formed() {
        parse(&horizontal_bars("a", "none", &[]));
        parse(&stacked_columns("b", "none", &[], &[], 7));
    }

    #[test]
    fn escape_removes_what_xml_cannot_hold() {
        assert_eq!(escape("a<b>&'\"\u{1}c"), "a&lt;b&gt;&amp;&#39;&quot;c");
    }

    #[test]
    fn a_trend_line_is_well_formed_and_states_every_point() {
        let points = [
            Point {
                label: "2026-01-10".into(),
                value: 3.7,
            },
            Point {
                label: "2026-04-10".into(),
                value: 2.4,
            },
        ];
        let svg = point_line_chart("trend", "Scorecard <trend>", &points, 1.0, 5.0);
        let doc = parse(&svg);
        assert_eq!(texts(&doc, "desc"), ["2026-01-10 3.70, 2026-04-10 2.40"]);
        assert_eq!(
            doc.descendants()
                .filter(|n| n.has_tag_name("circle"))
                .count(),
            2
        );
        assert_eq!(
            doc.descendants()
                .filter(|n| n.has_tag_name("polyline"))
                .count(),
            1
        );
        // Higher scores are drawn higher: a smaller y.
        let ys: Vec<f64> = doc
            .descendants()
            .filter(|n| n.has_tag_name("circle"))
            .map(|n| n.attribute("cy").unwrap().parse().unwrap())
            .collect();
        assert!(ys[0] < ys[1], "{ys:?}");
    }
}
