//! Failure codes shared by workers, the coordinator and the dashboard.

use serde::{Deserialize, Serialize};

/// A small closed set of error codes; the dashboard maps each to an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request or a parameter is invalid: retrying cannot help.
    BadRequest,
    /// Something named by the request does not exist.
    NotFound,
    /// Input data is malformed.
    BadData,
    /// A transient failure (IO, a lost connection): retrying may help.
    Unavailable,
    /// An unexpected internal failure.
    Internal,
}

/// A task failure as it travels on the wire.
///
/// The coordinator retries on `retryable`, never on the message text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskFailure {
    /// What kind of failure this is.
    pub code: ErrorCode,
    /// Human-readable message, lowercase, no trailing period.
    pub message: String,
    /// Whether running the task again may succeed.
    pub retryable: bool,
}

impl TaskFailure {
    /// A failure that retrying cannot fix.
    pub fn permanent(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retryable: false,
        }
    }

    /// A failure that a retry may fix.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::Unavailable,
            message: message.into(),
            retryable: true,
        }
    }
}

impl std::fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}
