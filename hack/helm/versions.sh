# Helm versions the chart is tested with; hack/helm/install.sh builds them and
# test/chart runs every one. The chart must work with both majors.
HELM_VERSIONS=(v3.22.0 v4.3.1)
