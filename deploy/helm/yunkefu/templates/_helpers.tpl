{{/* Names: <release>-yunkefu unless the release is already called so. */}}
{{- define "yunkefu.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "yunkefu.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The pods of this release (the default-deny NetworkPolicy selects them all). */}}
{{- define "yunkefu.releaseSelector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* One process's pods. args: dict root, name (console|<service>|migrate), component (web|worker|migrate) */}}
{{- define "yunkefu.selector" -}}
{{ include "yunkefu.releaseSelector" .root }}
app.kubernetes.io/component: {{ .component }}
yunkefu.dev/process: {{ .name }}
{{- end -}}

{{/* A process's Deployment / Service name. */}}
{{- define "yunkefu.processName" -}}
{{- $base := printf "%s-%s" (include "yunkefu.fullname" .root) .name -}}
{{- if eq .component "worker" -}}{{ printf "%s-worker" $base }}{{- else -}}{{ $base }}{{- end -}}
{{- end -}}

{{- define "yunkefu.image" -}}
{{ printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end -}}

{{- define "yunkefu.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ .Values.serviceAccount.name | default (include "yunkefu.fullname" .) }}
{{- else -}}
{{ .Values.serviceAccount.name | default "default" }}
{{- end -}}
{{- end -}}

{{/*
A generated secret value that survives upgrades: the value already in the cluster's Secret (lookup), else a
new random one. Cached for the render, so that the hook-side and the regular Secret get the same value.
args: list root secretName key
*/}}
{{- define "yunkefu.generated" -}}
{{- $root := index . 0 -}}{{- $secret := index . 1 -}}{{- $key := index . 2 -}}
{{- if not (hasKey $root.Values "__generated") -}}{{- $_ := set $root.Values "__generated" dict -}}{{- end -}}
{{- $cache := get $root.Values "__generated" -}}
{{- $id := printf "%s/%s" $secret $key -}}
{{- if not (hasKey $cache $id) -}}
{{- $value := randAlphaNum 40 -}}
{{- $existing := lookup "v1" "Secret" $root.Release.Namespace $secret -}}
{{- if and $existing (hasKey ($existing.data | default dict) $key) -}}
{{- $value = index $existing.data $key | b64dec -}}
{{- end -}}
{{- $_ := set $cache $id $value -}}
{{- end -}}
{{- get $cache $id -}}
{{- end -}}

{{/* Every process with a database: the console and the seven services. */}}
{{- define "yunkefu.databaseProcesses" -}}
{{- $names := list "console" -}}
{{- range $name, $_ := .Values.services }}{{ $names = append $names $name }}{{ end -}}
{{- join " " $names -}}
{{- end -}}

{{- define "yunkefu.pgClusterName" -}}{{ printf "%s-pg" (include "yunkefu.fullname" .) }}{{- end -}}
{{- define "yunkefu.rabbitmqName" -}}{{ printf "%s-rabbitmq" (include "yunkefu.fullname" .) }}{{- end -}}

{{/* Secret of the per-process database URLs (keys <NAME>_DATABASE_URL). */}}
{{- define "yunkefu.dbSecretName" -}}
{{- if and (not .Values.postgresql.enabled) .Values.externalDatabase.existingSecret -}}
{{ .Values.externalDatabase.existingSecret }}
{{- else -}}
{{ printf "%s-db" (include "yunkefu.fullname" .) }}
{{- end -}}
{{- end -}}

{{/* Secret holding the AMQP URL (key `url`). */}}
{{- define "yunkefu.amqpSecretName" -}}
{{- if and (not .Values.rabbitmq.enabled) .Values.externalBroker.existingSecret -}}
{{ .Values.externalBroker.existingSecret }}
{{- else -}}
{{ printf "%s-amqp" (include "yunkefu.fullname" .) }}
{{- end -}}
{{- end -}}

{{/* The password of a process's database role (CloudNativePG mode). args: list root name */}}
{{- define "yunkefu.dbPassword" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- include "yunkefu.generated" (list $root (printf "%s-pg-%s" (include "yunkefu.fullname" $root) $name) "password") -}}
{{- end -}}

{{/* The URL of a process's database. args: list root name */}}
{{- define "yunkefu.databaseUrl" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- if $root.Values.postgresql.enabled -}}
{{- $db := printf "%s%s" $root.Values.postgresql.databasePrefix $name -}}
{{- printf "postgresql://%s:%s@%s-rw:5432/%s" $db (include "yunkefu.dbPassword" (list $root $name)) (include "yunkefu.pgClusterName" $root) $db -}}
{{- else -}}
{{- required (printf "externalDatabase.urls.%s (or externalDatabase.existingSecret) is required when postgresql.enabled is false" $name) (get $root.Values.externalDatabase.urls $name) -}}
{{- end -}}
{{- end -}}

{{- define "yunkefu.amqpPassword" -}}
{{- .Values.rabbitmq.password | default (include "yunkefu.generated" (list . (printf "%s-amqp" (include "yunkefu.fullname" .)) "password")) -}}
{{- end -}}

{{- define "yunkefu.amqpUrl" -}}
{{- if .Values.rabbitmq.enabled -}}
{{- printf "amqp://%s:%s@%s:5672/%%2F" .Values.rabbitmq.username (include "yunkefu.amqpPassword" .) (include "yunkefu.rabbitmqName" .) -}}
{{- else -}}
{{- required "externalBroker.url (or externalBroker.existingSecret) is required when rabbitmq.enabled is false" .Values.externalBroker.url -}}
{{- end -}}
{{- end -}}

{{/*
The migration hook runs before the release's regular objects exist on install, except when this chart
also makes the database or the broker: then it runs after install (the operators' clusters must exist
first), and before every upgrade.
*/}}
{{- define "yunkefu.migrateHook" -}}
{{- if or .Values.postgresql.enabled .Values.rabbitmq.enabled -}}post-install,pre-upgrade{{- else -}}pre-install,pre-upgrade{{- end -}}
{{- end -}}

{{/* A process's settings merged over the web / worker defaults. args: dict root name component */}}
{{- define "yunkefu.processValues" -}}
{{- $defaults := deepCopy (get .root.Values .component) -}}
{{- $override := get (get .root.Values.overrides .name | default dict) .component | default dict -}}
{{- toYaml (mergeOverwrite $defaults (deepCopy $override)) -}}
{{- end -}}

{{/* Egress rules to DNS. */}}
{{- define "yunkefu.egressDns" -}}
- to:
    - namespaceSelector: {{- toYaml .Values.networkPolicy.dns.namespaceSelector | nindent 8 }}
      podSelector: {{- toYaml .Values.networkPolicy.dns.podSelector | nindent 8 }}
  ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
{{- end -}}

{{- define "yunkefu.egressDatabase" -}}
{{- if .Values.postgresql.enabled }}
- to:
    - podSelector:
        matchLabels: {cnpg.io/cluster: {{ include "yunkefu.pgClusterName" . }}}
  ports:
    - {protocol: TCP, port: 5432}
{{- else }}
- ports:
    - {protocol: TCP, port: {{ .Values.externalDatabase.port }}}
  {{- with .Values.externalDatabase.networkPeers }}
  to: {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{- define "yunkefu.egressBroker" -}}
{{- if .Values.rabbitmq.enabled }}
- to:
    - podSelector:
        matchLabels: {app.kubernetes.io/name: {{ include "yunkefu.rabbitmqName" . }}}
  ports:
    - {protocol: TCP, port: 5672}
{{- else }}
- ports:
    - {protocol: TCP, port: {{ .Values.externalBroker.port }}}
  {{- with .Values.externalBroker.networkPeers }}
  to: {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{- define "yunkefu.egressS3" -}}
- ports:
    - {protocol: TCP, port: {{ .Values.s3.port }}}
  {{- with .Values.s3.networkPeers }}
  to: {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{- define "yunkefu.ingressFromController" -}}
- namespaceSelector: {{- toYaml .Values.networkPolicy.ingressController.namespaceSelector | nindent 4 }}
  podSelector: {{- toYaml .Values.networkPolicy.ingressController.podSelector | nindent 4 }}
{{- end -}}

{{- define "yunkefu.ingressFromScraper" -}}
- namespaceSelector: {{- toYaml .Values.metrics.scraper.namespaceSelector | nindent 4 }}
  podSelector: {{- toYaml .Values.metrics.scraper.podSelector | nindent 4 }}
{{- end -}}
