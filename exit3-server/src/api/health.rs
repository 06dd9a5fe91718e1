//! `/backend/health/` (readiness) and `/backend/health/live/` (liveness): no key, never
//! throttled.

use std::{sync::Arc, time::Duration};

use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::{ApiState, ApiTags};

/// How long the store may take to answer a readiness check.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// A readiness answer.
#[derive(Debug, Object)]
pub struct Readiness {
    /// `ok` or `error`.
    pub status: String,
    /// `ok` or `unavailable`.
    pub database: String,
}

/// A liveness answer.
#[derive(Debug, Object)]
pub struct Liveness {
    /// Always `ok`.
    pub status: String,
}

/// `GET /backend/health/`.
#[derive(Debug, ApiResponse)]
pub enum ReadinessResponse {
    /// `{"status":"ok","database":"ok"}`
    #[oai(status = 200)]
    Ok(Json<Readiness>),
    /// `{"status":"error","database":"unavailable"}`: the store did not answer within
    /// 2 seconds.
    #[oai(status = 503)]
    Unavailable(Json<Readiness>),
}

/// `GET /backend/health/live/`.
#[derive(Debug, ApiResponse)]
pub enum LivenessResponse {
    /// `{"status":"ok"}`
    #[oai(status = 200)]
    Ok(Json<Liveness>),
}

/// The health checks.
#[derive(Debug, Clone)]
pub struct HealthApi(pub Arc<ApiState>);

#[OpenApi(prefix_path = "/backend", tag = "ApiTags::Health")]
impl HealthApi {
    /// Readiness
    ///
    /// Whether the store answers within 2 seconds. No key; never throttled.
    #[oai(path = "/health/", method = "get", operation_id = "health_ready")]
    async fn ready(&self) -> ReadinessResponse {
        match tokio::time::timeout(STORE_TIMEOUT, self.0.exit3.health()).await {
            Ok(Ok(())) => ReadinessResponse::Ok(Json(Readiness {
                status: "ok".into(),
                database: "ok".into(),
            })),
            outcome => {
                match outcome {
                    Ok(Err(e)) => tracing::warn!(error = %e, "readiness: store unavailable"),
                    _ => tracing::warn!("readiness: store timed out"),
                }
                ReadinessResponse::Unavailable(Json(Readiness {
                    status: "error".into(),
                    database: "unavailable".into(),
                }))
            }
        }
    }

    /// Liveness
    ///
    /// Answers without touching the store.
    #[oai(path = "/health/live/", method = "get", operation_id = "health_live")]
    async fn live(&self) -> LivenessResponse {
        LivenessResponse::Ok(Json(Liveness {
            status: "ok".into(),
        }))
    }
}
