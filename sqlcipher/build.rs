//! Compiles SQLCipher with the crypto provider the target has without OpenSSL.

use std::env;
use std::path::Path;

fn main() {
    let src = sqlcipher_src::source_dir();
    let target_vendor = env::var("CARGO_CFG_TARGET_VENDOR").unwrap_or_default();
    let apple = target_vendor == "apple";

    let mut sqlite = cc::Build::new();
    sqlite
        .file(src.join(sqlcipher_src::SOURCE_FILE))
        .include(src)
        .warnings(false);
    // The options rusqlite's bundled build uses (so rusqlite finds what it expects),
    // plus SQLCipher's own.
    for define in [
        "SQLITE_CORE",
        "SQLITE_DEFAULT_FOREIGN_KEYS=1",
        "SQLITE_ENABLE_API_ARMOR",
        "SQLITE_ENABLE_COLUMN_METADATA",
        "SQLITE_ENABLE_DBSTAT_VTAB",
        "SQLITE_ENABLE_FTS3",
        "SQLITE_ENABLE_FTS3_PARENTHESIS",
        "SQLITE_ENABLE_FTS5",
        "SQLITE_ENABLE_JSON1",
        "SQLITE_ENABLE_LOAD_EXTENSION=1",
        "SQLITE_ENABLE_MEMORY_MANAGEMENT",
        "SQLITE_ENABLE_RTREE",
        "SQLITE_ENABLE_STAT4",
        "SQLITE_SOUNDEX",
        "SQLITE_THREADSAFE=1",
        "SQLITE_USE_URI",
        "HAVE_USLEEP=1",
        "HAVE_ISNAN",
        "HAVE_STDINT_H=1",
        "_POSIX_THREAD_SAFE_FUNCTIONS",
        // SQLCipher: the codec, temporary tables in memory (never plaintext on disk),
        // and its one-time setup and teardown hooked into SQLite's.
        "SQLITE_HAS_CODEC",
        "SQLITE_TEMP_STORE=2",
        "SQLITE_EXTRA_INIT=sqlcipher_extra_init",
        "SQLITE_EXTRA_SHUTDOWN=sqlcipher_extra_shutdown",
    ] {
        sqlite.define_flag(define);
    }
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("android") {
        // Android has no writable /tmp; SQLite's own Android build does this too.
        sqlite.define_flag("SQLITE_TEMP_STORE=3");
    }

    // One archive, `libsqlcipher.a`, holding SQLCipher and its crypto provider. It is
    // linked as this crate's static library, so a `staticlib` build (the iOS
    // XCFramework) carries it inside; its folder is on the search path too, where the
    // `-l sqlcipher` that rusqlite's `sqlcipher` feature asks for finds the same archive
    // (an archive's members are only taken once, for what is still undefined).
    let mut objects = Vec::new();
    if apple {
        sqlite.define_flag("SQLCIPHER_CRYPTO_CC");
        println!("cargo:rustc-link-lib=framework=Security");
        println!("cargo:rustc-link-lib=framework=CoreFoundation");
    } else {
        sqlite.define_flag("SQLCIPHER_CRYPTO_LIBTOMCRYPT");
        let headers = src.join(sqlcipher_src::LIBTOMCRYPT_INCLUDE_DIR);
        sqlite.include(&headers);
        let mut tomcrypt = cc::Build::new();
        tomcrypt.include(&headers).warnings(false);
        for define in TOMCRYPT_DEFINES {
            sqlite.define_flag(define);
            tomcrypt.define_flag(define);
        }
        tomcrypt.define_flag("LTC_SOURCE");
        for file in sqlcipher_src::LIBTOMCRYPT_SOURCES {
            tomcrypt.file(src.join(file));
        }
        objects.extend(tomcrypt.compile_intermediates());
    }
    objects.extend(sqlite.compile_intermediates());
    cc::Build::new().objects(&objects).compile("sqlcipher");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:include={}", Path::new(src).display());
}

/// libtomcrypt's switches, the same for SQLCipher (which includes its header) and for
/// libtomcrypt itself: portable C only (no inline assembly), no self-tests. Never
/// `LTC_NO_FILE`: it also cuts libtomcrypt's reading of `/dev/urandom`, leaving the
/// random generator SQLCipher seeds from with only a clock-based fallback.
const TOMCRYPT_DEFINES: [&str; 2] = ["LTC_NO_ASM", "LTC_NO_TEST"];

trait DefineFlag {
    fn define_flag(&mut self, define: &str) -> &mut Self;
}

impl DefineFlag for cc::Build {
    /// `NAME` or `NAME=VALUE`, as a `-D` option.
    fn define_flag(&mut self, define: &str) -> &mut Self {
        match define.split_once('=') {
            Some((name, value)) => self.define(name, value),
            None => self.define(define, None),
        }
    }
}
