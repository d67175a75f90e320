//! The tenant's event stream (server-sent events): `order.placed`, `plugin.uploaded`,
//! `plugin.deployed`, `plugin.shadow-deployed`, `plugin.canary-deployed`, `plugin.promoted`,
//! `plugin.canary-rolled-back`, `plugin.rolled-back`. Each event's SSE id is the tenant's own event
//! number (1, 2, 3, ...: other tenants' events never show in it), so a client that reconnects
//! with `Last-Event-ID` gets what it missed, then live events.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt as _};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::admin::require_tenant;
use super::{Admin, ApiError, ApiPath, ApiResult, AppState, ErrorBody, TenantAuth};
use crate::store::EventRecord;

/// Events replayed on (re)connect, at most.
const REPLAY_LIMIT: u32 = 1_000;

#[utoipa::path(get, path = "/v1/events", tag = "plugins", security(("api_key" = [])),
    params(("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event")),
    responses((status = 200, description = "text/event-stream of this tenant's events", content_type = "text/event-stream", body = super::schema::EventFrame)))]
pub async fn stream(
    TenantAuth(tenant): TenantAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    events_of(state, tenant.id, headers).await
}

#[utoipa::path(get, path = "/admin/tenants/{tenant}/events", tag = "admin",
    security(("admin_token" = [])),
    params(("tenant" = String, Path),
           ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event")),
    responses((status = 200, description = "text/event-stream of the tenant's events, as the tenant's own stream has them", content_type = "text/event-stream", body = super::schema::EventFrame),
              (status = 404, body = ErrorBody)))]
pub async fn admin_stream(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let tenant = require_tenant(&state, &tenant).await?;
    events_of(state, tenant.id, headers).await
}

/// The tenant's events after `Last-Event-ID` (when given), then live ones.
async fn events_of(
    state: AppState,
    tenant_id: String,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let after = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid-last-event-id",
                        "Last-Event-ID must be an event id",
                    )
                })?,
        ),
    };
    // Subscribe first, then read how far the bus has got: events up to there are replayed
    // from the outbox, later ones arrive live, and the position filter drops what both deliver.
    let live = BroadcastStream::new(state.events().subscribe());
    let tailed = state.events().tailed();
    let replay = match after {
        Some(seq) => {
            state
                .store()
                .events_after(&tenant_id, seq, tailed, REPLAY_LIMIT)
                .await?
        }
        None => Vec::new(),
    };
    // A full page may not reach `tailed`: end after it, and the client's reconnect (with the
    // last id it got) continues the replay, instead of skipping to live events.
    let full_page = replay.len() == REPLAY_LIMIT as usize;
    let mut last_position = match replay.last() {
        Some(event) if full_page => event.position,
        _ => tailed,
    };
    let live = live.take(if full_page { 0 } else { usize::MAX });
    let live = live.filter_map(move |received| {
        let item = match received {
            Ok(event) if event.tenant_id == tenant_id && event.position > last_position => {
                last_position = event.position;
                Some(sse_event(&event))
            }
            Ok(_) => None,
            Err(BroadcastStreamRecvError::Lagged(missed)) => Some(
                Event::default()
                    .event("stream.lagged")
                    .data(format!("{{\"missed\":{missed}}}")),
            ),
        };
        std::future::ready(item.map(Ok))
    });
    let draining = state.draining();
    let events = stream::iter(replay.into_iter().map(|e| Ok(sse_event(&e))))
        .chain(live)
        // Ends the stream when the server shuts down, so it does not hold shutdown open.
        .take_until(draining);
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

fn sse_event(event: &EventRecord) -> Event {
    Event::default()
        .id(event.seq.to_string())
        .event(event.kind.clone())
        .data(serde_json::to_string(event).expect("events serialize"))
}
