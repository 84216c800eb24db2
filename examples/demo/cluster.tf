# A dev/test cluster on the local region started by `make demo` (`ct-emulator region`, whose
# machines answer the Talos API on 127.0.1.1-4:50000 in maintenance mode, like fresh VMs).
variable "node_network" {
  description = "The cluster's node network."
  type        = string
  default     = "127.0.1.0/24"
}

variable "control_plane_address" {
  description = "Address of the control plane node."
  type        = string
  default     = "127.0.1.1"
}

variable "endpoint" {
  description = "Virtual IP of the Kubernetes API."
  type        = string
  default     = "127.0.1.20"
}

resource "cloudtemple_kubernetes_cluster" "demo" {
  name               = "ctdemo"
  topology           = "dev"
  endpoint           = var.endpoint
  kubernetes_version = data.cloudtemple_kubernetes_versions.supported.default_kubernetes_version

  network = {
    node_cidr = var.node_network
  }

  control_plane = [
    { address = var.control_plane_address, zone = "AZ05" },
  ]
}

output "cluster" {
  value = {
    api_url = cloudtemple_kubernetes_cluster.demo.api_url
    status  = cloudtemple_kubernetes_cluster.demo.status
    nodes   = [for n in cloudtemple_kubernetes_cluster.demo.nodes : "${n.hostname} ${n.address} ${n.zone} talos ${n.talos_version} ready=${n.ready}"]
  }
}

output "kubeconfig" {
  value     = cloudtemple_kubernetes_cluster.demo.kubeconfig
  sensitive = true
}
