//! pairsync's own figures from `GET /metrics` (Prometheus text format).

use std::collections::BTreeMap;

/// One scrape: every series (`name` or `name{labels}`) and its value.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    series: BTreeMap<String, f64>,
}

impl Metrics {
    /// Parses the text format: one `series value` a line, `#` lines skipped.
    pub fn parse(text: &str) -> Metrics {
        let series = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                Some((name.trim().to_string(), value.trim().parse().ok()?))
            })
            .collect();
        Metrics { series }
    }

    /// A series' value (`name` or `name{labels}` exactly as the server writes it).
    pub fn get(&self, series: &str) -> Option<f64> {
        self.series.get(series).copied()
    }

    /// A series' value as a count, 0 when the server has not written it yet (a labelled
    /// series appears once it has counted something).
    pub fn count(&self, series: &str) -> u64 {
        self.get(series).map_or(0, |v| v.max(0.0) as u64)
    }
}

/// Scrapes `{url}/metrics`; `None` when the server does not answer `200`.
pub async fn scrape(http: &reqwest::Client, url: &str) -> Option<Metrics> {
    let response = http.get(format!("{url}/metrics")).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    Some(Metrics::parse(&response.text().await.ok()?))
}
