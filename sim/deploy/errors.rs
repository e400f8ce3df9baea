//! Deploy errors as flyctl builds them: a cause joined with phase sentinels (`errors.Join`), so that
//! rollback can ask `errors.Is(err, ErrX)` exactly as reference §5 does.
//!
//! A Go error tree built with `errors.Join` is flat in every place bluegreen uses it, so a
//! [`DeployError`] is a flat list of parts; [`DeployError::is`] is `errors.Is` and `Display` is
//! `errors.Join`'s text (the parts' texts joined with newlines).

use std::fmt;

use crate::api::{ApiError, ErrorKind, MachineId};

/// flyctl's sentinel errors (`strategy_bluegreen.go` at HEAD), with their exact texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sentinel {
    TagForDeletion,
    Aborted,
    WaitTimeout,
    CreateGreenMachine,
    WaitForStartedState,
    WaitForHealthy,
    MarkReadyForTraffic,
    CordonBlueMachines,
    StopBlueMachines,
    WaitForStoppedState,
    DestroyBlueMachines,
    ValidationError,
    OrgLimit,
    MultipleImageVersions,
}

impl Sentinel {
    pub fn text(self) -> &'static str {
        match self {
            Sentinel::TagForDeletion => "failed to mark as safe for deletion",
            Sentinel::Aborted => "deployment aborted by user",
            Sentinel::WaitTimeout => "wait timeout",
            Sentinel::CreateGreenMachine => "failed to create green machines",
            Sentinel::WaitForStartedState => "could not get all green machines into started state",
            Sentinel::WaitForHealthy => "could not get all green machines to be healthy",
            Sentinel::MarkReadyForTraffic => "failed to mark green machines as ready",
            Sentinel::CordonBlueMachines => "failed to cordon blue machines",
            Sentinel::StopBlueMachines => "failed to stop blue machines",
            Sentinel::WaitForStoppedState => "could not get all blue machines into stopped state",
            Sentinel::DestroyBlueMachines => "failed to destroy previous deployment",
            Sentinel::ValidationError => "app not in valid state for bluegreen deployments",
            Sentinel::OrgLimit => "app can't undergo bluegreen deployment due to org limits",
            Sentinel::MultipleImageVersions => "found multiple image versions",
        }
    }
}

/// One member of a joined error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorPart {
    Sentinel(Sentinel),
    /// A Machines API error, with the wrapping text fly-go or flyctl puts in front of it
    /// (empty when none).
    Api {
        context: String,
        error: ApiError,
    },
    /// `machine.WaitTimeoutErr`: a per-machine wait ran out of its deadline.
    MachineWaitTimeout {
        machine: MachineId,
        state: &'static str,
    },
    /// Any other error text (`fmt.Errorf` without a typed cause).
    Message(String),
}

impl fmt::Display for ErrorPart {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorPart::Sentinel(sentinel) => formatter.write_str(sentinel.text()),
            ErrorPart::Api { context, error } if context.is_empty() => write!(formatter, "{error}"),
            ErrorPart::Api { context, error } => write!(formatter, "{context}: {error}"),
            ErrorPart::MachineWaitTimeout { .. } => {
                formatter.write_str("timeout reached waiting for machine's state to change")
            }
            ErrorPart::Message(text) => formatter.write_str(text),
        }
    }
}

/// A deploy error: a cause and the sentinels it was joined with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployError {
    parts: Vec<ErrorPart>,
}

impl DeployError {
    pub fn sentinel(sentinel: Sentinel) -> DeployError {
        DeployError {
            parts: vec![ErrorPart::Sentinel(sentinel)],
        }
    }

    pub fn api(context: impl Into<String>, error: ApiError) -> DeployError {
        DeployError {
            parts: vec![ErrorPart::Api {
                context: context.into(),
                error,
            }],
        }
    }

    pub fn message(text: impl Into<String>) -> DeployError {
        DeployError {
            parts: vec![ErrorPart::Message(text.into())],
        }
    }

    pub fn machine_wait_timeout(machine: MachineId, state: &'static str) -> DeployError {
        DeployError {
            parts: vec![ErrorPart::MachineWaitTimeout { machine, state }],
        }
    }

    /// `errors.Join(self, sentinel)`.
    pub fn join(mut self, sentinel: Sentinel) -> DeployError {
        self.parts.push(ErrorPart::Sentinel(sentinel));
        self
    }

    /// `errors.Is(self, sentinel)`.
    pub fn is(&self, sentinel: Sentinel) -> bool {
        self.parts.contains(&ErrorPart::Sentinel(sentinel))
    }

    pub fn parts(&self) -> &[ErrorPart] {
        &self.parts
    }

    /// The first API error in the tree, if any (`errors.As(err, &flapsErr)`).
    pub fn api_error(&self) -> Option<&ApiError> {
        self.parts.iter().find_map(|part| match part {
            ErrorPart::Api { error, .. } => Some(error),
            _ => None,
        })
    }

    /// flyctl's `errorIsTimeout`: `WaitTimeoutErr`, `ErrWaitTimeout` or a deadline exceeded.
    pub fn is_timeout(&self) -> bool {
        self.parts.iter().any(|part| match part {
            ErrorPart::Sentinel(sentinel) => *sentinel == Sentinel::WaitTimeout,
            ErrorPart::MachineWaitTimeout { .. } => true,
            ErrorPart::Api { error, .. } => error.kind == ErrorKind::DeadlineExceeded,
            ErrorPart::Message(_) => false,
        })
    }
}

impl fmt::Display for DeployError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, part) in self.parts.iter().enumerate() {
            if index > 0 {
                formatter.write_str("\n")?;
            }
            write!(formatter, "{part}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DeployError {}

impl From<Sentinel> for DeployError {
    fn from(sentinel: Sentinel) -> DeployError {
        DeployError::sentinel(sentinel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_error_matches_its_sentinels_and_reads_like_errors_join() {
        let error = DeployError::api("", ApiError::status(503, "unavailable"))
            .join(Sentinel::CreateGreenMachine);
        assert!(error.is(Sentinel::CreateGreenMachine));
        assert!(!error.is(Sentinel::Aborted));
        assert_eq!(
            error.to_string(),
            "unavailable (status 503)\nfailed to create green machines"
        );
    }
}
