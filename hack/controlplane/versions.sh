# Versions of the control plane that integration and e2e tests run against.
# Sourced by build.sh and update-modules.sh; change them here and rerun
# update-modules.sh so the scratch modules and their go.sum follow.
KUBERNETES_VERSION=v1.37.2
# The staging modules (k8s.io/api, k8s.io/apiserver, ...) carry the same
# minor and patch under a v0 major.
KUBERNETES_STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.6.16
