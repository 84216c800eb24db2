//! Compiles every `.proto` file under this crate's directory with protox, a pure-Rust protobuf
//! compiler, so that building the workspace never needs a `protoc` installed on the machine.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "src" || n == "target") {
                continue;
            }
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root, &mut files);
    // Watching the directories (cargo scans them recursively) also picks up newly added files.
    for entry in std::fs::read_dir(&root).expect("reading the proto directory").flatten() {
        let path = entry.path();
        let skip = path.file_name().is_some_and(|n| n == "src" || n == "target");
        if path.is_dir() && !skip {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let relative: Vec<_> =
        files.iter().map(|f| f.strip_prefix(&root).expect("under root").to_path_buf()).collect();
    let fds = protox::compile(&relative, [&root]).unwrap_or_else(|e| panic!("compiling protos: {e:?}"));
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)
        .unwrap_or_else(|e| panic!("generating gRPC code: {e}"));
}
