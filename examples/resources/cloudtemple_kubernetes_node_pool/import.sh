# A node pool is imported by its cluster's import ID and its name.
terraform import cloudtemple_kubernetes_node_pool.workers '10.20.0.20,./secrets.yaml/workers'
