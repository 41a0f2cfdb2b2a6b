//! `cargo run -p testigo-uniffi-bindgen -- generate --library <lib> --language <kotlin|swift|python> --out-dir <dir>`
//!
//! Built from the same uniffi version as `testigo-ffi`, so the generated code always
//! matches the scaffolding compiled into the library.

fn main() {
    uniffi::uniffi_bindgen_main()
}
