//! The Prometheus text exposition format (version 0.0.4), read as a scraper reads it: every
//! line is a `# HELP`/`# TYPE` line, another comment, a blank line, or a sample
//! `name{label="value",…} value [timestamp]`. A line that is none of these fails the test.
//!
//! The suite reads only the series the contract names, and only by their exact name and
//! labels: a series is never found by a prefix or a substring of a line.

use std::collections::BTreeMap;

/// The series the contract names for `GET /metrics`.
pub const CONTRACT_SERIES: [&str; 4] = [
    "pairsync_rooms_live",
    "pairsync_sse_streams",
    "pairsync_events_sent_total",
    "pairsync_streams_dropped_total",
];

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name.
    pub name: String,
    /// Its labels, by name.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// A whole exposition: its samples and the `# TYPE` of each metric family.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    /// Every sample, in order.
    pub samples: Vec<Sample>,
    /// `# TYPE name kind`, by name.
    pub types: BTreeMap<String, String>,
}

impl Exposition {
    /// The value of the one sample named `name` with no labels; panics when there is none
    /// or more than one.
    pub fn value(&self, name: &str) -> f64 {
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| s.name == name && s.labels.is_empty())
            .collect();
        match found[..] {
            [one] => one.value,
            [] => panic!("no series {name} in the exposition: {:?}", self.names()),
            _ => panic!("{} series named {name}: {found:?}", found.len()),
        }
    }

    /// The distinct sample names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.samples.iter().map(|s| s.name.clone()).collect();
        names.sort();
        names.dedup();
        names
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit()
}

/// Splits a metric or label name off the front of `s`; `None` when `s` does not start
/// with one.
fn take_name(s: &str) -> Option<(&str, &str)> {
    let mut chars = s.char_indices();
    match chars.next() {
        Some((_, c)) if is_name_start(c) => {}
        _ => return None,
    }
    let end = chars
        .find(|(_, c)| !is_name_char(*c))
        .map_or(s.len(), |(i, _)| i);
    Some(s.split_at(end))
}

/// A sample value: a float, or `+Inf`, `-Inf`, `NaN` as the format spells them.
fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Reads `{name="value",…}` off the front of `s` (which starts after the `{`); the labels
/// and the rest of the line after the `}`.
fn take_labels(mut s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((labels, rest));
        }
        let (name, rest) = take_name(s).ok_or("a label name")?;
        let rest = rest
            .trim_start()
            .strip_prefix('=')
            .ok_or("`=` after a label")?;
        let quoted = rest
            .trim_start()
            .strip_prefix('"')
            .ok_or("a quoted label value")?;
        let mut chars = quoted.char_indices();
        let mut value = String::new();
        let end = loop {
            match chars.next().ok_or("an unterminated label value")? {
                (i, '"') => break i,
                (_, '\\') => match chars.next().ok_or("an escape at the end")?.1 {
                    'n' => value.push('\n'),
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    other => return Err(format!("the escape \\{other}")),
                },
                (_, c) => value.push(c),
            }
        };
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("the label {name} twice"));
        }
        s = quoted[end + 1..].trim_start();
        if let Some(rest) = s.strip_prefix(',') {
            s = rest;
        } else if !s.starts_with('}') {
            return Err("`,` or `}` after a label".to_string());
        }
    }
}

/// Reads one sample line.
fn sample(line: &str) -> Result<Sample, String> {
    let (name, rest) = take_name(line).ok_or("a metric name")?;
    let (labels, rest) = match rest.strip_prefix('{') {
        Some(inner) => take_labels(inner)?,
        None => (BTreeMap::new(), rest),
    };
    if !rest.starts_with([' ', '\t']) {
        return Err("a space before the value".to_string());
    }
    let mut fields = rest.split_whitespace();
    let value = fields
        .next()
        .and_then(parse_value)
        .ok_or("a numeric value")?;
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .map_err(|_| format!("a timestamp, not {timestamp:?}"))?;
    }
    if fields.next().is_some() {
        return Err("nothing after the timestamp".to_string());
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// Reads an exposition; panics, naming the line, at the first line that breaks the format.
pub fn parse(text: &str) -> Exposition {
    let mut out = Exposition::default();
    for (n, line) in text.lines().enumerate() {
        let fail = |why: &str| -> ! { panic!("/metrics line {}: {why}: {line:?}", n + 1) };
        let line = line.trim_start();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.split_whitespace().collect();
            if words.first() == Some(&"TYPE") {
                let [_, name, kind] = words[..] else {
                    fail("`# TYPE name kind`")
                };
                let kinds = ["counter", "gauge", "histogram", "summary", "untyped"];
                if !kinds.contains(&kind) {
                    fail("an unknown metric type");
                }
                if out
                    .types
                    .insert(name.to_string(), kind.to_string())
                    .is_some()
                {
                    fail("a second TYPE line for one metric");
                }
            }
            continue;
        }
        match sample(line) {
            Ok(sample) => out.samples.push(sample),
            Err(why) => fail(&format!("expected {why}")),
        }
    }
    out
}
