//! The size of the library the apps ship, and what it is made of.
//!
//! The figure is the `release-ffi` build of testigo-ffi for this machine (x86_64 Linux),
//! measured on a copy run through `strip` (a no-op, the profile strips), and gzipped
//! (what an app store download roughly costs). The shipped build has no symbols left
//! to say what it is made of, so the shares come from the unstripped `release` build of
//! the same library (same code; thin LTO and opt-level 3 instead of fat LTO and "s"):
//! each symbol's size is counted to the crate its name starts with; the C libraries
//! (SQLCipher, libtomcrypt, zstd) have unmangled names and are counted together.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use crate::Row;

/// How the library the apps ship is built.
pub const BUILD_FFI: &str = "cargo build --profile release-ffi -p testigo-ffi";
/// The build the shares are read from.
const BUILD_SYMBOLS: &str = "cargo build --release -p testigo-ffi";
/// The budget reported against (never asserted).
pub const BUDGET_BYTES: u64 = 8_000_000;
/// How many crates the row names; the rest are summed.
const NAMED_SHARES: usize = 8;

/// The measured library: the row, and its stripped size if it was built.
pub fn measure() -> (Row, Option<u64>) {
    let mut row = Row::new("cdylib size", "testigo");
    let library = built("release-ffi");
    if !library.exists() {
        row.notes = format!(
            "not measured: {} is missing; build it with `{BUILD_FFI}`",
            library.display()
        );
        return (row, None);
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let copy = dir.path().join("libtestigo_ffi.so");
    std::fs::copy(&library, &copy).expect("copy the library");
    let stripped = Command::new("strip")
        .arg(&copy)
        .status()
        .is_ok_and(|s| s.success());
    let bytes = std::fs::read(&copy).expect("read the library");
    let size = bytes.len() as u64;
    let gzipped = gzip_len(&bytes);
    row.bytes_down = size;
    row.notes = format!(
        "{size} B ({:.2} MiB){}, {gzipped} B gzipped (-9): {} built with `{BUILD_FFI}`; {}",
        size as f64 / (1024.0 * 1024.0),
        if stripped {
            ", stripped copy"
        } else {
            ", `strip` not available: as built"
        },
        library.display(),
        shares().unwrap_or_else(|why| format!("shares not measured: {why}")),
    );
    (row, Some(size))
}

fn built(profile: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join(profile).join("libtestigo_ffi.so")
}

fn gzip_len(bytes: &[u8]) -> usize {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).expect("gzip in memory");
    gz.finish().expect("gzip in memory").len()
}

/// "shares by symbol size: automerge 31.0%, …", from the build with symbols.
fn shares() -> Result<String, String> {
    let library = built("release");
    if !library.exists() {
        return Err(format!("build `{BUILD_SYMBOLS}`"));
    }
    let listing = Command::new("nm")
        .args(["--print-size", "--size-sort", "--demangle=rust"])
        .arg(&library)
        .output()
        .map_err(|e| format!("nm: {e}"))?;
    if !listing.status.success() {
        return Err(String::from_utf8_lossy(&listing.stderr).into_owned());
    }
    let by_crate = sizes_by_crate(&String::from_utf8_lossy(&listing.stdout));
    let total: u64 = by_crate.values().sum();
    if total == 0 {
        return Err(format!("{} has no symbols", library.display()));
    }
    let mut ranked: Vec<(&str, u64)> = by_crate.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let rest: u64 = ranked.iter().skip(NAMED_SHARES).map(|(_, v)| v).sum();
    let mut parts: Vec<String> = ranked
        .iter()
        .take(NAMED_SHARES)
        .map(|(name, size)| format!("{name} {:.1}%", *size as f64 * 100.0 / total as f64))
        .collect();
    parts.push(format!(
        "{} more {:.1}%",
        ranked.len().saturating_sub(NAMED_SHARES),
        rest as f64 * 100.0 / total as f64
    ));
    Ok(format!(
        "shares of {total} B of sized symbols in the release build: {}",
        parts.join(", ")
    ))
}

/// Sums `nm --print-size` lines (`address size type name`) by the crate a Rust symbol
/// names first (`<automerge::…>` and `automerge::…` alike); unmangled names are C.
fn sizes_by_crate(listing: &str) -> HashMap<String, u64> {
    let mut sizes = HashMap::new();
    for line in listing.lines() {
        let mut fields = line.splitn(4, ' ');
        let (Some(_), Some(size), Some(_), Some(name)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Ok(size) = u64::from_str_radix(size, 16) else {
            continue;
        };
        let name = name.trim_start_matches(['<', '&', '*', ' ']);
        let owner = match name.split_once("::") {
            Some(("core" | "alloc" | "std", _)) => "Rust standard library".to_owned(),
            Some((first, _)) if !first.contains([' ', '(']) => first.to_owned(),
            _ => "C libraries (SQLCipher, libtomcrypt, zstd)".to_owned(),
        };
        *sizes.entry(owner).or_insert(0) += size;
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_counted_to_the_crate_they_name_first() {
        let listing = "\
0000000000001000 0000000000000100 T automerge::op_set::OpSet::insert
0000000000002000 0000000000000010 t <automerge::Automerge as core::fmt::Debug>::fmt
0000000000003000 0000000000000200 T sqlite3VdbeExec
0000000000004000 0000000000000020 T sha512_compress
0000000000005000 0000000000000008 T core::fmt::write
0000000000006000 0000000000000004 T <alloc::string::String as core::clone::Clone>::clone
";
        let sizes = sizes_by_crate(listing);
        assert_eq!(sizes["automerge"], 0x110);
        assert_eq!(sizes["C libraries (SQLCipher, libtomcrypt, zstd)"], 0x220);
        assert_eq!(sizes["Rust standard library"], 0xc);
        assert_eq!(sizes.len(), 3);
    }
}
