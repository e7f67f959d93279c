//! The benchmarks' command lines: the arguments as `cargo bench` passes them, and the
//! values of their flags, each refused through the benchmark's own `usage` (which prints
//! the problem and the usage and exits with status 2).

use std::net::IpAddr;
use std::str::FromStr;

/// Prints a problem and the usage, and exits with status 2.
pub type Usage = fn(&str) -> !;

/// The arguments after the program's name, without the `--bench` that `cargo bench`
/// appends to every bench binary's arguments.
pub fn arguments() -> impl Iterator<Item = String> {
    std::env::args().skip(1).filter(|arg| arg != "--bench")
}

/// The value that follows `flag`.
pub fn value(usage: Usage, flag: &str, rest: &mut impl Iterator<Item = String>) -> String {
    rest.next()
        .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
}

/// `value` as a `T`.
pub fn number<T: FromStr>(usage: Usage, flag: &str, value: &str) -> T {
    value
        .parse()
        .unwrap_or_else(|_| usage(&format!("{flag}: not a number: {value}")))
}

/// A comma-separated list of IP addresses.
pub fn ips(usage: Usage, flag: &str, value: &str) -> Vec<IpAddr> {
    value.split(',').map(|ip| number(usage, flag, ip)).collect()
}
