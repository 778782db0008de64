{{/*
The controller's pod template, shared by the Deployment and the DaemonSet.
*/}}
{{- define "sluice.podTemplate" -}}
{{- $c := .Values.controller -}}
metadata:
  labels:
    {{- include "sluice.selectorLabels" . | nindent 4 }}
    {{- with $c.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $c.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "sluice.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml $c.podSecurityContext | nindent 4 }}
  containers:
    - name: controller
      image: {{ include "sluice.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        {{- include "sluice.args" . | nindent 8 }}
      env:
        # The Lease lives in the pod's namespace and names the pod holding it.
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        {{- with $c.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http
          containerPort: {{ $c.containerPorts.http }}
          protocol: TCP
        - name: https
          containerPort: {{ $c.containerPorts.https }}
          protocol: TCP
        - name: metrics
          containerPort: {{ $c.metrics.port }}
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /healthz
          port: metrics
        {{- toYaml $c.livenessProbe | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: metrics
        {{- toYaml $c.readinessProbe | nindent 8 }}
      {{- if $c.preStopSleepSeconds }}
      lifecycle:
        # Endpoints are removed while the pod still serves; only then does
        # SIGTERM start the drain. The image has no shell, hence the
        # kubelet's own sleep.
        preStop:
          sleep:
            seconds: {{ $c.preStopSleepSeconds }}
      {{- end }}
      resources:
        {{- toYaml $c.resources | nindent 8 }}
      securityContext:
        {{- toYaml $c.securityContext | nindent 8 }}
  {{- with $c.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- range . }}
    {{- $tsc := . }}
    {{- if not (hasKey $tsc "labelSelector") }}
    {{- $tsc = merge (dict "labelSelector" (dict "matchLabels" (include "sluice.selectorLabels" $ | fromYaml))) $tsc }}
    {{- end }}
    - {{ toYaml $tsc | nindent 6 | trim }}
    {{- end }}
  {{- end }}
{{- end }}
