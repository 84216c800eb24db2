# The supported Kubernetes versions (N-2 window), defaults, and the Talos matrix.
data "cloudtemple_kubernetes_versions" "all" {}

# The newest supported patch of one minor version.
data "cloudtemple_kubernetes_versions" "v1_36" {
  version_prefix = "1.36."
}

output "default_kubernetes_version" {
  value = data.cloudtemple_kubernetes_versions.all.default_kubernetes_version
}

output "supported_minors" {
  value = data.cloudtemple_kubernetes_versions.all.supported_kubernetes_minors
}

output "latest_1_36" {
  value = data.cloudtemple_kubernetes_versions.v1_36.latest_kubernetes_version
}
