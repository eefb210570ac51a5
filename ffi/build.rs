//! Writes `include/roster.h` from the crate's `extern "C"` items with cbindgen (only when it
//! changed, so the file's time stamp moves only with its content).

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml"))
        .expect("ffi/cbindgen.toml is valid");
    let header = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let path = format!("{dir}/include/roster.h");
    let mut text = Vec::new();
    header.write(&mut text);
    if std::fs::read(&path).ok().as_deref() != Some(&text[..]) {
        std::fs::write(&path, text).expect("include/roster.h is writable");
    }
}
