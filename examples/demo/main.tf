# The demo configuration applied by `make demo`: the versions and components a platform team
# reads before declaring a cluster, and (cluster.tf) a dev cluster on the local region.
terraform {
  required_providers {
    cloudtemple = {
      source = "cloud-temple/cloudtemple"
    }
  }
}

provider "cloudtemple" {}

data "cloudtemple_kubernetes_versions" "supported" {}

data "cloudtemple_kubernetes_addons" "full" {
  kubernetes_version = data.cloudtemple_kubernetes_versions.supported.default_kubernetes_version
  tier               = "full"
}

output "kubernetes" {
  value = {
    default   = data.cloudtemple_kubernetes_versions.supported.default_kubernetes_version
    supported = data.cloudtemple_kubernetes_versions.supported.supported_kubernetes_minors
    talos     = data.cloudtemple_kubernetes_versions.supported.default_talos_version
  }
}

output "platform_components" {
  value = {
    for a in data.cloudtemple_kubernetes_addons.full.addons :
    a.name => "${coalesce(a.default_version, "no compatible version")} (${a.full_tier}, namespace ${a.namespace})"
  }
}
