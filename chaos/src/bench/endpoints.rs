//! Parsing endpoint lists given on the command line (`A,B,C`) into `http://127.0.0.1:PORT` URLs.
//! Only loopback addresses are accepted: all of this project's traffic stays on 127.0.0.0/8.

use std::net::IpAddr;

/// One endpoint (`127.0.0.1:2379`, `http://127.0.0.1:2379` or `localhost:2379`) as
/// `http://HOST:PORT`.
pub fn parse_endpoint(raw: &str) -> anyhow::Result<String> {
    let s = raw.trim().trim_end_matches('/');
    let hostport = match s.split_once("://") {
        Some(("http", rest)) => rest,
        Some((scheme, _)) => {
            anyhow::bail!("endpoint `{raw}`: only http:// is supported, not {scheme}://")
        }
        None => s,
    };
    let (host, port) = hostport
        .rsplit_once(':')
        .ok_or_else(|| anyhow::anyhow!("endpoint `{raw}` has no :PORT"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| anyhow::anyhow!("endpoint `{raw}`: bad port `{port}`"))?;
    anyhow::ensure!(port != 0, "endpoint `{raw}`: port 0");
    let loopback = host == "localhost"
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    anyhow::ensure!(
        loopback,
        "endpoint `{raw}` is not a loopback address (127.0.0.0/8 only)"
    );
    Ok(format!("http://{host}:{port}"))
}

/// A list of endpoints (items may themselves hold commas); empty items are skipped.
pub fn parse_endpoints(list: &[String]) -> anyhow::Result<Vec<String>> {
    list.iter()
        .flat_map(|item| item.split(','))
        .filter(|s| !s.trim().is_empty())
        .map(parse_endpoint)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_loopback_forms() {
        assert_eq!(
            parse_endpoint("127.0.0.1:2379").unwrap(),
            "http://127.0.0.1:2379"
        );
        assert_eq!(
            parse_endpoint(" http://127.0.0.5:80/ ").unwrap(),
            "http://127.0.0.5:80"
        );
        assert_eq!(parse_endpoint("localhost:1").unwrap(), "http://localhost:1");
        assert_eq!(parse_endpoint("[::1]:9").unwrap(), "http://[::1]:9");
    }

    #[test]
    fn rejects_the_rest() {
        for bad in [
            "10.0.0.1:2379",
            "https://127.0.0.1:1",
            "127.0.0.1",
            "127.0.0.1:x",
            "127.0.0.1:0",
            "example.com:80",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lists_split_on_commas() {
        let got = parse_endpoints(&[
            "127.0.0.1:1,127.0.0.1:2".into(),
            "".into(),
            "127.0.0.1:3".into(),
        ])
        .unwrap();
        assert_eq!(
            got,
            [
                "http://127.0.0.1:1",
                "http://127.0.0.1:2",
                "http://127.0.0.1:3"
            ]
        );
        assert!(parse_endpoints(&["127.0.0.1:1,10.1.1.1:2".into()]).is_err());
    }
}
