# The platform of a Managed Kubernetes (Full) cluster: Cilium as the CNI, MetalLB with Cloud
# Temple's internal and external pools, the three NGINX ingress classes, Rook-Ceph's storage
# classes, Kyverno's Pod Security policies and Hubble. Add-ons that need another one say so
# with depends_on, so that Terraform installs them in order within one apply.
resource "cloudtemple_kubernetes_addon" "cilium" {
  cluster = cloudtemple_kubernetes_cluster.prod.access
  name    = "cilium"
}

resource "cloudtemple_kubernetes_addon" "hubble" {
  cluster = cloudtemple_kubernetes_cluster.prod.access
  name    = "hubble"

  configuration_values = jsonencode({
    ui = { ingress_host = "hubble.internal.ctprd.mk.ms-cloud-temple.com" }
  })

  depends_on = [cloudtemple_kubernetes_addon.cilium]
}

resource "cloudtemple_kubernetes_addon" "metallb" {
  cluster = cloudtemple_kubernetes_cluster.prod.access
  name    = "metallb"
  version = "0.15.3"

  configuration_values = jsonencode({
    internal_pool = { addresses = ["10.20.1.1-10.20.1.127"] }
    external_pool = { addresses = ["10.20.1.128-10.20.1.254"] }
  })

  depends_on = [cloudtemple_kubernetes_addon.cilium]
}

resource "cloudtemple_kubernetes_addon" "ingress_nginx" {
  cluster = cloudtemple_kubernetes_cluster.prod.access
  name    = "ingress-nginx"

  configuration_values = jsonencode({
    internal         = { load_balancer_ip = "10.20.1.1" }
    external         = { load_balancer_ip = "10.20.1.128" }
    external_secured = { load_balancer_ip = "10.20.1.129", allowed_source_ranges = ["203.0.113.0/24"] }
  })

  depends_on = [cloudtemple_kubernetes_addon.metallb]
}

resource "cloudtemple_kubernetes_addon" "rook_ceph" {
  cluster = cloudtemple_kubernetes_cluster.prod.access
  name    = "rook-ceph"

  # Production: one replica per availability zone on the dedicated storage nodes.
  configuration_values = jsonencode({ failure_domain = "zone" })

  depends_on = [cloudtemple_kubernetes_node_pool.storage]
}

resource "cloudtemple_kubernetes_addon" "kyverno" {
  cluster = cloudtemple_kubernetes_cluster.prod.access
  name    = "kyverno"

  configuration_values = jsonencode({
    pod_security = { level = "baseline", validation_failure_action = "Enforce" }
  })

  # Keep the policies in the cluster if this resource is ever removed.
  preserve = true
}
