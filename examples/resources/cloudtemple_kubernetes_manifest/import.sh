# A manifest is imported by cluster ID, apiVersion, kind and namespace/name (empty namespace
# for cluster-scoped kinds).
terraform import cloudtemple_kubernetes_manifest.require_team_label 'ctprd:kyverno.io/v1:ClusterPolicy:/require-team-label'
