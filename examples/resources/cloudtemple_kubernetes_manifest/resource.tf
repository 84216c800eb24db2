# A storage class, from an HCL object. The cluster is created in the same apply: its `access`
# is all the manifest needs.
resource "cloudtemple_kubernetes_manifest" "fast" {
  cluster = cloudtemple_kubernetes_cluster.prod.access

  manifest = {
    apiVersion  = "storage.k8s.io/v1"
    kind        = "StorageClass"
    metadata    = { name = "ceph-block-fast" }
    provisioner = "rook-ceph.rbd.csi.ceph.com"
    parameters  = { clusterID = "rook-ceph", pool = "fast" }
  }
}

# A namespace, from YAML, and a ConfigMap in it.
resource "cloudtemple_kubernetes_manifest" "team" {
  cluster   = cloudtemple_kubernetes_cluster.prod.access
  yaml_body = <<-YAML
    apiVersion: v1
    kind: Namespace
    metadata:
      name: team-a
      labels:
        owner: platform
  YAML
}

resource "cloudtemple_kubernetes_manifest" "settings" {
  cluster = cloudtemple_kubernetes_cluster.prod.access

  # Take over fields another field manager (kubectl, a controller) changed since.
  conflict_resolution = "overwrite"

  manifest = {
    apiVersion = "v1"
    kind       = "ConfigMap"
    metadata   = { name = "settings", namespace = cloudtemple_kubernetes_manifest.team.name }
    data       = { color = "blue" }
  }
}

# A Kyverno policy next to the add-on that installs its CRD, in the same apply: the plan does not
# need the kind to exist yet, the apply waits for it.
resource "cloudtemple_kubernetes_manifest" "require_team_label" {
  cluster = cloudtemple_kubernetes_cluster.prod.access

  manifest = {
    apiVersion = "kyverno.io/v1"
    kind       = "ClusterPolicy"
    metadata   = { name = "require-team-label" }
    spec = {
      validationFailureAction = "Audit"
      rules = [{
        name  = "check-team"
        match = { any = [{ resources = { kinds = ["Pod"] } }] }
        validate = {
          message = "The label `team` is required."
          pattern = { metadata = { labels = { team = "?*" } } }
        }
      }]
    }
  }

  depends_on = [cloudtemple_kubernetes_addon.kyverno]
}
