# A node pool is imported by its ID and the cluster's access object:
#
#   <cluster id>/<pool name>,access=<path to access.json>
#
# `terraform import` gives the provider the ID only (never the configuration's `cluster`), so
# the access object comes from a file, written from the cluster's sensitive `access` attribute,
# for example with an output:
#
#   output "access" {
#     value     = cloudtemple_kubernetes_cluster.prod.access
#     sensitive = true
#   }
#   terraform output -json access > access.json
#
# The pool is rebuilt from the Nodes labelled `node-pools.cloudtemple.com/name=<pool name>`
# (every node this provider joins carries it): `nodes` (hostname, InternalIP, zone label), `role`,
# the `labels` every node shares (except those under kubernetes.io, k8s.io and talos.dev) and the
# taints. `config_patches`, `max_unavailable`, `drain` and `timeouts` cannot be read back and come
# back as their defaults (none, 1, true, none): a configuration that sets others shows an update
# in the plan after import. Keep access.json as safe as a kubeconfig (it holds admin keys) and
# delete it afterwards. On Terraform 1.0 the first plan after the import also shows `cluster` as
# updated with "The value is unchanged" (Terraform 1.0 records the sensitivity of imported values
# only at the next apply).
terraform import cloudtemple_kubernetes_node_pool.workers 'ctprd/workers,access=./access.json'
