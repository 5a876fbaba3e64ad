//! Powens API errors as contract errors, classified for the engine's retries.

use connector_core::ConnectorError;

/// Maps a `powens-api` error to the contract's [`ConnectorError`]:
///
/// | `powens_api::Error` | `ConnectorError` | engine |
/// |---|---|---|
/// | `Config` | `InvalidConfig` | permanent |
/// | `InvalidRequest`, `NextLink` | `InvalidRequest` | permanent |
/// | `Transport` (timeout) | `UpstreamTimeout` | retried |
/// | `Transport` (other: reset, refused) | `Other` | retried |
/// | `Api` | by HTTP status (`from_http_status`) | 5xx retried, 4xx permanent |
/// | `RateLimited` | `UpstreamRateLimited` (with `Retry-After`) | retried after the delay |
/// | `Decode` (e.g. a truncated page) | `Other` | retried |
///
/// Messages come from `powens-api`, which never puts a token or a query string in them.
pub fn to_connector_error(error: powens_api::Error) -> ConnectorError {
    use powens_api::Error as E;
    match error {
        E::Config { message } => ConnectorError::InvalidConfig { message },
        E::InvalidRequest { .. } | E::NextLink { .. } => ConnectorError::InvalidRequest {
            message: error.to_string(),
        },
        E::Transport { .. } if error.is_timeout() => ConnectorError::UpstreamTimeout {
            message: error.to_string(),
        },
        E::Api(ref api) => {
            let status = api.status;
            ConnectorError::from_http_status(status, error.to_string(), None)
        }
        E::RateLimited { retry_after, .. } => ConnectorError::UpstreamRateLimited { retry_after },
        other => ConnectorError::Other {
            message: format!("Powens call failed: {other}"),
            source: Some(Box::new(other)),
        },
    }
}
