# The platform components offered in Managed Core Kubernetes, for a Kubernetes 1.36 cluster.
data "cloudtemple_kubernetes_addons" "core" {
  kubernetes_version = "1.36"
  tier               = "core"
}

output "core_addons" {
  value = {
    for a in data.cloudtemple_kubernetes_addons.core.addons :
    a.name => a.default_version
  }
}

# Dependencies of each add-on, to order `cloudtemple_kubernetes_addon` resources.
output "dependencies" {
  value = {
    for a in data.cloudtemple_kubernetes_addons.core.addons :
    a.name => a.dependencies if length(a.dependencies) > 0
  }
}
