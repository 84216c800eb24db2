//! The provider binary: Terraform starts it and talks plugin protocol 6 to it.

fn main() -> std::process::ExitCode {
    tfplugin::server::main(
        cloudtemple::provider::ADDRESS,
        std::sync::Arc::new(cloudtemple::provider::CloudTempleProvider::new()),
    )
}
