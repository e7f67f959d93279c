//! What start-up says first, for the person who started the server: where to open it,
//! whether other machines can reach it (and how to let them), then the address it
//! listens on in the one form scripts read (`listening on SCHEME://ADDRESS`).

use std::net::{IpAddr, SocketAddr};

/// The lines that open the log, in order, for a server of `scheme` listening on `addr`.
pub fn where_to_open(scheme: &str, addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let ip = addr.ip();
    let mut lines = Vec::new();
    if ip.is_unspecified() {
        let here = if ip.is_ipv4() { "127.0.0.1" } else { "[::1]" };
        let name = host_name().unwrap_or_else(|| "this machine's address".into());
        lines.push(format!(
            "open {scheme}://{here}:{port}/ in a browser to make a pair room; \
             others open {scheme}://{name}:{port}/ (this machine's name or address)"
        ));
    } else {
        lines.push(format!(
            "open {scheme}://{}/ in a browser to make a pair room",
            shown(addr)
        ));
    }
    if ip.is_loopback() {
        let everywhere = if ip.is_ipv4() { "0.0.0.0" } else { "[::]" };
        lines.push(format!(
            "{ip} is this machine only: other machines cannot open its room links. To share \
             them, start with PAIRSYNC_BIND={everywhere}:{port} (or --bind {everywhere}:{port})"
        ));
    }
    lines.push(format!("listening on {scheme}://{}", shown(addr)));
    lines
}

/// `addr` as a URL writes it (`[v6]:port`).
fn shown(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
        IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
    }
}

/// This machine's host name, as the kernel has it.
fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_server_says_where_to_open_it_then_that_others_cannot() {
        let lines = where_to_open("http", "127.0.0.1:8080".parse().expect("address"));
        assert_eq!(
            lines,
            [
                "open http://127.0.0.1:8080/ in a browser to make a pair room",
                "127.0.0.1 is this machine only: other machines cannot open its room links. \
                 To share them, start with PAIRSYNC_BIND=0.0.0.0:8080 (or --bind 0.0.0.0:8080)",
                "listening on http://127.0.0.1:8080",
            ]
        );
    }

    #[test]
    fn a_server_on_every_address_names_this_machine_for_others() {
        let lines = where_to_open("https", "0.0.0.0:9000".parse().expect("address"));
        assert!(
            lines[0].starts_with("open https://127.0.0.1:9000/ in a browser"),
            "{lines:?}"
        );
        assert!(lines[0].contains("others open https://"), "{lines:?}");
        assert_eq!(lines.len(), 2, "no loopback warning: {lines:?}");
        assert_eq!(lines[1], "listening on https://0.0.0.0:9000");
    }

    #[test]
    fn a_v6_loopback_is_written_as_a_url_host() {
        let lines = where_to_open("http", "[::1]:8080".parse().expect("address"));
        assert_eq!(
            lines[0],
            "open http://[::1]:8080/ in a browser to make a pair room"
        );
        assert!(lines[1].contains("PAIRSYNC_BIND=[::]:8080"), "{lines:?}");
        assert_eq!(lines[2], "listening on http://[::1]:8080");
    }
}
