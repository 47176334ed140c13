//! Generates include/goro.h from the documented `extern "C"` functions, and gives libgoro.so
//! its soname.

use std::path::PathBuf;

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libgoro.so.0");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let include = dir.join("../include");
    if !include.is_dir() {
        // Built from a package without the repository around it: no header to refresh.
        return;
    }
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("ffi/cbindgen.toml");
    match cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
    {
        Ok(b) => {
            b.write_to_file(include.join("goro.h"));
        }
        Err(e) => panic!("cbindgen: {e}"),
    }
}
