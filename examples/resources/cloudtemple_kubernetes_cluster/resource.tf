# A production cluster: 3 control planes, one per availability zone, on the cluster's /22
# (Cloud Temple's layout: API VIP at .0.20, control planes at .0.21-23).
data "cloudtemple_kubernetes_versions" "current" {}

resource "cloudtemple_kubernetes_cluster" "prod" {
  name               = "ctprd"
  topology           = "production"
  endpoint           = "10.20.0.20"
  kubernetes_version = data.cloudtemple_kubernetes_versions.current.default_kubernetes_version
  talos_version      = data.cloudtemple_kubernetes_versions.current.default_talos_version

  network = {
    node_cidr    = "10.20.0.0/22"
    pod_cidr     = "10.241.0.0/16"
    service_cidr = "10.96.0.0/12"
  }

  control_plane = [
    { address = "10.20.0.21", zone = "AZ05" },
    { address = "10.20.0.22", zone = "AZ06" },
    { address = "10.20.0.23", zone = "AZ07" },
  ]

  config_patches = [
    yamlencode({
      machine = { time = { servers = ["ntp.example.internal"] } }
    }),
  ]

  timeouts {
    create = "45m"
  }
}

output "kubeconfig" {
  value     = cloudtemple_kubernetes_cluster.prod.kubeconfig
  sensitive = true
}
