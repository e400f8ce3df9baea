//! Plain generated SVG charts (no fonts, no scripts, no dependencies): time on the x axis,
//! shaded bands (downtime, faults), vertical marks (deploy phases), lines, steps or stacked
//! areas, axes with units and a legend. Output is deterministic: coordinates are printed with a
//! fixed precision.

use std::fmt::Write as _;

/// Escapes text for HTML/SVG content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(character),
        }
    }
    out
}

/// A palette that stays readable in print and for common colour blindness (Okabe–Ito).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

#[derive(Clone, Debug, PartialEq)]
pub enum Style {
    /// Straight segments between points.
    Line,
    /// Holds each value until the next point.
    Step,
    /// Stacked on the previous `Area` series, filled, step-shaped.
    Area,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub color: String,
    pub style: Style,
    pub dashed: bool,
    /// (x, y); a `None` y breaks a line.
    pub points: Vec<(f64, Option<f64>)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub start: f64,
    pub end: f64,
    pub color: String,
    /// The legend entry (bands with the same label share one entry).
    pub label: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub x: f64,
    pub label: String,
    pub color: String,
}

/// A vertical interval at `x` (an error bar with caps), e.g. a 95 % interval around a point.
#[derive(Clone, Debug, PartialEq)]
pub struct Whisker {
    pub x: f64,
    pub low: f64,
    pub high: f64,
    pub color: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_max: f64,
    /// The left end of the x axis (0 unless set).
    pub x_min: f64,
    /// None: from the data.
    pub y_max: Option<f64>,
    /// The bottom of a log axis; None: from the data.
    pub y_min: Option<f64>,
    pub y_log: bool,
    pub width: f64,
    pub height: f64,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
    pub marks: Vec<Mark>,
    pub whiskers: Vec<Whisker>,
}

const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 52.0;
const BOTTOM: f64 = 44.0;
const MARK_ROW: f64 = 12.0;
const CHAR_WIDTH: f64 = 5.6;

fn number(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded == rounded.trunc() {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded:.1}")
    }
}

