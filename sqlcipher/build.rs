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
    // What the store and the hub need and nothing else: rusqlite's bundle also compiles
    // full-text search, R-trees, SQL JSON functions, extension loading and more, none of
    // which they use, into every phone. Only options SQLite supports in the
    // amalgamation. Extension loading is left out on purpose: nothing may load code
    // into the process that holds the store's key.
    for define in [
        "SQLITE_CORE",
        "SQLITE_DEFAULT_FOREIGN_KEYS=1",
        "SQLITE_ENABLE_API_ARMOR",
        "SQLITE_ENABLE_MEMORY_MANAGEMENT",
        "SQLITE_OMIT_LOAD_EXTENSION",
        "SQLITE_OMIT_DEPRECATED",
        "SQLITE_OMIT_JSON",
        "SQLITE_OMIT_GET_TABLE",
        "SQLITE_DEFAULT_MEMSTATUS=0",
        "SQLITE_THREADSAFE=1",
        "SQLITE_USE_URI",
        "HAVE_USLEEP=1",
        "HAVE_ISNAN",
        "HAVE_STDINT_H=1",
        "_POSIX_THREAD_SAFE_FUNCTIONS",
        // SQLCipher: the codec and its one-time setup and teardown hooked into SQLite's.
        "SQLITE_HAS_CODEC",
        "SQLITE_EXTRA_INIT=sqlcipher_extra_init",
        "SQLITE_EXTRA_SHUTDOWN=sqlcipher_extra_shutdown",
    ] {
        sqlite.define_flag(define);
    }
    // Temporary tables in memory, never plaintext on disk: by default (2), and always
    // on Android (3), which has no writable /tmp (SQLite's own Android build does this).
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("android") {
        sqlite.define_flag("SQLITE_TEMP_STORE=3");
    } else {
        sqlite.define_flag("SQLITE_TEMP_STORE=2");
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
/// libtomcrypt itself: portable C only (no inline assembly), no self-tests, and only
/// what SQLCipher's provider calls — AES in CBC mode for pages, HMAC over SHA-512 (and
/// SHA-256 / SHA-1 for databases keyed with those, and the one-call hash SQLCipher
/// uses), PBKDF2 for passphrase keys, and the
/// Fortuna generator for page IVs, seeded from the system. Leaving the other ciphers
/// out does more than shrink the library: libtomcrypt sizes its key and hash contexts
/// to the largest algorithm compiled in, and SQLCipher wipes a CBC context byte by byte
/// for every page it writes (4,392 bytes with every cipher, 624 with AES alone).
/// Never `LTC_NO_FILE`: it also cuts libtomcrypt's reading of `/dev/urandom`, leaving
/// the generator with only a clock-based fallback.
const TOMCRYPT_DEFINES: [&str; 15] = [
    "LTC_NO_ASM",
    "LTC_NO_TEST",
    "LTC_NOTHING",
    "LTC_RIJNDAEL",
    "LTC_CBC_MODE",
    "LTC_SHA512",
    "LTC_SHA256",
    "LTC_SHA1",
    "LTC_HASH_HELPERS",
    "LTC_HMAC",
    "LTC_PKCS_5",
    "LTC_FORTUNA",
    "LTC_DEVRANDOM",
    "LTC_TRY_URANDOM_FIRST",
    "LTC_RNG_GET_BYTES",
];

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
