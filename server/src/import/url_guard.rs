//! The key travels in a header: over plain `http://` anyone on the path reads it. Only a
//! loopback server (the same machine) may be reached without TLS, unless the user says
//! `--insecure` (a private network they trust).

use std::net::IpAddr;

/// `Ok` when `url` may carry the key: `https://`, `http://` to a loopback host, or any
/// `http://` with `insecure`.
pub(crate) fn check(url: &str, insecure: bool) -> Result<(), String> {
    let Some(rest) = url.strip_prefix("http://") else {
        // https:// or a malformed URL: the client reports the latter.
        return Ok(());
    };
    if insecure {
        return Ok(());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    if is_loopback(host) {
        return Ok(());
    }
    Err(format!(
        "refusing to send the API key in clear to {host:?} over http://: use https://, or \
         --insecure if this network is trusted"
    ))
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| match ip {
            IpAddr::V4(v4) => v4.is_loopback(),
            IpAddr::V6(v6) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        })
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn plain_http_is_for_loopback_only_unless_insecure() {
        for ok in [
            "https://onboard.example.com",
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://localhost:8080/",
            "http://[::1]:8080",
            "http://user@localhost",
        ] {
            assert!(check(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "http://onboard.example.com",
            "http://192.0.2.7:8080",
            "http://0.0.0.0:8080",
            "http://[2001:db8::1]:8080",
            "http://localhost.evil.example",
            "http://127.0.0.1@evil.example",
        ] {
            assert!(check(bad, false).is_err(), "{bad}");
            assert!(check(bad, true).is_ok(), "{bad}");
        }
    }
}
