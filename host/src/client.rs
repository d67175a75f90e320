//! A typed, blocking client for the service's admin API: what `mandi tenants|plugins|deploy|...`
//! run on, and what the end-to-end tests set tenants up with. Bodies are the service's own
//! types (the ones its OpenAPI document describes), so a change to one shows here at compile
//! time; a failed request is an [`ApiFailure`] with the service's error code and message.

use std::io::Read;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::{CreateTenant, CreatedKey, CreatedTenant, Deploy};
use crate::pipeline::HealthReport;
use crate::store::{DeploymentRecord, EventRecord, PluginRecord, RunFilter, RunRecord, Tenant};

/// The service answered with an error (or not as the API says it would).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} ({status}): {message}")]
pub struct ApiFailure {
    pub status: u16,
    /// The stable error code, e.g. `unknown-tenant`.
    pub code: String,
    pub message: String,
    pub details: Option<Value>,
}

/// Why a request did not give its answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Api(#[from] ApiFailure),
    #[error("could not reach {server}: {source}")]
    Unreachable {
        server: String,
        #[source]
        source: ureq::Error,
    },
    #[error("the service's answer was not what the API describes: {0}")]
    Unexpected(String),
}

pub type ClientResult<T> = Result<T, ClientError>;

/// The admin API of one service, with the platform admin token.
#[derive(Debug, Clone)]
pub struct AdminClient {
    agent: ureq::Agent,
    server: String,
    token: String,
}

impl AdminClient {
    /// `server` is the service's base URL, e.g. `http://127.0.0.1:8080`.
    pub fn new(server: impl Into<String>, token: impl Into<String>) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Uploads are compiled before the answer; a large component takes seconds.
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Self {
            agent,
            server: server.into().trim_end_matches('/').to_owned(),
            token: token.into(),
        }
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn create_tenant(&self, tenant: &CreateTenant) -> ClientResult<CreatedTenant> {
        self.send("POST", "/admin/tenants", Some(tenant))
    }

    /// Every tenant's health over the last `minutes`.
    pub fn health(&self, minutes: u32) -> ClientResult<HealthReport> {
        self.send(
            "GET",
            &format!("/admin/health?minutes={minutes}"),
            None::<&()>,
        )
    }

    pub fn tenants(&self) -> ClientResult<Vec<Tenant>> {
        self.send("GET", "/admin/tenants", None::<&()>)
    }

    pub fn create_api_key(&self, tenant: &str) -> ClientResult<CreatedKey> {
        let path = format!("/admin/tenants/{}/api-keys", segment(tenant));
        self.send("POST", &path, None::<&()>)
    }

    /// Uploads a component; `progress` is told the bytes sent so far as they go.
    pub fn upload(
        &self,
        tenant: &str,
        wasm: &[u8],
        progress: impl FnMut(u64),
    ) -> ClientResult<PluginRecord> {
        let path = format!("/admin/tenants/{}/plugins", segment(tenant));
        let mut reader = Progress {
            inner: wasm,
            sent: 0,
            report: progress,
        };
        let response = self
            .agent
            .post(self.url(&path))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/wasm")
            .header("content-length", wasm.len().to_string())
            .send(ureq::SendBody::from_reader(&mut reader));
        self.answer(response)
    }

    pub fn plugins(&self, tenant: &str) -> ClientResult<Vec<PluginRecord>> {
        let path = format!("/admin/tenants/{}/plugins", segment(tenant));
        self.send("GET", &path, None::<&()>)
    }

    pub fn deploy(&self, tenant: &str, deploy: &Deploy) -> ClientResult<DeploymentRecord> {
        let path = format!("/admin/tenants/{}/deployments", segment(tenant));
        self.send("POST", &path, Some(deploy))
    }

    /// The tenant's deployments, newest first per hook; only `hook`'s when given.
    pub fn deployments(
        &self,
        tenant: &str,
        hook: Option<&str>,
    ) -> ClientResult<Vec<DeploymentRecord>> {
        let mut path = format!("/admin/tenants/{}/deployments", segment(tenant));
        if let Some(hook) = hook {
            path.push_str(&format!("?hook={}", segment(hook)));
        }
        self.send("GET", &path, None::<&()>)
    }

