//! Content credentials: exported photos and videos carry a C2PA manifest signed by
//! the organisation, which validators the project did not write (the C2PA library's
//! own `Reader`, `c2patool`, the Content Credentials site) check against the
//! organisation's trust anchor.
//!
//! - [`identity`]: the organisation's signing certificates and key, kept in the hub's
//!   database; the anchor people who check files are given
//! - [`manifest`]: what a manifest says (capture, location on evidence copies,
//!   Testigo's assertion) and signing it into a file
//! - [`assertion`]: Testigo's assertion: incident, observation, the signed record
//! - [`author`]: the capturing device's own signature, carried inside the manifest
//! - [`check`]: reading a file's credentials: trusted, valid but untrusted, invalid
//! - [`original`]: taking the manifest back out of an evidence copy, to show it is
//!   the very file the device recorded
//! - [`export`]: the hub endpoint that serves credentialed copies
//! - [`probe`]: proving an identity signs what validators accept, before it is used
//!
//! C2PA runs here and in the CLI only; the phone library never links it.

pub mod assertion;
pub mod author;
pub mod check;
mod error;
pub mod export;
pub mod identity;
pub mod manifest;
pub mod original;
mod probe;

use std::path::Path;

pub use assertion::{Copy, TestigoAssertion};
pub use check::{check, AuthorCheck, CredentialReport, Verdict};
pub use error::CredentialError;
pub use identity::OrgIdentity;

use crate::error::HubResult;

/// The signing identity of the hub whose database is `db`, made in `organisation`'s
/// name if the hub has none yet (as its first start would).
pub fn identity_of(db: &Path, organisation: &str) -> HubResult<OrgIdentity> {
    let conn = crate::db::open(db)?;
    Ok(OrgIdentity::load_or_create(&conn, organisation)?)
}

/// Replaces the signing identity of the hub whose database is `db` with the
/// organisation's own (PEM chain, PKCS#8 key, root), once it is proven to sign.
pub fn import_into(
    db: &Path,
    chain_pem: &str,
    private_key_pem: &str,
    anchor_pem: &str,
) -> HubResult<OrgIdentity> {
    let conn = crate::db::open(db)?;
    Ok(OrgIdentity::import(
        &conn,
        chain_pem,
        private_key_pem,
        anchor_pem,
    )?)
}
