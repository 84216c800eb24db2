# The demo configuration applied by `make demo`: the versions and components a platform team
# reads before declaring a cluster, then (cluster.tf) a dev cluster with three workers on the
# local region, its platform add-ons (addons.tf) and a team's objects (manifests.tf).
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