    /// Brings the hook's previous version back; answers the deployment active again.
    pub fn rollback(&self, tenant: &str, hook: &str) -> ClientResult<DeploymentRecord> {
        let path = format!(
            "/admin/tenants/{}/deployments/{}/rollback",
            segment(tenant),
            segment(hook)
        );
        self.send("POST", &path, None::<&()>)
    }

    /// A shadow or canary deployment and what a shadow found so far.
    pub fn rollout(&self, tenant: &str, id: &str) -> ClientResult<Value> {
        let path = format!(
            "/admin/tenants/{}/rollouts/{}",
            segment(tenant),
            segment(id)
        );
        self.send("GET", &path, None::<&()>)
    }

    pub fn promote(&self, tenant: &str, id: &str) -> ClientResult<DeploymentRecord> {
        let path = format!(
            "/admin/tenants/{}/rollouts/{}/promote",
            segment(tenant),
            segment(id)
        );
        self.send("POST", &path, None::<&()>)
    }

    pub fn test_carts(&self, tenant: &str) -> ClientResult<Value> {
        let path = format!("/admin/tenants/{}/test-carts", segment(tenant));
        self.send("GET", &path, None::<&()>)
    }

    /// Saves a test cart (`{"request", "expect"}`), new or replacing the one of that name.
    pub fn put_test_cart(&self, tenant: &str, name: &str, cart: &Value) -> ClientResult<Value> {
        let path = format!(
            "/admin/tenants/{}/test-carts/{}",
            segment(tenant),
            segment(name)
        );
        self.send("PUT", &path, Some(cart))
    }

    pub fn delete_test_cart(&self, tenant: &str, name: &str) -> ClientResult<()> {
        let path = format!(
            "/admin/tenants/{}/test-carts/{}",
            segment(tenant),
            segment(name)
        );
        self.send::<Value>("DELETE", &path, None::<&()>).map(drop)
    }

    /// Replays a candidate on the tenant's recorded checkouts (the body of
    /// `POST /admin/tenants/{t}/replays`).
    pub fn replay(&self, tenant: &str, request: &Value) -> ClientResult<Value> {
        let path = format!("/admin/tenants/{}/replays", segment(tenant));
        self.send("POST", &path, Some(request))
    }

    /// The tenant's recorded checkouts of `hook`: the file `mandi plugin replay --runs` reads.
    pub fn recorded_runs(
        &self,
        tenant: &str,
        hook: &str,
        last: Option<u32>,
    ) -> ClientResult<Value> {
        let mut path = format!(
            "/admin/tenants/{}/recorded-runs?hook={}",
            segment(tenant),
            segment(hook)
        );
        if let Some(last) = last {
            path.push_str(&format!("&last={last}"));
        }
        self.send("GET", &path, None::<&()>)
    }

    /// The tenant's plugin runs, newest first.
    pub fn runs(&self, tenant: &str, filter: &RunFilter) -> ClientResult<Vec<RunRecord>> {
        let query = serde_urlencoded_query(filter);
        let path = format!("/admin/tenants/{}/runs{query}", segment(tenant));
        self.send("GET", &path, None::<&()>)
    }

    pub fn run(&self, tenant: &str, id: i64) -> ClientResult<RunRecord> {
        let path = format!("/admin/tenants/{}/runs/{id}", segment(tenant));
        self.send("GET", &path, None::<&()>)
    }

