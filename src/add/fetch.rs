//! Fetching one page for `add`: only http and https; every host (each redirect too) resolved
//! once and refused when it is loopback, private, link-local or a cloud metadata address,
//! unless allowed; at most five redirects; a size cap; a time limit; gzip and brotli; a
//! User-Agent that names the bot.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use reqwest::header::{
    CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION,
};
use url::Url;

use super::AddError;

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 5;

/// Names the bot to the sites it reads.
pub const USER_AGENT: &str = concat!(
    "summit-qa/",
    env!("CARGO_PKG_VERSION"),
    " (news question-answering bot; adds articles an operator asks for)"
);

/// How pages are fetched: the limits from `[ingest]`.
#[derive(Debug, Clone)]
pub struct Fetcher {
    /// Whether hosts on loopback, private and link-local addresses may be read.
    pub allow_private_hosts: bool,
    /// Most bytes of one page (after decompression).
    pub max_bytes: usize,
    /// Longest wait for one response, body included.
    pub timeout: Duration,
}

/// A page as the server sent it.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Where it was found, after redirects.
    pub url: Url,
    /// Its declared media type and parameters (`text/html; charset=gbk`), if any.
    pub content_type: Option<String>,
    /// Its body, decompressed.
    pub body: Vec<u8>,
    /// What identifies this version, for a conditional GET next time.
    pub validators: Validators,
}

/// A page's `ETag` and `Last-Modified`, sent back as `If-None-Match` and `If-Modified-Since`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Validators {
    /// The `ETag` the server sent.
    pub etag: Option<String>,
    /// The `Last-Modified` the server sent.
    pub last_modified: Option<String>,
}

impl Fetcher {
    /// Fetches `address`, following redirects; refuses what the limits do not allow.
    pub async fn get(&self, address: &str) -> Result<Fetched, AddError> {
        let fetched = self.get_if_changed(address, &Validators::default()).await?;
        fetched.ok_or_else(|| AddError::Refused {
            page: address.to_string(),
            reason: "HTTP 304 Not Modified to a plain GET".into(),
        })
    }

    /// Fetches `address` unless it is unchanged since `known` (then `None`: HTTP 304).
    pub async fn get_if_changed(
        &self,
        address: &str,
        known: &Validators,
    ) -> Result<Option<Fetched>, AddError> {
        let mut url = checked_url(address)?;
        self.follow(&mut url, known).await.map_err(|e| match e {
            AddError::Refused { page, reason } if page != address => AddError::Refused {
                page: address.to_string(),
                reason: format!("{reason} (at {page})"),
            },
            other => other,
        })
    }

    async fn follow(&self, url: &mut Url, known: &Validators) -> Result<Option<Fetched>, AddError> {
        for _ in 0..=MAX_REDIRECTS {
            let addrs = self.resolve(url).await?;
            let response = self.send(url, &addrs, known).await?;
            let status = response.status();
            if status == reqwest::StatusCode::NOT_MODIFIED {
                return Ok(None);
            }
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| refused(url, format!("HTTP {status} without a Location")))?;
                let next = url
                    .join(location)
                    .map_err(|e| refused(url, format!("redirect to an invalid address: {e}")))?;
                *url = checked_url(next.as_str())?;
                continue;
            }
            if !status.is_success() {
                return Err(refused(url, format!("HTTP {status}")));
            }
            return self.body(url.clone(), response).await.map(Some);
        }
        Err(refused(url, format!("more than {MAX_REDIRECTS} redirects")))
    }

    /// The host's addresses, each checked; the request goes to exactly these (no second
    /// lookup a DNS answer could change in between).
    async fn resolve(&self, url: &Url) -> Result<Vec<SocketAddr>, AddError> {
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(80);
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|e| refused(url, format!("cannot resolve {host}: {e}")))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(refused(url, format!("{host} has no address")));
        }
        if !self.allow_private_hosts {
            if let Some(private) = addrs.iter().find(|a| is_private(a.ip())) {
                return Err(refused(
                    url,
                    format!(
                        "{host} resolves to {}, a loopback, private, link-local or metadata address; set ingest.allow_private_hosts = true to read it",
                        private.ip()
                    ),
                ));
            }
        }
        Ok(addrs)
    }

    async fn send(
        &self,
        url: &Url,
        addrs: &[SocketAddr],
        known: &Validators,
    ) -> Result<reqwest::Response, AddError> {
        let mut client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .connect_timeout(self.timeout)
            .timeout(self.timeout);
        if let Some(domain) = url.domain() {
            client = client.resolve_to_addrs(domain, addrs);
        }
        let client = client
            .build()
            .map_err(|e| refused(url, format!("HTTP client: {e}")))?;
        let mut request = client.get(url.clone());
        if let Some(etag) = &known.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(date) = &known.last_modified {
            request = request.header(IF_MODIFIED_SINCE, date);
        }
        request
            .send()
            .await
            .map_err(|e| refused(url, network(&e, self.timeout)))
    }

    async fn body(&self, url: Url, mut response: reqwest::Response) -> Result<Fetched, AddError> {
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let too_large = || {
            refused(
                &url,
                format!(
                    "the page is larger than {} bytes (ingest.max_page_bytes)",
                    self.max_bytes
                ),
            )
        };
        if declared.is_some_and(|n| n > self.max_bytes) {
            return Err(too_large());
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(CONTENT_TYPE);
        let validators = Validators {
            etag: header(ETAG),
            last_modified: header(LAST_MODIFIED),
        };
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| refused(&url, network(&e, self.timeout)))?
        {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            url,
            content_type,
            body,
            validators,
        })
    }
}

/// `address` parsed, when it is an http or https URL with a host.
pub fn checked_url(address: &str) -> Result<Url, AddError> {
    let url = Url::parse(address).map_err(|e| AddError::Refused {
        page: address.to_string(),
        reason: format!("not a URL ({e})"),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(refused(
            &url,
            "only http and https pages can be added".into(),
        ));
    }
    Ok(url)
}

fn refused(url: &Url, reason: String) -> AddError {
    AddError::Refused {
        page: url.to_string(),
        reason,
    }
}

fn network(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        format!(
            "no complete answer within {} s (ingest.timeout_seconds)",
            timeout.as_secs_f32()
        )
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        format!("network error: {e}")
    }
}

/// Loopback, private (RFC 1918, unique local), shared, link-local (cloud metadata
/// 169.254.169.254 among them), unspecified, broadcast or multicast.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_metadata_addresses_are_told_apart_from_public_ones() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.9",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "100.128.0.1"] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn only_web_addresses_are_fetched() {
        assert!(checked_url("https://example.com/a").is_ok());
        for bad in ["file:///etc/passwd", "ftp://example.com/x", "example.com/a"] {
            let e = checked_url(bad).unwrap_err().to_string();
            assert!(
                e.contains(bad.split('/').next().unwrap()) || e.contains("URL"),
                "{e}"
            );
        }
    }
}
