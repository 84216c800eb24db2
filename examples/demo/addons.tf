# The platform of the demo cluster, as Cloud Temple installs it: Cilium as the CNI, MetalLB with
# the internal and external address pools, the three NGINX ingress classes, Rook-Ceph's storage
# classes on the workers and Kyverno with the Pod Security policy set. An add-on that needs
# another one says so with depends_on, so that one apply installs them in order.
#
# Address layout of the product, on a /22 per cluster: nodes in the first /24 (here the region's
# 127.0.1.0/24), MetalLB in the second one: the internal pool on its lower half (nginx-internal
# at .1), the external pool on its upper half (nginx-external at .128, nginx-external-secured at
# .129). External-pool addresses are still private: a DNAT rule on the firewall publishes them.
locals {
  internal_pool = "127.0.2.1-127.0.2.127"
  external_pool = "127.0.2.128-127.0.2.254"
}

resource "cloudtemple_kubernetes_addon" "cilium" {
  cluster = cloudtemple_kubernetes_cluster.demo.access
  name    = "cilium"
}

resource "cloudtemple_kubernetes_addon" "metallb" {
  cluster = cloudtemple_kubernetes_cluster.demo.access
  name    = "metallb"

  # A LoadBalancer Service gets an internal address, unless it has the label `lb-type: external`.
  configuration_values = jsonencode({
    internal_pool = { addresses = [local.internal_pool] }
    external_pool = { addresses = [local.external_pool] }
  })

  depends_on = [cloudtemple_kubernetes_addon.cilium]
}

resource "cloudtemple_kubernetes_addon" "ingress_nginx" {
  cluster = cloudtemple_kubernetes_cluster.demo.access
  name    = "ingress-nginx"

  # One controller per class is enough for a dev cluster; fixed addresses from the layout above.
  configuration_values = jsonencode({
    replicas         = 1
    internal         = { load_balancer_ip = "127.0.2.1" }
    external         = { load_balancer_ip = "127.0.2.128" }
    external_secured = { load_balancer_ip = "127.0.2.129", allowed_source_ranges = ["203.0.113.0/24"] }
  })

  depends_on = [cloudtemple_kubernetes_addon.metallb]
}

resource "cloudtemple_kubernetes_addon" "rook_ceph" {
  cluster = cloudtemple_kubernetes_cluster.demo.access
  name    = "rook-ceph"

  # Dev/test: Ceph's disks are on the workers, all in one zone, so the replicas spread over hosts.
  # (A production cluster has a `storage` node pool, one node per zone, and `zone` here.)
  configuration_values = jsonencode({ failure_domain = "host" })

  depends_on = [cloudtemple_kubernetes_node_pool.workers]
}

resource "cloudtemple_kubernetes_addon" "kyverno" {
  cluster = cloudtemple_kubernetes_cluster.demo.access
  name    = "kyverno"

  # Report Pod Security violations, do not reject workloads yet.
  configuration_values = jsonencode({
    pod_security = { level = "baseline", validation_failure_action = "Audit" }
  })
}

output "addons" {
  value = {
    for a in [
      cloudtemple_kubernetes_addon.cilium,
      cloudtemple_kubernetes_addon.metallb,
      cloudtemple_kubernetes_addon.ingress_nginx,
      cloudtemple_kubernetes_addon.rook_ceph,
      cloudtemple_kubernetes_addon.kyverno,
    ] : a.name => "${a.version} ${a.status} (namespace ${a.namespace}, ${length(a.managed_objects)} objects)"
  }
}
