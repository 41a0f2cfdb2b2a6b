//! What can go wrong making or reading content credentials. Every failure is one of
//! these, never a panic: the files read here come from outside.

use axum::http::StatusCode;

use crate::error::HubError;

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The organisation's certificates or key could not be made, parsed or used.
    #[error("the organisation's signing identity is unusable: {0}")]
    Identity(String),
    /// A certificate chain or key given to import is not one C2PA can sign with.
    #[error("the certificates or key given cannot sign content credentials: {0}")]
    Import(String),
    /// C2PA cannot carry a manifest in this kind of file.
    #[error("{mime} files cannot carry content credentials here")]
    Unsupported { mime: String },
    /// The sharing copy's metadata could not be removed (a damaged or unknown picture).
    #[error("no sharing copy can be made: {0}")]
    Sharing(String),
    /// The C2PA library refused to sign.
    #[error("signing the content credentials failed: {0}")]
    Signing(String),
    /// A file that carries no manifest at all.
    #[error("this file carries no content credentials")]
    Absent,
    /// The trust anchor given to check against is not a PEM certificate.
    #[error("the trust anchor cannot be used: {0}")]
    Anchor(String),
}

impl From<CredentialError> for HubError {
    fn from(e: CredentialError) -> Self {
        match &e {
            // The identity was proven when it was made or imported, so a signing that
            // fails is about the file (one the library cannot parse).
            CredentialError::Unsupported { .. }
            | CredentialError::Sharing(_)
            | CredentialError::Signing(_) => HubError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_credentials",
                e.to_string(),
            ),
            CredentialError::Import(_) | CredentialError::Absent | CredentialError::Anchor(_) => {
                HubError::bad_request(e.to_string())
            }
            CredentialError::Identity(_) => {
                tracing::error!(error = %e, "content credentials");
                HubError::internal(e.to_string())
            }
        }
    }
}
