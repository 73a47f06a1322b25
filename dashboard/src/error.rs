//! Dashboard errors, their code in the shared set, and how each becomes an HTTP reply.

use std::convert::Infallible;

use secuml_engine::parquet_file::FileError;
use secuml_proto::ErrorCode;
use secuml_runtime::StoreError;
use serde::Serialize;
use warp::http::StatusCode;
use warp::reject::Reject;
use warp::{Rejection, Reply};

/// What can go wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// Nothing exists under the requested name.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. "experiment 12".
        what: String,
    },
    /// The request itself is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request uses a method the dashboard does not serve.
    #[error("method {0} is not allowed")]
    MethodNotAllowed(String),
    /// The request is larger than the dashboard accepts.
    #[error("request too large: {0}")]
    TooLarge(String),
    /// A stored record cannot be decoded.
    #[error("stored record at {key} is unreadable: {reason}")]
    BadRecord {
        /// Store key (and field) of the record.
        key: String,
        /// The decoding error.
        reason: String,
    },
    /// A file a stored record names cannot be read.
    #[error("file {file} is unreadable: {reason}")]
    BadFile {
        /// The file, relative to the datasets folder.
        file: String,
        /// The reading error.
        reason: String,
    },
    /// The dashboard itself failed (a read task panicked).
    #[error("internal error: {0}")]
    Internal(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Reject for DashboardError {}

impl DashboardError {
    /// Builds a [`DashboardError::NotFound`].
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// The error of reading the stored file shown as `relative`: `missing()` when it does not
    /// exist, else a bad file with the cause.
    pub(crate) fn of_file(relative: &str, e: FileError, missing: impl FnOnce() -> Self) -> Self {
        let reason = match e {
            FileError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                return missing();
            }
            FileError::Io { source, .. } => source.to_string(),
            FileError::Parquet { message, .. } => message,
        };
        Self::BadFile {
            file: relative.to_string(),
            reason,
        }
    }

    /// The code of this error in the shared set.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::BadRequest(_) | Self::MethodNotAllowed(_) | Self::TooLarge(_) => {
                ErrorCode::BadRequest
            }
            Self::BadRecord { .. } | Self::BadFile { .. } => ErrorCode::BadData,
            Self::Internal(_) => ErrorCode::Internal,
            Self::Store(StoreError::Unavailable(_)) => ErrorCode::Unavailable,
            Self::Store(StoreError::Corrupt { .. }) => ErrorCode::BadData,
            Self::Store(_) => ErrorCode::Internal,
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            _ => status_of_code(self.code()),
        }
    }
}

/// Maps a shared error code to its HTTP status.
pub fn status_of_code(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::BadData | ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// JSON body of every error reply.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// The shared error code.
    pub code: ErrorCode,
    /// Lowercase message, no trailing period.
    pub message: String,
}

/// Turns any rejection into a JSON error reply with the right status.
pub async fn handle_rejection(rejection: Rejection) -> Result<warp::reply::Response, Infallible> {
    let (status, body) = if let Some(err) = rejection.find::<DashboardError>() {
        if err.status().is_server_error() {
            tracing::warn!(error = %err, "request failed");
        }
        (
            err.status(),
            ErrorBody {
                code: err.code(),
                message: err.to_string(),
            },
        )
    } else if rejection.is_not_found() {
        let body = ErrorBody {
            code: ErrorCode::NotFound,
            message: "no such page".into(),
        };
        (StatusCode::NOT_FOUND, body)
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        let body = ErrorBody {
            code: ErrorCode::BadRequest,
            message: "method not allowed".into(),
        };
        (StatusCode::METHOD_NOT_ALLOWED, body)
    } else {
        tracing::debug!(?rejection, "request rejected");
        let body = ErrorBody {
            code: ErrorCode::BadRequest,
            message: "bad request".into(),
        };
        (StatusCode::BAD_REQUEST, body)
    };
    let reply = warp::reply::with_status(warp::reply::json(&body), status);
    Ok(crate::security::with_security_headers(
        reply.into_response(),
    ))
}
