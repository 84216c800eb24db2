//! `ct-emulator`: starts a local region of emulated Talos machines, or drives a running one
//! through its admin endpoint. All logic lives in the library ([`ct_emulator::cli`]).

use std::io::Write as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "ct_emulator=info".into()),
        )
        .init();
    match ct_emulator::cli::run(std::env::args().skip(1).collect()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr().lock(), "ct-emulator: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
