# A cluster is imported by its endpoint and the path to its Talos secrets bundle (secrets.yaml),
# from which the provider derives its credentials.
terraform import cloudtemple_kubernetes_cluster.prod '10.20.0.20,./secrets.yaml'
