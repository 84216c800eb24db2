//! Regenerates `docs/` from the provider schemas and `examples/` (`make docs`); with `--check`
//! exits non-zero when a page is stale (`make docs-check`, run by CI).

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(std::path::Path::to_path_buf);
    let Some(root) = root else { return ExitCode::FAILURE };
    let mut err = std::io::stderr();
    match cloudtemple::docs::generate(&root, check) {
        Ok(stale) if stale.is_empty() => ExitCode::SUCCESS,
        Ok(stale) => {
            for p in &stale {
                let verb = if check { "stale" } else { "wrote" };
                let _ = writeln!(err, "{verb}: {}", p.display());
            }
            if check {
                let _ = writeln!(err, "docs are out of date: run `make docs` and commit the result");
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            ExitCode::FAILURE
        }
    }
}
