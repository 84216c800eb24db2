# A dev/test cluster on the local region started by `make demo` (`ct-emulator region`, whose
# machines answer the Talos API on 127.0.1.1-4:50000 in maintenance mode, like fresh VMs):
# one control plane and, in a node pool, three workers. In the dev topology Ceph runs on the
# workers, so three is the minimum (Ceph keeps three replicas).
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

variable "worker_addresses" {
  description = "Addresses of the workers, by node name."
  type        = map(string)
  default = {
    "ctdemo-wrk-1" = "127.0.1.2"
    "ctdemo-wrk-2" = "127.0.1.3"
    "ctdemo-wrk-3" = "127.0.1.4"
  }
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

# The workers join the cluster through its `access` object (endpoint, CA, client credentials):
# every other resource of this configuration takes the same one.
resource "cloudtemple_kubernetes_node_pool" "workers" {
  cluster = cloudtemple_kubernetes_cluster.demo.access
  name    = "workers"
  role    = "worker"

  nodes = {
    for name, address in var.worker_addresses : name => { address = address, zone = "AZ05" }
  }

  labels = {
    "team" = "platform"
  }
}

output "cluster" {
  value = {
    api_url = cloudtemple_kubernetes_cluster.demo.api_url
    status  = cloudtemple_kubernetes_cluster.demo.status
    nodes   = [for n in cloudtemple_kubernetes_cluster.demo.nodes : "${n.hostname} ${n.address} ${n.zone} talos ${n.talos_version} ready=${n.ready}"]
  }
}

output "workers" {
  value = [for name, n in cloudtemple_kubernetes_node_pool.workers.node_status : "${name} ${n.address} ${n.zone} kubelet ${n.kubelet_version} ready=${n.ready}"]
}

output "kubeconfig" {
  value     = cloudtemple_kubernetes_cluster.demo.kubeconfig
  sensitive = true
}
