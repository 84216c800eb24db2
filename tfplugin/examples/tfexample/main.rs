//! `terraform-provider-tfexample`: a small provider that exercises every part of `tfplugin`
//! through real Terraform (create, in-place update, replacement, import, state upgrade,
//! unknown values flowing between resources, data sources, sensitive values, nested
//! attributes). Its "cloud" is a directory of JSON files, so objects outlive the provider
//! processes Terraform starts and tests can change them behind Terraform's back.
//!
//! Not part of the cloudtemple binary; built with `cargo build -p tfplugin --examples`.

mod link;
mod provider;
mod store;
mod thing;
mod things;

fn main() -> std::process::ExitCode {
    tfplugin::server::main(
        "registry.terraform.io/tfplugin/tfexample",
        std::sync::Arc::new(provider::ExampleProvider::default()),
    )
}
