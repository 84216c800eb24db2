//! Watches (`?watch=1`): a stream of JSON lines `{"type": ..., "object": ...}` as client-go and
//! kube-rs read them. Without a resourceVersion (or with "0") the stream starts with an ADDED
//! event per existing object; with one it replays the remembered changes after it, or sends a
//! 410 Expired ERROR event when that version is too old, as the real server does.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::crud::present;
use super::{Ctx, stream_response};
use crate::kube::catalog::ResourceType;
use crate::kube::error::{ApiError, ApiResult};
use crate::kube::meta::labels;
use crate::kube::selectors::{FieldSelector, LabelSelector};
use crate::kube::store::{EventType, WatchEvent};

/// Longest a watch stays open without `timeoutSeconds` (the server's min-request-timeout).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

#[derive(Debug, Clone)]
struct Filter {
    rt: ResourceType,
    namespace: Option<String>,
    name: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn selects(&self, object: &Value) -> bool {
        self.labels.matches(&labels(object)) && self.fields.matches(object)
    }

    /// The event type this watch sees for a change, if any: an object modified into the
    /// selection is ADDED to it, one modified out of it is DELETED from it, as the real server's
    /// watch cache reports them.
    fn admits(&self, e: &WatchEvent) -> Option<&'static str> {
        let ours = e.key.group == self.rt.group
            && e.key.resource == self.rt.resource
            && self.namespace.as_ref().is_none_or(|ns| *ns == e.key.namespace)
            && self.name.as_ref().is_none_or(|n| *n == e.key.name);
        if !ours {
            return None;
        }
        let now = self.selects(&e.object);
        match (e.kind, e.previous.as_ref().map(|p| self.selects(p))) {
            (EventType::Modified, Some(false)) if now => Some(EventType::Added.as_str()),
            (EventType::Modified, Some(true)) if !now => Some(EventType::Deleted.as_str()),
            _ if now => Some(e.kind.as_str()),
            _ => None,
        }
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

struct Stream {
    pending: VecDeque<Bytes>,
    rx: Option<broadcast::Receiver<Arc<WatchEvent>>>,
    deadline: Instant,
    filter: Filter,
}

async fn next(mut s: Stream) -> Option<(Result<Bytes, std::convert::Infallible>, Stream)> {
    loop {
        if let Some(b) = s.pending.pop_front() {
            return Some((Ok(b), s));
        }
        let rx = s.rx.as_mut()?;
        match tokio::time::timeout_at(s.deadline, rx.recv()).await {
            Ok(Ok(e)) => {
                if let Some(kind) = s.filter.admits(&e) {
                    return Some((Ok(line(kind, &present(&s.filter.rt, e.object.clone()))), s));
                }
            }
            // Lagged, closed or timed out: end the stream; clients resume from their last version.
            _ => return None,
        }
    }
}

/// GET with `watch=1`.
pub(super) fn watch(ctx: &Ctx<'_>) -> ApiResult<Response> {
    let filter = Filter {
        rt: ctx.rt.clone(),
        namespace: ctx.rp.namespace.clone(),
        name: ctx.rp.name.clone(),
        labels: LabelSelector::parse(ctx.query.get("labelSelector").unwrap_or_default())
            .map_err(ApiError::bad_request)?,
        fields: FieldSelector::parse(ctx.query.get("fieldSelector").unwrap_or_default())
            .map_err(ApiError::bad_request)?,
    };
    let timeout = ctx
        .query
        .get("timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let since: u64 = ctx.query.get("resourceVersion").and_then(|rv| rv.parse().ok()).unwrap_or(0);
    let mut pending = VecDeque::new();
    let rx = if since == 0 {
        let (objects, rx) = ctx.shared.store.transact(|t| {
            let objects: Vec<Value> = t
                .list(&filter.rt.group, &filter.rt.resource, filter.namespace.as_deref())
                .into_iter()
                .map(|(k, o)| WatchEvent {
                    kind: EventType::Added,
                    key: k.clone(),
                    object: o.clone(),
                    rv: 0,
                    previous: None,
                })
                .filter(|e| filter.admits(e).is_some())
                .map(|e| e.object)
                .collect();
            (objects, t.subscribe())
        });
        pending.extend(objects.into_iter().map(|o| line("ADDED", &present(&filter.rt, o))));
        Some(rx)
    } else {
        match ctx.shared.store.watch_since(since) {
            Ok((backlog, rx)) => {
                pending.extend(backlog.iter().filter_map(|e| {
                    filter.admits(e).map(|kind| line(kind, &present(&filter.rt, e.object.clone())))
                }));
                Some(rx)
            }
            Err(oldest) => {
                pending.push_back(line("ERROR", &ApiError::expired(since, oldest).status()));
                None
            }
        }
    };
    let state = Stream { pending, rx, deadline: Instant::now() + timeout, filter };
    Ok(stream_response(Body::from_stream(futures::stream::unfold(state, next))))
}
