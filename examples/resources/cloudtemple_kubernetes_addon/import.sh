# An add-on is imported by its name and the cluster's access object:
#
#   <name>,access=<path to access.json>
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
# The version, configuration and object inventory are read from the add-on's record in the
# cluster (the ConfigMap `cloudtemple-addon-<name>` in its namespace, written by every apply), so
# only add-ons installed by this provider can be imported. `conflict_resolution`, `preserve`,
# `wait` and `timeouts` come back as their defaults. Keep access.json as safe as a kubeconfig (it
# holds admin keys) and delete it afterwards. On Terraform 1.0 the first plan after an import
# also shows `cluster` as updated with "The value is unchanged" (Terraform 1.0 records the
# sensitivity of imported values only at the next apply).
terraform import cloudtemple_kubernetes_addon.metallb 'metallb,access=./access.json'
