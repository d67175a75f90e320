//! A small blocking client for the service's HTTP API, for the demo and the tests that need
//! real connections.

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Api {
    agent: ureq::Agent,
    base: String,
}

/// Status and JSON body (`Null` when empty or not JSON).
pub type Reply = (u16, Value);

impl Api {
    pub fn new(base: impl Into<String>) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            agent,
            base: base.into(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn get(&self, path: &str, key: &str) -> anyhow::Result<Reply> {
        let response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {key}"))
            .call()?;
        read(response)
    }

    /// POSTs JSON; `headers` are added as given.
    pub fn post(
        &self,
        path: &str,
        key: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Reply> {
        let mut request = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {key}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.send_json(body)?)
    }

    /// PUTs JSON.
    pub fn put(&self, path: &str, key: &str, body: &Value) -> anyhow::Result<Reply> {
        let response = self
            .agent
            .put(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {key}"))
            .send_json(body)?;
        read(response)
    }

    /// POSTs a component as `application/wasm`.
    pub fn upload(&self, path: &str, key: &str, wasm: &[u8]) -> anyhow::Result<Reply> {
        let response = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/wasm")
            .send(wasm)?;
        read(response)
    }
}

impl Api {
    /// Reads `path`'s server-sent events until one of `kind` arrives (its data, parsed) or
    /// `within` passes (`None`).
    pub fn wait_for_event(
        &self,
        path: &str,
        key: &str,
        kind: &str,
        within: std::time::Duration,
    ) -> anyhow::Result<Option<Value>> {
        use std::io::BufRead as _;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(within))
            .build()
            .into();
        let response = agent
            .get(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {key}"))
            .call()?;
        let mut current = String::new();
        for line in std::io::BufReader::new(response.into_body().into_reader()).lines() {
            // The deadline ends the read with an error: nothing of that kind came in time.
            let Ok(line) = line else { return Ok(None) };
            if let Some(event) = line.strip_prefix("event: ") {
                current = event.to_owned();
            } else if let Some(data) = line.strip_prefix("data: ")
                && current == kind
            {
                return Ok(Some(serde_json::from_str(data)?));
            }
        }
        Ok(None)
    }
}

fn read(mut response: ureq::http::Response<ureq::Body>) -> anyhow::Result<Reply> {
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string()?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}
