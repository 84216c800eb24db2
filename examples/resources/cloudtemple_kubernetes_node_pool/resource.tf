# Dedicated Ceph storage nodes and workers of a production cluster, one node per zone.
resource "cloudtemple_kubernetes_node_pool" "storage" {
  cluster = cloudtemple_kubernetes_cluster.prod.access
  name    = "storage"
  role    = "storage"

  nodes = {
    "ctprd-ceph-1" = { address = "10.20.0.41", zone = "AZ05" }
    "ctprd-ceph-2" = { address = "10.20.0.42", zone = "AZ06" }
    "ctprd-ceph-3" = { address = "10.20.0.43", zone = "AZ07" }
  }
}

resource "cloudtemple_kubernetes_node_pool" "workers" {
  cluster         = cloudtemple_kubernetes_cluster.prod.access
  name            = "workers"
  role            = "worker"
  max_unavailable = 1

  nodes = {
    "ctprd-wrk-1" = { address = "10.20.0.51", zone = "AZ05" }
    "ctprd-wrk-2" = { address = "10.20.0.52", zone = "AZ06" }
    "ctprd-wrk-3" = { address = "10.20.0.53", zone = "AZ07" }
  }

  labels = {
    "team" = "platform"
  }
}
