//! The suite's reader of the Prometheus text format holds to it: a series is found by its
//! whole name and labels only, and a line that breaks the format fails.

use crate::helpers::exposition::parse;

#[test]
fn a_series_is_found_by_its_whole_name_and_labels_only() {
    let text = "# HELP a_total A.\n# TYPE a_total counter\na_total 12\n\
                a_total_extra 3\nb{x=\"1\"} 4\nb{x=\"10\",y=\"a \\\"q\\\" \\\\ \\n\"} 5 1700000000000\n";
    let exposition = parse(text);
    assert_eq!(exposition.value("a_total"), 12.0);
    assert_eq!(exposition.types["a_total"], "counter");
    let labelled: Vec<(String, f64)> = exposition
        .samples
        .iter()
        .filter(|s| s.name == "b")
        .map(|s| (format!("{:?}", s.labels), s.value))
        .collect();
    assert_eq!(
        labelled,
        [
            (r#"{"x": "1"}"#.to_string(), 4.0),
            (r#"{"x": "10", "y": "a \"q\" \\ \n"}"#.to_string(), 5.0)
        ]
    );
}

#[test]
#[should_panic(expected = "no series a_tot")]
fn a_prefix_of_a_name_is_not_that_series() {
    parse("a_total 1\n").value("a_tot");
}

#[test]
#[should_panic(expected = "no series b")]
fn a_labelled_series_is_not_the_unlabelled_one() {
    parse("b{x=\"1\"} 1\n").value("b");
}

#[test]
#[should_panic(expected = "line 2")]
fn a_line_that_is_not_the_format_fails() {
    parse("a 1\na one\n");
}
