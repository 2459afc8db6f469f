{{/* Names, labels and the small pieces several templates share. */}}

{{- define "pwp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pwp.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "pwp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pwp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "pwp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "pwp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "pwp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "pwp.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "pwp.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
The rules of one file in rbac/: the same plain YAML the RBAC integration tests bind
(operator/tests/common/cluster.rs), so the chart and the tests cannot drift apart.
*/}}
{{- define "pwp.rbacRules" -}}
{{- $file := .root.Files.Get (printf "rbac/%s" .file) -}}
{{- $rules := (fromYaml (required (printf "rbac/%s is missing from the chart" .file) $file)).rules -}}
{{- required (printf "rbac/%s has no rules" .file) $rules | toYaml -}}
{{- end -}}

{{/*
A binding of the role `name` (kind `roleKind`) to the operator's ServiceAccount: a RoleBinding in
`namespace`, or a ClusterRoleBinding without one.
*/}}
{{- define "pwp.binding" -}}
{{- $root := .root -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ if .namespace }}RoleBinding{{ else }}ClusterRoleBinding{{ end }}
metadata:
  name: {{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "pwp.labels" $root | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ .roleKind }}
  name: {{ .name }}
subjects:
  - kind: ServiceAccount
    name: {{ include "pwp.serviceAccountName" $root }}
    namespace: {{ $root.Release.Namespace }}
{{- end -}}

{{/*
The keys namespace: the signing-key Secrets and nothing else (signingKeys.namespace, default
<full name>-keys, cut to a namespace name's 63 characters).
*/}}
{{- define "pwp.keysNamespace" -}}
{{- .Values.signingKeys.namespace | default (printf "%s-keys" (include "pwp.fullname" . | trunc 58 | trimSuffix "-")) -}}
{{- end -}}

{{/* Where the tenancy ConfigMap is mounted, and the file the operator reads. */}}
{{- define "pwp.tenancyDir" -}}/etc/passwordless-operator{{- end -}}
{{- define "pwp.tenancyFile" -}}{{ include "pwp.tenancyDir" . }}/tenancy.yaml{{- end -}}