    /// Follows the tenant's events (after event `after`, when given, else from now): each
    /// event as it comes, until the connection ends or `on_event` says stop (false).
    pub fn follow_events(
        &self,
        tenant: &str,
        after: Option<i64>,
        mut on_event: impl FnMut(EventRecord) -> bool,
    ) -> ClientResult<()> {
        use std::io::BufRead as _;
        let path = format!("/admin/tenants/{}/events", segment(tenant));
        // A stream has no end to wait for: no overall timeout.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut request = agent
            .get(self.url(&path))
            .header("authorization", format!("Bearer {}", self.token));
        if let Some(after) = after {
            request = request.header("last-event-id", after.to_string());
        }
        let response = request.call().map_err(|source| self.unreachable(source))?;
        if !response.status().is_success() {
            return Err(failure(response).into());
        }
        let mut kind = String::new();
        let reader = std::io::BufReader::new(response.into_body().into_reader());
        for line in reader.lines() {
            let line = line.map_err(|err| ClientError::Unexpected(err.to_string()))?;
            if let Some(event) = line.strip_prefix("event:") {
                kind = event.trim().to_owned();
            } else if let Some(data) = line.strip_prefix("data:") {
                if kind == "stream.lagged" {
                    continue;
                }
                let event: EventRecord = serde_json::from_str(data.trim())
                    .map_err(|err| ClientError::Unexpected(format!("an event: {err}")))?;
                if !on_event(event) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server)
    }

    fn unreachable(&self, source: ureq::Error) -> ClientError {
        ClientError::Unreachable {
            server: self.server.clone(),
            source,
        }
    }

    fn send<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> ClientResult<T> {
        let url = self.url(path);
        let auth = format!("Bearer {}", self.token);
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("authorization", &auth).call(),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("authorization", &auth)
                .call(),
            ("PUT", Some(body)) => self
                .agent
                .put(&url)
                .header("authorization", &auth)
                .send_json(body),
            ("POST", Some(body)) => self
                .agent
                .post(&url)
                .header("authorization", &auth)
                .send_json(body),
            ("POST", None) => self
                .agent
                .post(&url)
                .header("authorization", &auth)
                .send_empty(),
            (method, _) => unreachable!("no {method} without a body in this API"),
        };
        self.answer(response)
    }

    fn answer<T: DeserializeOwned>(
        &self,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> ClientResult<T> {
        let mut response = response.map_err(|source| self.unreachable(source))?;
        if !response.status().is_success() {
            return Err(failure(response).into());
        }
        let text = (response.body_mut().read_to_string())
            .map_err(|err| ClientError::Unexpected(err.to_string()))?;
        // A 204 has no body: read it as `null`.
        let text = if text.is_empty() { "null" } else { &text };
        serde_json::from_str(text).map_err(|err| ClientError::Unexpected(err.to_string()))
    }
}

/// The service's error body (`{"error": {"code", "message", "details"}}`), or what there was.
fn failure(mut response: ureq::http::Response<ureq::Body>) -> ApiFailure {
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let error = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|body| body.get("error").cloned());
    match error {
        Some(error) => ApiFailure {
            status,
            code: error["code"].as_str().unwrap_or("unknown").to_owned(),
            message: error["message"].as_str().unwrap_or_default().to_owned(),
            details: error.get("details").cloned().filter(|d| !d.is_null()),
        },
        None => ApiFailure {
            status,
            code: "unexpected-response".to_owned(),
            message: text.chars().take(200).collect(),
            details: None,
        },
    }
}

/// A path segment: ids are plain, but a name given on a command line may not be.
fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// `?hook=..&outcome=..` for the filter's fields that are set.
fn serde_urlencoded_query(filter: &RunFilter) -> String {
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    let fields = [
        ("hook", filter.hook.clone()),
        ("outcome", filter.outcome.clone()),
        ("deployment_id", filter.deployment_id.clone()),
        ("request_id", filter.request_id.clone()),
        ("before", filter.before.map(|b| b.to_string())),
        ("limit", filter.limit.map(|l| l.to_string())),
    ];
    let mut any = false;
    for (name, value) in fields {
        if let Some(value) = value {
            pairs.append_pair(name, &value);
            any = true;
        }
    }
    if any {
        format!("?{}", pairs.finish())
    } else {
        String::new()
    }
}

/// A reader that reports how much of it has been read: an upload's progress.
struct Progress<'a, F> {
    inner: &'a [u8],
    sent: u64,
    report: F,
}

impl<F: FnMut(u64)> Read for Progress<'_, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Small reads, so progress moves visibly on a slow link.
        let take = buf.len().min(64 << 10);
        let read = self.inner.read(&mut buf[..take])?;
        self.sent += read as u64;
        (self.report)(self.sent);
        Ok(read)
    }
}