/// A "nice" tick step for a range split in about `target` parts.
pub fn nice_step(range: f64, target: f64) -> f64 {
    if range <= 0.0 {
        return 1.0;
    }
    let raw = range / target;
    let magnitude = 10f64.powf(raw.log10().floor());
    let residual = raw / magnitude;
    let nice = if residual < 1.5 {
        1.0
    } else if residual < 3.0 {
        2.0
    } else if residual < 7.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

fn tick_label(value: f64) -> String {
    if value.abs() >= 1000.0 || value == value.trunc() {
        format!("{}", value.round() as i64)
    } else if (value * 10.0).round() == value * 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

impl Chart {
    pub fn new(title: &str, x_label: &str, y_label: &str, x_max: f64) -> Chart {
        Chart {
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            x_max: x_max.max(1e-9),
            x_min: 0.0,
            y_max: None,
            y_min: None,
            y_log: false,
            width: 1200.0,
            height: 320.0,
            series: Vec::new(),
            bands: Vec::new(),
            marks: Vec::new(),
            whiskers: Vec::new(),
        }
    }

    /// Stacked totals of the area series, per point index.
    fn stacked(&self) -> Vec<Vec<(f64, f64, f64)>> {
        let mut base: Vec<f64> = Vec::new();
        let mut out = Vec::new();
        for series in self
            .series
            .iter()
            .filter(|series| series.style == Style::Area)
        {
            if base.len() < series.points.len() {
                base.resize(series.points.len(), 0.0);
            }
            let mut layer = Vec::new();
            for (index, (x, y)) in series.points.iter().enumerate() {
                let low = base[index];
                let high = low + y.unwrap_or(0.0);
                base[index] = high;
                layer.push((*x, low, high));
            }
            out.push(layer);
        }
        out
    }

    fn data_y_max(&self) -> f64 {
        let mut max: f64 = 0.0;
        for series in &self.series {
            if series.style == Style::Area {
                continue;
            }
            for (_, y) in &series.points {
                if let Some(y) = y {
                    max = max.max(*y);
                }
            }
        }
        for layer in self.stacked() {
            for (_, _, high) in layer {
                max = max.max(high);
            }
        }
        for whisker in &self.whiskers {
            max = max.max(whisker.high);
        }
        max
    }

    /// Places mark labels in rows so that they do not overlap; returns the row of each mark.
    fn mark_rows(&self, plot_width: f64) -> (Vec<usize>, usize) {
        let mut row_ends: Vec<f64> = Vec::new();
        let mut rows = Vec::new();
        for mark in &self.marks {
            let x = LEFT + (mark.x - self.x_min) / self.x_span() * plot_width;
            let width = mark.label.chars().count() as f64 * CHAR_WIDTH + 6.0;
            let row = row_ends
                .iter()
                .position(|end| *end <= x)
                .unwrap_or(row_ends.len());
            if row == row_ends.len() {
                row_ends.push(0.0);
            }
            row_ends[row] = x + width;
            rows.push(row);
        }
        let count = row_ends.len();
        (rows, count)
    }

    pub fn render(&self) -> String {
        let plot_width = self.width - LEFT - RIGHT;
        let (mark_rows, row_count) = self.mark_rows(plot_width);
        let mut legend = String::new();
        let legend_extra = self.render_legend(&mut legend);
        let marks_top = TOP + legend_extra;
        let top = marks_top + row_count as f64 * MARK_ROW;
        let height = self.height + legend_extra + row_count as f64 * MARK_ROW;
        let plot_height = height - top - BOTTOM;
        let (y_min, y_max) = if self.y_log {
            let max = self.y_max.unwrap_or_else(|| self.data_y_max()).max(1.0);
            let min = self.y_min.unwrap_or_else(|| {
                self.series
                    .iter()
                    .flat_map(|series| series.points.iter().filter_map(|(_, y)| *y))
                    .filter(|y| *y > 0.0)
                    .fold(f64::INFINITY, f64::min)
            });
            let min = if min.is_finite() { min } else { 1.0 };
            (
                10f64.powf(min.log10().floor()),
                10f64.powf(max.log10().ceil()),
            )
        } else {
            let max = self.y_max.unwrap_or_else(|| self.data_y_max());
            let step = nice_step(max.max(1.0), 5.0);
            (0.0, ((max.max(1.0) / step).ceil() * step).max(step))
        };
        let x_of = |x: f64| LEFT + ((x - self.x_min) / self.x_span()).clamp(0.0, 1.0) * plot_width;
        let y_of = |y: f64| {
            let fraction = if self.y_log {
                let y = y.max(y_min);
                (y.log10() - y_min.log10()) / (y_max.log10() - y_min.log10())
            } else {
                (y - y_min) / (y_max - y_min)
            };
            top + plot_height - fraction.clamp(0.0, 1.0) * plot_height
        };
        let mut svg = String::new();
        let _ = write!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" \
             role=\"img\" aria-label=\"{title}\" font-family=\"sans-serif\" font-size=\"11\" \
             data-x-max=\"{x_max}\" data-y-min=\"{y_min}\" data-y-max=\"{y_max}\">",
            w = number(self.width),
            h = number(height),
            title = escape(&self.title),
            // The axes' extents, for readers of the page (and tests of shared scales).
            x_max = number(self.x_max),
            y_min = number(y_min),
            y_max = number(y_max)
        );
        let _ = write!(svg, "<title>{}</title>", escape(&self.title));
        let _ = write!(
            svg,
            "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>",
            number(self.width),
            number(height)
        );
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{}</text>",
            number(LEFT),
            escape(&self.title)
        );
        svg.push_str(&legend);
        // Bands behind everything.
        for band in &self.bands {
            let x0 = x_of(band.start);
            let x1 = x_of(band.end).max(x0 + 1.0);
            let _ = write!(
                svg,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" fill-opacity=\"0.22\"/>",
                number(x0),
                number(top),
                number(x1 - x0),
                number(plot_height),
                band.color
            );
        }
        // Grid and y ticks.
        let y_ticks: Vec<f64> = if self.y_log {
            let mut ticks = Vec::new();
            let mut tick = y_min;
            while tick <= y_max * 1.0001 {
                ticks.push(tick);
                tick *= 10.0;
            }
            ticks
        } else {
            let step = nice_step(y_max - y_min, 5.0);
            let mut ticks = Vec::new();
            let mut index = 0.0;
            while y_min + index * step <= y_max + step * 1e-6 {
                ticks.push(y_min + index * step);
                index += 1.0;
            }
            ticks
        };
        for tick in &y_ticks {
            let y = y_of(*tick);
            let _ = write!(
                svg,
                "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#dddddd\"/>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
                number(LEFT),
                number(LEFT + plot_width),
                number(LEFT - 6.0),
                number(y + 4.0),
                tick_label(*tick),
                y = number(y)
            );
        }
        let x_step = nice_step(self.x_span(), 10.0);
        let mut index = (self.x_min / x_step).ceil();
        while index * x_step <= self.x_max + x_step * 1e-6 {
            let value = index * x_step;
            let x = x_of(value);
            let _ = write!(
                svg,
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#eeeeee\"/>\
                 <text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                number(top),
                number(top + plot_height + 4.0),
                number(top + plot_height + 16.0),
                tick_label(value),
                x = number(x)
            );
            index += 1.0;
        }
        // Stacked areas.
        let layers = self.stacked();
        let areas: Vec<&Series> = self
            .series
            .iter()
            .filter(|series| series.style == Style::Area)
            .collect();
        for (series, layer) in areas.iter().zip(&layers) {
            if layer.is_empty() {
                continue;
            }
            let mut upper = String::new();
            let mut lower = Vec::new();
            for (index, (x, low, high)) in layer.iter().enumerate() {
                let next_x = layer.get(index + 1).map_or(self.x_max, |next| next.0);
                let _ = write!(
                    upper,
                    "{},{} {},{} ",
                    number(x_of(*x)),
                    number(y_of(*high)),
                    number(x_of(next_x)),
                    number(y_of(*high))
                );
                lower.push(format!(
                    "{},{} {},{}",
                    number(x_of(next_x)),
                    number(y_of(*low)),
                    number(x_of(*x)),
                    number(y_of(*low))
                ));
            }
            lower.reverse();
            let _ = write!(
                svg,
                "<polygon points=\"{}{}\" fill=\"{}\" fill-opacity=\"0.75\" stroke=\"{}\" stroke-width=\"0.5\"/>",
                upper,
                lower.join(" "),
                series.color,
                series.color
            );
        }
        // Lines and steps.
        for series in self
            .series
            .iter()
            .filter(|series| series.style != Style::Area)
        {
            let mut segments: Vec<String> = Vec::new();
            let mut current = String::new();
            let count = series.points.len();
            for (index, (x, y)) in series.points.iter().enumerate() {
                match y {
                    Some(y) => {
                        let _ = write!(current, "{},{} ", number(x_of(*x)), number(y_of(*y)));
                        if series.style == Style::Step {
                            let next_x = if index + 1 < count {
                                series.points[index + 1].0
                            } else {
                                self.x_max
                            };
                            let _ =
                                write!(current, "{},{} ", number(x_of(next_x)), number(y_of(*y)));
                        }
                    }
                    None => {
                        if !current.is_empty() {
                            segments.push(std::mem::take(&mut current));
                        }
                    }
                }
            }
            if !current.is_empty() {
                segments.push(current);
            }
            let dash = if series.dashed {
                " stroke-dasharray=\"6 4\""
            } else {
                ""
            };
            for segment in segments {
                let _ = write!(
                    svg,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\"{dash}/>",
                    segment.trim_end(),
                    series.color
                );
            }
        }
        // Intervals: a vertical bar with caps.
        for whisker in &self.whiskers {
            let x = x_of(whisker.x);
            let (low, high) = (y_of(whisker.low), y_of(whisker.high));
            let _ = write!(
                svg,
                "<path d=\"M{x0},{low}H{x1}M{x},{low}V{high}M{x0},{high}H{x1}\" stroke=\"{}\" \
                 stroke-width=\"1.4\" fill=\"none\"/>",
                whisker.color,
                x0 = number(x - 4.0),
                x1 = number(x + 4.0),
                x = number(x),
                low = number(low),
                high = number(high)
            );
        }
        // Marks with their labels in rows above the plot.
        for (mark, row) in self.marks.iter().zip(&mark_rows) {
            let x = x_of(mark.x);
            let label_y = marks_top - 4.0 + (*row as f64 + 1.0) * MARK_ROW;
            let _ = write!(
                svg,
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{}\" stroke-dasharray=\"2 3\"/>\
                 <text x=\"{}\" y=\"{}\" font-size=\"9.5\" fill=\"{}\">{}</text>",
                number(label_y + 2.0),
                number(top + plot_height),
                mark.color,
                number(x + 2.0),
                number(label_y),
                mark.color,
                escape(&mark.label),
                x = number(x)
            );
        }
        // Axes and their labels.
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333333\"/>",
            number(LEFT),
            number(top),
            number(plot_width),
            number(plot_height)
        );
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            number(LEFT + plot_width / 2.0),
            number(height - 8.0),
            escape(&self.x_label)
        );
        let _ = write!(
            svg,
            "<text x=\"14\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\">{}</text>",
            number(top + plot_height / 2.0),
            number(top + plot_height / 2.0),
            escape(&self.y_label)
        );
        svg.push_str("</svg>");
        svg
    }

    /// The width of the x axis in data units.
    fn x_span(&self) -> f64 {
        (self.x_max - self.x_min).max(1e-9)
    }

    /// Writes the legend; returns the height it takes beyond its first row.
    fn render_legend(&self, svg: &mut String) -> f64 {
        let mut entries: Vec<(String, String, &str)> = Vec::new();
        for series in &self.series {
            let kind = if series.style == Style::Area {
                "area"
            } else if series.dashed {
                "dashed"
            } else {
                "line"
            };
            entries.push((series.name.clone(), series.color.clone(), kind));
        }
        for band in &self.bands {
            if !entries.iter().any(|(name, _, _)| *name == band.label) {
                entries.push((band.label.clone(), band.color.clone(), "band"));
            }
        }
        let mut x = LEFT;
        let mut y = 36.0;
        for (name, color, kind) in entries {
            let width = name.chars().count() as f64 * 6.6 + 34.0;
            if x + width > self.width - RIGHT {
                x = LEFT;
                y += 14.0;
            }
            match kind {
                "line" | "dashed" => {
                    let dash = if kind == "dashed" {
                        " stroke-dasharray=\"6 4\""
                    } else {
                        ""
                    };
                    let _ = write!(
                        svg,
                        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>",
                        number(x),
                        number(y - 4.0),
                        number(x + 18.0),
                        number(y - 4.0)
                    );
                }
                _ => {
                    let opacity = if kind == "band" { "0.3" } else { "0.75" };
                    let _ = write!(
                        svg,
                        "<rect x=\"{}\" y=\"{}\" width=\"18\" height=\"9\" fill=\"{color}\" fill-opacity=\"{opacity}\"/>",
                        number(x),
                        number(y - 9.0)
                    );
                }
            }
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\">{}</text>",
                number(x + 22.0),
                number(y),
                escape(&name)
            );
            x += width;
        }
        y - 36.0
    }
}
