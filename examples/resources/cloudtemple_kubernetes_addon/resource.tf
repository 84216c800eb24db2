# Cilium as the CNI, then MetalLB with Cloud Temple's internal and external pools.
resource "cloudtemple_kubernetes_addon" "cilium" {
  cluster = cloudtemple_kubernetes_cluster.prod.access
  name    = "cilium"
}

resource "cloudtemple_kubernetes_addon" "metallb" {
  cluster = cloudtemple_kubernetes_cluster.prod.access
  name    = "metallb"

  configuration_values = jsonencode({
    internal_pool = { addresses = ["10.20.1.1-10.20.1.127"] }
    external_pool = { addresses = ["10.20.1.128-10.20.1.254"] }
  })

  depends_on = [cloudtemple_kubernetes_addon.cilium]
}
