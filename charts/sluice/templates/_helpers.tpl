{{/*
Name of the chart, for the app.kubernetes.io/name label.
*/}}
{{- define "sluice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Prefix of every object name. Kept to 53 characters so that suffixes such as
"-metrics" and "-tcp" still fit a 63-character name.
*/}}
{{- define "sluice.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 53 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 53 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 53 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "sluice.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels that select the controller's pods; they never change across
upgrades, since a Deployment's selector is immutable.
*/}}
{{- define "sluice.instanceLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sluice.selectorLabels" -}}
{{ include "sluice.instanceLabels" . }}
app.kubernetes.io/component: controller
{{- end }}

{{/* Labels of every object but the component's, which the caller adds. */}}
{{- define "sluice.baseLabels" -}}
helm.sh/chart: {{ include "sluice.chart" . }}
{{ include "sluice.instanceLabels" . }}
app.kubernetes.io/version: {{ include "sluice.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sluice
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "sluice.labels" -}}
{{ include "sluice.baseLabels" . }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "sluice.metricsLabels" -}}
{{ include "sluice.instanceLabels" . }}
app.kubernetes.io/component: metrics
{{- end }}

{{- define "sluice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sluice.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sluice.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "sluice.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "sluice.imageTag" .) }}
{{- end }}
{{- end }}

{{/* The TCP services ConfigMap, always rendered so that TCP services can be
added by an upgrade without restarting the pods. */}}
{{- define "sluice.tcpConfigMapName" -}}
{{- printf "%s-tcp" (include "sluice.fullname" .) }}
{{- end }}

{{- define "sluice.metricsServiceName" -}}
{{- printf "%s-metrics" (include "sluice.fullname" .) }}
{{- end }}

{{/* The Lease the replicas share: controllers.LeaseName(ingress class). */}}
{{- define "sluice.leaseName" -}}
{{- printf "sluice-%s-leader" .Values.ingressClass.name }}
{{- end }}

{{/* Whether the controller publishes its own Service's address. */}}
{{- define "sluice.publishesService" -}}
{{- if and .Values.controller.publishService .Values.controller.service.enabled (not .Values.controller.publishStatusAddress) }}true{{ end }}
{{- end }}

{{/*
Namespace of the watched objects' Role, or "" when the controller watches
the whole cluster.
*/}}
{{- define "sluice.watchNamespace" -}}
{{- .Values.controller.watchNamespace }}
{{- end }}

{{/*
Namespace of the default certificate's Secret when the watched namespace's
Role does not cover it (watchNamespace set, and the Secret elsewhere); ""
otherwise.
*/}}
{{- define "sluice.defaultCertificateRoleNamespace" -}}
{{- $watch := include "sluice.watchNamespace" . }}
{{- with .Values.controller.defaultSSLCertificate }}
{{- $certNS := first (splitList "/" .) }}
{{- if and $watch (ne $certNS $watch) }}{{ $certNS }}{{ end }}
{{- end }}
{{- end }}

