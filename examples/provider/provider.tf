terraform {
  required_providers {
    cloudtemple = {
      source = "cloud-temple/cloudtemple"
    }
  }
}

# No credentials here: each resource carries the access of the cluster it manages, so a
# cluster and everything on it can be created in one apply.
provider "cloudtemple" {
  field_manager      = "platform-team"
  max_parallel_nodes = 8
}
