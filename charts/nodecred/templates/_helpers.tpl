{{/*
Labels of every object: the two manifests/kustomization.yaml adds (so `kubectl -l
app.kubernetes.io/part-of=nodecred` finds the same objects either way), then Helm's standard ones.
Never on the DaemonSet's selector or pod template: the selector is immutable and is the same as the
manifests' one, so an install can move between the two.
*/}}
{{- define "nodecred.labels" -}}
app.kubernetes.io/name: nodecred
app.kubernetes.io/part-of: nodecred
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | quote }}
{{- end -}}

{{- define "nodecred.namespace" -}}
{{ .Values.namespace.name }}
{{- end -}}

{{- define "nodecred.image" -}}
{{ printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end -}}

{{/* The Secret the DaemonSet mounts and `run` watches: the default credential set. */}}
{{- define "nodecred.secretName" -}}
{{ .Values.credentials.secretName }}
{{- end -}}