{{/*
The TCP services map, checked: listen ports are numbers in 1024-65535 (the
container runs without the capability for lower ports) and clash with none
of the controller's own ports.
*/}}
{{- define "sluice.validateTCP" -}}
{{- $c := .Values.controller }}
{{- $reserved := dict (toString $c.containerPorts.http) "the HTTP port" (toString $c.containerPorts.https) "the HTTPS port" (toString $c.metrics.port) "the metrics port" }}
{{- range $port, $target := .Values.tcp }}
{{- $n := atoi $port }}
{{- if or (lt $n 1024) (gt $n 65535) (ne (toString $n) $port) }}
{{- fail (printf "tcp: listen port %q must be a number between 1024 and 65535" $port) }}
{{- end }}
{{- if hasKey $reserved $port }}
{{- fail (printf "tcp: listen port %s is %s of the controller" $port (get $reserved $port)) }}
{{- end }}
{{- end }}
{{- range $port, $nodePort := $c.service.nodePorts.tcp }}
{{- if not (hasKey $.Values.tcp $port) }}
{{- fail (printf "controller.service.nodePorts.tcp: %q is not a port of tcp" $port) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Cross-field checks the schema cannot express. */}}
{{- define "sluice.validate" -}}
{{- $c := .Values.controller }}
{{- include "sluice.validateTCP" . }}
{{- if and (eq $c.kind "DaemonSet") $c.autoscaling.enabled }}
{{- fail "controller.autoscaling.enabled needs controller.kind Deployment" }}
{{- end }}
{{- if and $c.autoscaling.enabled (gt (int $c.autoscaling.minReplicas) (int $c.autoscaling.maxReplicas)) }}
{{- fail "controller.autoscaling.minReplicas is greater than maxReplicas" }}
{{- end }}
{{- if and $c.autoscaling.enabled (not $c.autoscaling.targetCPUUtilizationPercentage) (not $c.autoscaling.targetMemoryUtilizationPercentage) }}
{{- fail "controller.autoscaling needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" }}
{{- end }}
{{- if lt (int $c.terminationGracePeriodSeconds) (add $c.preStopSleepSeconds $c.drainSeconds) }}
{{- fail (printf "controller.terminationGracePeriodSeconds (%d) must cover preStopSleepSeconds + drainSeconds (%d)" (int $c.terminationGracePeriodSeconds) (add $c.preStopSleepSeconds $c.drainSeconds)) }}
{{- end }}
{{- if and $c.publishService $c.publishStatusAddress }}
{{- fail "controller.publishService and controller.publishStatusAddress are exclusive: set publishService to false" }}
{{- end }}
{{- $pdb := $c.podDisruptionBudget }}
{{- if and $pdb.enabled (eq (toString $pdb.maxUnavailable) "") (eq (toString $pdb.minAvailable) "") }}
{{- fail "controller.podDisruptionBudget needs maxUnavailable or minAvailable" }}
{{- end }}
{{- if and $pdb.enabled (ne (toString $pdb.maxUnavailable) "") (ne (toString $pdb.minAvailable) "") }}
{{- fail "controller.podDisruptionBudget: set only one of maxUnavailable and minAvailable" }}
{{- end }}
{{- if and $c.service.enabled (not $c.service.enableHttp) (not $c.service.enableHttps) (not .Values.tcp) }}
{{- fail "controller.service exposes no port: enable HTTP or HTTPS, or add tcp services" }}
{{- end }}
{{- if and $c.metrics.serviceMonitor.enabled (not $c.metrics.service.enabled) }}
{{- fail "controller.metrics.serviceMonitor.enabled needs controller.metrics.service.enabled: the ServiceMonitor selects that Service" }}
{{- end }}
{{- if and (eq $c.service.type "ClusterIP") $c.service.externalTrafficPolicy }}
{{- fail "controller.service.externalTrafficPolicy needs type LoadBalancer or NodePort" }}
{{- end }}
{{- range $k, $v := $c.extraArgs }}
{{- if has $k (list "kubeconfig" "ingress-class" "controller-name" "http-addr" "https-addr" "metrics-addr" "tcp-services-configmap" "publish-service" "publish-status-address" "watch-namespace" "default-ssl-certificate" "leader-elect" "grace" "access-log") }}
{{- fail (printf "controller.extraArgs: --%s is set by the chart; use its value instead" $k) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The controller's command line. The image's entrypoint is the sluice binary.
*/}}
{{- define "sluice.args" -}}
{{- $c := .Values.controller -}}
- controller
- --ingress-class={{ .Values.ingressClass.name }}
- --controller-name={{ .Values.ingressClass.controller }}
- --http-addr=:{{ $c.containerPorts.http }}
- --https-addr=:{{ $c.containerPorts.https }}
- --metrics-addr=:{{ $c.metrics.port }}
- --tcp-services-configmap={{ .Release.Namespace }}/{{ include "sluice.tcpConfigMapName" . }}
{{- if include "sluice.publishesService" . }}
- --publish-service={{ .Release.Namespace }}/{{ include "sluice.fullname" . }}
{{- else if $c.publishStatusAddress }}
- --publish-status-address={{ $c.publishStatusAddress }}
{{- end }}
{{- with $c.watchNamespace }}
- --watch-namespace={{ . }}
{{- end }}
{{- with $c.defaultSSLCertificate }}
- --default-ssl-certificate={{ . }}
{{- end }}
- --leader-elect={{ $c.leaderElect }}
- --grace={{ $c.drainSeconds }}s
- --access-log={{ $c.accessLog }}
{{- range $k, $v := $c.extraArgs }}
- --{{ $k }}={{ $v }}
{{- end }}
{{- end }}
