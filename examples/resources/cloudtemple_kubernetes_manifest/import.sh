# A manifest is imported by its object ID and, optionally, the cluster's access object:
#
#   <apiVersion>//<Kind>//<namespace>//<name>[,access=<path to access.json>]
#   <apiVersion>//<Kind>//<name>[,access=<path to access.json>]      (cluster-scoped kinds)
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
# With it, the object is read back from the fields the provider's field manager owns and the
# plan after import is empty. Keep access.json as safe as a kubeconfig (it holds admin keys)
# and delete it afterwards. Without it, the import records the object's identity only, and the
# next plan shows an in-place update (the `cluster` and the object from the configuration) whose
# apply re-applies the object. The imported object has `metadata.namespace` set: a configuration
# that relies on the `default` namespace shows it in the plan. On Terraform 1.0 the first plan
# after any import also shows `cluster` as updated with "The value is unchanged" (Terraform 1.0
# records the sensitivity of imported values only at the next apply).
terraform import cloudtemple_kubernetes_manifest.settings 'v1//ConfigMap//team-a//settings,access=./access.json'
terraform import cloudtemple_kubernetes_manifest.fast 'storage.k8s.io/v1//StorageClass//ceph-block-fast,access=./access.json'
