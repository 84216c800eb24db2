# A live view of a cluster managed elsewhere, from its `access` object (here passed in through
# a sensitive variable holding the cluster configuration's `access` output).
variable "cluster_access" {
  type      = any
  sensitive = true
}

data "cloudtemple_kubernetes_cluster" "prod" {
  access = var.cluster_access
}

output "cluster_status" {
  value = data.cloudtemple_kubernetes_cluster.prod.status
}

output "control_planes" {
  value = [for n in data.cloudtemple_kubernetes_cluster.prod.nodes : "${n.hostname} ${n.address} ready=${n.ready}"]
}

output "versions" {
  value = {
    kubernetes = data.cloudtemple_kubernetes_cluster.prod.kubernetes_version
    talos      = data.cloudtemple_kubernetes_cluster.prod.talos_version
  }
}
