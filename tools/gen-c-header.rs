//! Writes `ffi/include/roster.h` from the `extern "C"` items of `ffi/src` with cbindgen (only
//! when it changed, so its time stamp moves only with its content). `make c-test` runs it and
//! fails when the committed header differs.

fn main() {
    // From the repository's root, where `make` runs it: a path compiled in would name
    // whichever checkout built the binary first when checkouts share a target directory.
    let ffi = "ffi";
    let config = cbindgen::Config::from_file(format!("{ffi}/cbindgen.toml"))
        .expect("ffi/cbindgen.toml is valid");
    let header = cbindgen::Builder::new()
        .with_crate(ffi)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let path = format!("{ffi}/include/roster.h");
    let mut text = Vec::new();
    header.write(&mut text);
    if std::fs::read(&path).ok().as_deref() != Some(&text[..]) {
        std::fs::write(&path, text).expect("ffi/include/roster.h is writable");
        eprintln!("gen-c-header: wrote {path}");
    }
}
