# A Kyverno policy next to the add-on that installs its CRD, in the same apply.
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
}
