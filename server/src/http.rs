//! HTTP endpoints: `/health` and Prometheus `/metrics`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::Shared;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(shared)
}

async fn health(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let stats = shared.replica.registry.lock().stats();
    let body = format!(
        "{{\"status\":\"UP\",\"nodeId\":{},\"sessions\":{},\"publishers\":{},\"subscribers\":{}}}",
        shared.replica.config.node_id, stats.sessions_attached, stats.publishers, stats.subscribers
    );
    ([(CONTENT_TYPE, "application/json")], body)
}

async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let stats = shared.replica.registry.lock().stats();
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.replica.metrics.render(stats),
    )
}
