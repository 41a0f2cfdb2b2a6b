//! The organisation's C2PA signing identity: a certificate chain and its private key,
//! kept in the hub's database beside the hub's own ed25519 key (`hub_meta`), and the
//! trust anchor people who check files are given (`testigo hub trust-anchor`).
//!
//! At first start the hub makes the chain itself: a root certificate in the
//! organisation's name (the anchor) and, issued by it, the signing certificate C2PA
//! asks for (an end entity with `digitalSignature` and the C2PA claim-signing and
//! email-protection purposes). The root's private key is used once, to issue the
//! signing certificate, and never stored: whoever takes the hub can sign as the
//! organisation until the organisation withdraws that anchor, but cannot issue
//! themselves other certificates under it. An organisation with its own PKI imports
//! its chain and key instead ([`OrgIdentity::import`]); either way the identity is
//! proven at once by signing a probe picture and reading it back as trusted.

use c2pa::crypto::raw_signature::SigningAlg;
use chrono::{Datelike, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use rusqlite::{params, Connection, OptionalExtension};

use super::error::CredentialError;

/// The C2PA claim-signing extended key usage (C2PA 2.x, section 14.5.1).
const C2PA_CLAIM_SIGNING: [u64; 9] = [1, 3, 6, 1, 4, 1, 62558, 2, 1];
/// Years the generated root and signing certificates are valid. Without a trusted
/// time-stamp a validator judges the certificate at the time it checks, so a short
/// validity would make every exported file "expired" long before a trial ends.
const ROOT_YEARS: i32 = 30;
const SIGNING_YEARS: i32 = 25;

/// Keys in `hub_meta`.
const CHAIN_KEY: &str = "c2pa_chain_pem";
const PRIVATE_KEY: &str = "c2pa_private_key_pem";
const ANCHOR_KEY: &str = "c2pa_anchor_pem";

/// Algorithms tried, in order, on an imported key (C2PA's own list, most common first).
const ALGORITHMS: [SigningAlg; 7] = [
    SigningAlg::Es256,
    SigningAlg::Es384,
    SigningAlg::Es512,
    SigningAlg::Ps256,
    SigningAlg::Ps384,
    SigningAlg::Ps512,
    SigningAlg::Ed25519,
];

/// The organisation's signing identity, as PEM.
#[derive(Clone)]
pub struct OrgIdentity {
    /// The signing certificate first, then any intermediates (never the anchor).
    chain_pem: String,
    /// PKCS#8.
    private_key_pem: String,
    /// The root certificate whose holders' files are "trusted".
    anchor_pem: String,
    alg: SigningAlg,
}

impl std::fmt::Debug for OrgIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key, not even in a log line.
        f.debug_struct("OrgIdentity")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl OrgIdentity {
    /// The stored identity, or on first start a new one in `organisation`'s name.
    /// Several hub instances may start at once on one database: the first identity
    /// written is the one every instance uses.
    pub fn load_or_create(conn: &Connection, organisation: &str) -> Result<Self, CredentialError> {
        if let Some(identity) = Self::load(conn)? {
            return Ok(identity);
        }
        let made = Self::generate(organisation)?;
        made.store(conn, false)?;
        Self::load(conn)?.ok_or_else(|| CredentialError::Identity("not stored".into()))
    }

    /// Replaces the identity with the organisation's own chain (signing certificate
    /// first, then intermediates), key and root. Refused, changing nothing, unless
    /// they sign a probe that reads back as trusted under `anchor_pem`.
    pub fn import(
        conn: &Connection,
        chain_pem: &str,
        private_key_pem: &str,
        anchor_pem: &str,
    ) -> Result<Self, CredentialError> {
        let alg = signing_algorithm(chain_pem, private_key_pem)
            .ok_or_else(|| {
                CredentialError::Import(
                    "the key does not match the certificate, or is not a PKCS#8 PEM key of an algorithm C2PA signs with".into(),
                )
            })?;
        let identity = Self {
            chain_pem: chain_pem.to_owned(),
            private_key_pem: private_key_pem.to_owned(),
            anchor_pem: anchor_pem.to_owned(),
            alg,
        };
        super::probe::prove(&identity).map_err(|e| CredentialError::Import(e.to_string()))?;
        identity.store(conn, true)?;
        Ok(identity)
    }

    /// The identity stored in the hub's database, if any.
    pub fn load(conn: &Connection) -> Result<Option<Self>, CredentialError> {
        let read = |key: &str| -> Result<Option<String>, CredentialError> {
            conn.query_row("SELECT value FROM hub_meta WHERE key = ?1", [key], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()
            .map_err(|e| CredentialError::Identity(format!("reading {key}: {e}")))?
            .map(|bytes| {
                String::from_utf8(bytes)
                    .map_err(|_| CredentialError::Identity(format!("{key} is not text")))
            })
            .transpose()
        };
        let (Some(chain_pem), Some(private_key_pem), Some(anchor_pem)) =
            (read(CHAIN_KEY)?, read(PRIVATE_KEY)?, read(ANCHOR_KEY)?)
        else {
            return Ok(None);
        };
        let alg = signing_algorithm(&chain_pem, &private_key_pem)
            .ok_or_else(|| CredentialError::Identity("the stored key cannot sign".into()))?;
        Ok(Some(Self {
            chain_pem,
            private_key_pem,
            anchor_pem,
            alg,
        }))
    }

    /// The root certificate, PEM: what the organisation gives attorneys, courts and
    /// newsrooms so that their validators call its files trusted.
    pub fn trust_anchor_pem(&self) -> &str {
        &self.anchor_pem
    }

    /// A C2PA signer over this identity.
    pub fn signer(&self) -> Result<c2pa::BoxedSigner, CredentialError> {
        c2pa::create_signer::from_keys(
            self.chain_pem.as_bytes(),
            self.private_key_pem.as_bytes(),
            self.alg,
            None,
        )
        .map_err(|e| CredentialError::Identity(e.to_string()))
    }

    /// A new root and signing certificate in `organisation`'s name; the root's key
    /// is dropped on return.
    pub fn generate(organisation: &str) -> Result<Self, CredentialError> {
        let fail = |e: rcgen::Error| CredentialError::Identity(e.to_string());
        let today = Utc::now().date_naive();
        // A day back, so that a verifier whose clock runs a little behind still finds
        // the certificates valid.
        let start = today - chrono::Duration::days(1);
        let validity = |years: i32| {
            (
                rcgen::date_time_ymd(start.year(), start.month() as u8, start.day() as u8),
                rcgen::date_time_ymd(start.year() + years, start.month() as u8, 1),
            )
        };

        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(fail)?;
        let mut root = CertificateParams::default();
        root.distinguished_name = name(organisation, "content credentials root");
        root.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        (root.not_before, root.not_after) = validity(ROOT_YEARS);
        root.serial_number = Some(serial()?);
        let root_cert = root.self_signed(&root_key).map_err(fail)?;

        let signing_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(fail)?;
        let mut signing = CertificateParams::default();
        signing.distinguished_name = name(organisation, "content credentials");
        signing.is_ca = IsCa::ExplicitNoCa;
        signing.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        signing.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::Other(C2PA_CLAIM_SIGNING.to_vec()),
            ExtendedKeyUsagePurpose::EmailProtection,
        ];
        signing.use_authority_key_identifier_extension = true;
        (signing.not_before, signing.not_after) = validity(SIGNING_YEARS);
        signing.serial_number = Some(serial()?);
        let issuer = Issuer::new(root, root_key);
        let signing_cert = signing.signed_by(&signing_key, &issuer).map_err(fail)?;

        let identity = Self {
            chain_pem: signing_cert.pem(),
            private_key_pem: signing_key.serialize_pem(),
            anchor_pem: root_cert.pem(),
            alg: SigningAlg::Es256,
        };
        super::probe::prove(&identity)?;
        Ok(identity)
    }

    fn store(&self, conn: &Connection, replace: bool) -> Result<(), CredentialError> {
        let verb = if replace {
            "INSERT OR REPLACE"
        } else {
            "INSERT OR IGNORE"
        };
        let sql = format!("{verb} INTO hub_meta (key, value) VALUES (?1, ?2)");
        let tx = conn
            .unchecked_transaction()
            .map_err(|e| CredentialError::Identity(e.to_string()))?;
        for (key, value) in [
            (CHAIN_KEY, &self.chain_pem),
            (PRIVATE_KEY, &self.private_key_pem),
            (ANCHOR_KEY, &self.anchor_pem),
        ] {
            tx.execute(&sql, params![key, value.as_bytes()])
                .map_err(|e| CredentialError::Identity(format!("storing {key}: {e}")))?;
        }
        tx.commit()
            .map_err(|e| CredentialError::Identity(e.to_string()))
    }
}

fn name(organisation: &str, what: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, organisation);
    name.push(DnType::CommonName, format!("{organisation} {what}"));
    name
}

/// A random positive 16-byte serial (RFC 5280 asks for unique, at most 20 bytes).
fn serial() -> Result<SerialNumber, CredentialError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| CredentialError::Identity(format!("no randomness: {e}")))?;
    bytes[0] &= 0x7F;
    bytes[0] |= 0x01;
    Ok(SerialNumber::from(bytes.to_vec()))
}

/// The algorithm the key signs with for the certificate chain, if any C2PA supports.
fn signing_algorithm(chain_pem: &str, private_key_pem: &str) -> Option<SigningAlg> {
    ALGORITHMS.into_iter().find(|alg| {
        c2pa::create_signer::from_keys(chain_pem.as_bytes(), private_key_pem.as_bytes(), *alg, None)
            .is_ok()
    })
}
