# An add-on is imported by its cluster's ID and its name.
terraform import cloudtemple_kubernetes_addon.metallb 'ctprd:metallb'
