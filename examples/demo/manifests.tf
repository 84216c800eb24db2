# What a platform team adds on top of the add-ons, as Kubernetes objects managed by Terraform:
# a team's namespace and a Kyverno policy. The policy's kind comes from the Kyverno add-on of
# this same apply: the plan does not need the kind to exist yet, the apply waits for it.
resource "cloudtemple_kubernetes_manifest" "team_a" {
  cluster   = cloudtemple_kubernetes_cluster.demo.access
  yaml_body = <<-YAML
    apiVersion: v1
    kind: Namespace
    metadata:
      name: team-a
      labels:
        team: team-a
        # Pod Security admission in the namespace, next to Kyverno's policies.
        pod-security.kubernetes.io/warn: baseline
  YAML
}

# Every Pod must say which team owns it (audited, not enforced: violations go to policy reports).
resource "cloudtemple_kubernetes_manifest" "require_team_label" {
  cluster = cloudtemple_kubernetes_cluster.demo.access

  manifest = {
    apiVersion = "kyverno.io/v1"
    kind       = "ClusterPolicy"
    metadata   = { name = "require-team-label" }
    spec = {
      validationFailureAction = "Audit"
      background              = true
      rules = [{
        name  = "check-team"
        match = { any = [{ resources = { kinds = ["Pod"] } }] }
        exclude = {
          any = [{ resources = { namespaces = ["kube-system", "kyverno", "metallb-system", "ingress-nginx", "rook-ceph"] } }]
        }
        validate = {
          message = "The label `team` is required."
          pattern = { metadata = { labels = { team = "?*" } } }
        }
      }]
    }
  }

  depends_on = [cloudtemple_kubernetes_addon.kyverno]
}

# The team's default quota of Ceph block storage (the default storage class of Rook-Ceph).
resource "cloudtemple_kubernetes_manifest" "team_a_quota" {
  cluster = cloudtemple_kubernetes_cluster.demo.access

  manifest = {
    apiVersion = "v1"
    kind       = "ResourceQuota"
    metadata   = { name = "storage", namespace = cloudtemple_kubernetes_manifest.team_a.name }
    spec = {
      hard = {
        "requests.storage"                                        = "100Gi"
        "ceph-block.storageclass.storage.k8s.io/requests.storage" = "100Gi"
      }
    }
  }
}
