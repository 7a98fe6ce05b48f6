{{/* The Kubernetes name of a service: its name with a dash (erp_bridge -> erp-bridge). */}}
{{- define "shangji.app" -}}
{{- . | replace "_" "-" -}}
{{- end -}}

{{/* Standard labels (app.kubernetes.io/*), plus the short ones the kustomize base and its tests use. */}}
{{- define "shangji.labels" -}}
app.kubernetes.io/name: {{ .app }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: shangji
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
app: {{ .app }}
component: {{ .component }}
part-of: shangji
{{- end -}}

{{- define "shangji.selector" -}}
app.kubernetes.io/name: {{ .app }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* repository@digest when a digest is given, else repository:tag. */}}
{{- define "shangji.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}
{{- end -}}

{{- define "shangji.secretName" -}}
{{- .Values.secret.existingSecret | default "shangji-secrets" -}}
{{- end -}}

{{- define "shangji.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "shangji.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "shangji.envFrom" -}}
- configMapRef:
    name: {{ .configMap }}
- secretRef:
    name: {{ include "shangji.secretName" .root }}
{{- end -}}

{{- define "shangji.topologySpread" -}}
{{- if .root.Values.topologySpread.enabled }}
topologySpreadConstraints:
{{- range $key := list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
  - maxSkew: {{ $.root.Values.topologySpread.maxSkew }}
    topologyKey: {{ $key }}
    whenUnsatisfiable: {{ $.root.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "shangji.selector" $ | nindent 8 }}
{{- end }}
{{- end }}
{{- end -}}
