# A cluster is imported from one of its control plane addresses, its node network and the path to
# its Talos secrets bundle (secrets.yaml):
#
#   <control plane address>,<node_cidr>,<path to secrets.yaml>[,key=value...]
#
# The provider signs fresh admin credentials from the bundle and asks that control plane for the
# Talos version, the etcd members (every control plane's hostname and address) and the cluster
# name and endpoint. What the nodes cannot tell is given as optional key=value parts when it is
# not the default:
#   topology=dev|production            default: dev for 1 control plane, production for 3
#   zones=AZ05;AZ06;AZ07               control planes ordered by hostname; default AZ05, AZ06,
#                                      AZ07 for production, AZ05 for dev
#   pod_cidr=, service_cidr=           default 10.244.0.0/16 and 10.96.0.0/12
#   dns_domain=                        default <name>-cluster.local
#   kubernetes_version=                default: the provider's default version
#   name=                              default: the name in the cluster's kubeconfig
# config_patches, upgrade, on_destroy and timeouts come back as their defaults. kubeconfig,
# talosconfig and access are new (signed at import) and then stay stable.
terraform import cloudtemple_kubernetes_cluster.prod '10.20.0.21,10.20.0.0/22,./secrets.yaml,pod_cidr=10.241.0.0/16'
