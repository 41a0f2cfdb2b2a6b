//! SQLCipher, compiled for the device store without OpenSSL.
//!
//! rusqlite's own bundled SQLCipher takes its ciphers from OpenSSL, and vendoring
//! OpenSSL was about 3 MB of the phone library for four primitives (AES-256-CBC,
//! HMAC-SHA512, PBKDF2 and a random generator). This crate builds the same SQLCipher
//! release with libtomcrypt, a small public-domain library SQLCipher supports as a
//! crypto provider (`SQLCIPHER_CRYPTO_LIBTOMCRYPT`), and with Apple's CommonCrypto on
//! Apple targets (`SQLCIPHER_CRYPTO_CC`), as SQLCipher's own iOS builds do. The
//! database format does not depend on the provider: stores written with the OpenSSL
//! build open unchanged (`core/tests/store_format.rs`).
//!
//! rusqlite is built with its `sqlcipher` feature (link a SQLCipher by name); this
//! crate's build script provides that library as `libsqlcipher.a`, linked as this
//! crate's own static library (so `staticlib` builds carry it). It has no Rust API;
//! a `use testigo_sqlcipher as _;` in the store is what puts it in every link.
#![no_std]
