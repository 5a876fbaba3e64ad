//! The configured Powens endpoint and the two roots derived from it.

use url::Url;

use crate::error::Error;

/// Where the client sends requests.
///
/// Accepts the API root with or without its version segment: `https://acme.biapi.pro/2.0` and
/// `https://acme.biapi.pro` configure the same client. From it two roots are derived:
/// * the **API root** `…/2.0/`, under which every data and auth route lives
///   (`/2.0/users/me/accounts`, `/2.0/auth/init`, …);
/// * the **host root** `…/`, under which `/webhooks/auth` lives (Powens serves it without
///   `/2.0`).
///
/// A path prefix before `/2.0` is kept (`http://127.0.0.1:8080/powens/2.0` → host root
/// `http://127.0.0.1:8080/powens/`), so a sandbox can be mounted anywhere. `https` is required
/// except for loopback hosts (`127.0.0.1`, `::1`, `localhost`), because every request carries a
/// bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub(crate) api_root: Url,
    host_root: Url,
}

impl Endpoint {
    /// Parses and validates an endpoint (see the type docs).
    pub fn parse(endpoint: &str) -> Result<Self, Error> {
        let config = |message: String| Error::Config { message };
        let url = Url::parse(endpoint.trim()).map_err(|err| {
            config(format!(
                "endpoint {} is not an absolute URL ({err}); expected e.g. https://acme.biapi.pro/2.0",
                shown(endpoint)
            ))
        })?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(config(format!(
                "endpoint {} must not carry a query string or fragment",
                shown(endpoint)
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(config(
                "endpoint must not embed credentials (user:password@host)".to_owned(),
            ));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(config(format!(
                    "endpoint {} uses plain http; only https is allowed except for loopback hosts",
                    shown(endpoint)
                )))
            }
            other => {
                return Err(config(format!(
                    "endpoint scheme {other:?} is not supported; expected https"
                )))
            }
        }
        let path = url.path().trim_end_matches('/');
        let host_path = path.strip_suffix("/2.0").unwrap_or(path).to_owned();
        let mut host_root = url.clone();
        host_root.set_path(&format!("{host_path}/"));
        let mut api_root = url;
        api_root.set_path(&format!("{host_path}/2.0/"));
        Ok(Self {
            api_root,
            host_root,
        })
    }

    /// The versioned root, ending in `/2.0/`.
    pub fn api_root(&self) -> &Url {
        &self.api_root
    }

    /// The unversioned root, ending in `/` (where `/webhooks/auth` lives).
    pub fn host_root(&self) -> &Url {
        &self.host_root
    }

    /// `{api_root}{relative}`, for a relative path made of trusted segments.
    pub(crate) fn api(&self, relative: &str) -> Result<Url, Error> {
        join(&self.api_root, relative)
    }

    /// `{host_root}{relative}`.
    pub(crate) fn host(&self, relative: &str) -> Result<Url, Error> {
        join(&self.host_root, relative)
    }
}

/// The endpoint text for an error message: quoted, or hidden when it may embed credentials
/// (`user:password@host`), whatever else is wrong with it.
pub(crate) fn shown(endpoint: &str) -> String {
    if endpoint.contains('@') {
        "(hidden: it embeds user:password@ credentials)".to_owned()
    } else {
        format!("{endpoint:?}")
    }
}

fn join(root: &Url, relative: &str) -> Result<Url, Error> {
    root.join(relative).map_err(|err| Error::Config {
        message: format!("cannot build a URL from {root} and {relative:?}: {err}"),
    })
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
