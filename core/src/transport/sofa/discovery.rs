//! Finding session servers: `GET /api/servers/query` on a session server's HTTP port
//! (9603) answers `ip:port;ip:port` with the session servers' Bolt addresses. The client
//! bootstraps from the configured HTTP endpoints, keeps the list in the node-list cache
//! (so a restart finds the servers when the HTTP endpoints are down) and refreshes it while
//! connected.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

use crate::error::{Error, ErrorKind, Result};
use crate::members::MemberView;
use crate::members::{normalize, Members};

/// A session server's HTTP port, when an endpoint names none.
pub const DEFAULT_HTTP_PORT: u16 = 9603;

/// How often a connected client refreshes the list of session servers.
pub const REFRESH_EVERY: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub(crate) struct Discovery {
    /// The HTTP endpoints (`host:port`) to ask.
    http: Vec<String>,
    timeout: Duration,
}

impl Discovery {
    pub fn new(endpoints: &[String], timeout: Duration) -> Result<Discovery> {
        let http = endpoints
            .iter()
            .map(|e| {
                let e = e.trim().trim_end_matches('/');
                if e.rsplit_once(':')
                    .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
                {
                    normalize(e)
                } else {
                    normalize(&format!("{e}:{DEFAULT_HTTP_PORT}"))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Discovery { http, timeout })
    }

    /// The session servers, from the first HTTP endpoint that answers; `None` when none did.
    pub async fn query(&self) -> Option<MemberView> {
        for endpoint in &self.http {
            match get(endpoint, "/api/servers/query", self.timeout).await {
                Ok(body) => {
                    let members = parse_servers(&body);
                    if !members.is_empty() {
                        return Some(MemberView {
                            members,
                            leader: None,
                        });
                    }
                    tracing::warn!(
                        endpoint,
                        body,
                        "the session server lists no session servers"
                    );
                }
                Err(e) => tracing::debug!(endpoint, "cannot list the session servers: {e}"),
            }
        }
        None
    }

    /// Where to connect this round: the listed servers (refreshed now when an HTTP endpoint
    /// answers, else the cached list), in random order so clients spread over them.
    pub async fn candidates(&self, members: &Members) -> Vec<String> {
        if let Some(view) = self.query().await {
            members.update(view);
        }
        let mut list = members.candidates();
        fastrand::shuffle(&mut list);
        list
    }
}

/// `ip:port;ip:port` (the text form of `/api/servers/query`) as `host:port` endpoints.
pub fn parse_servers(body: &str) -> Vec<String> {
    body.trim()
        .trim_matches(|c| c == '[' || c == ']')
        .split([';', ','])
        .map(|s| s.trim().trim_matches('"'))
        .filter(|s| !s.is_empty())
        .filter_map(|s| normalize(s).ok())
        .collect()
}

/// A plain HTTP/1.1 GET; the body as text.
async fn get(endpoint: &str, path: &str, timeout: Duration) -> Result<String> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::new(
            ErrorKind::NotConnected,
            format!("http://{endpoint}{path}: {e}"),
        )
    };
    let fetch = async {
        let stream = tokio::net::TcpStream::connect(endpoint)
            .await
            .map_err(|e| fail(&e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| fail(&e))?;
        tokio::spawn(conn);
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, endpoint)
            .body(Empty::<Bytes>::new())
            .map_err(|e| fail(&e))?;
        let response = sender.send_request(request).await.map_err(|e| fail(&e))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| fail(&e))?
            .to_bytes();
        let text = String::from_utf8_lossy(&body).into_owned();
        if !status.is_success() {
            return Err(fail(&format!("HTTP {status}: {text}")));
        }
        Ok(text)
    };
    tokio::time::timeout(timeout, fetch).await.map_err(|_| {
        fail(&format!(
            "no answer within {}",
            crate::error::duration_text(timeout)
        ))
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_lists_parse_in_both_forms() {
        assert_eq!(
            parse_servers("10.0.0.1:9600;10.0.0.2:9600\n"),
            ["10.0.0.1:9600", "10.0.0.2:9600"]
        );
        assert_eq!(parse_servers("[\"127.0.0.1:9600\"]"), ["127.0.0.1:9600"]);
        assert!(parse_servers("").is_empty());
        assert!(parse_servers("<html>oops</html>").is_empty());
    }

    #[test]
    fn endpoints_default_to_the_http_port() {
        let d =
            Discovery::new(&["127.0.0.1".into(), "h:1".into()], Duration::from_secs(1)).unwrap();
        assert_eq!(d.http, ["127.0.0.1:9603", "h:1"]);
        assert!(Discovery::new(&["".into()], Duration::from_secs(1)).is_err());
    }
}
