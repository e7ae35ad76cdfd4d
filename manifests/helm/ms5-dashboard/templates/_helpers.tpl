{{/*
Shared helpers. Component helpers take a dict: (dict "ctx" $ "component" "postgres" ...).
*/}}

{{/* Chart name for app.kubernetes.io/name. */}}
{{- define "ms5.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every object name: fullnameOverride or the release name. */}}
{{- define "ms5.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 30 | trimSuffix "-" -}}
{{- end -}}

{{/* Namespace of every namespaced object. */}}
{{- define "ms5.namespace" -}}
{{- default .Release.Namespace .Values.namespace.name -}}
{{- end -}}

{{/* helm.sh/chart label value. */}}
{{- define "ms5.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <fullname>-<component>; (dict "ctx" $ "component" "x"). */}}
{{- define "ms5.componentName" -}}
{{- printf "%s-%s" (include "ms5.fullname" .ctx) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Cluster-scoped names also carry the namespace so two installs never collide. */}}
{{- define "ms5.clusterName" -}}
{{- printf "%s-%s-%s" (include "ms5.namespace" .ctx) (include "ms5.fullname" .ctx) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels; (dict "ctx" $ "component" "x"). */}}
{{- define "ms5.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ms5.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Standard labels; (dict "ctx" $ "component" "x"). */}}
{{- define "ms5.labels" -}}
{{ include "ms5.selectorLabels" . }}
app.kubernetes.io/part-of: ms5-dashboard
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
helm.sh/chart: {{ include "ms5.chart" .ctx }}
{{- end -}}

{{/*
Object metadata; (dict "ctx" $ "component" "x" ["name" "override"] ["annotations" dict] ["labels" dict] ["cluster" true]).
*/}}
{{- define "ms5.metadata" -}}
{{- if .cluster }}
name: {{ .name | default (include "ms5.clusterName" .) }}
{{- else }}
name: {{ .name | default (include "ms5.componentName" .) }}
namespace: {{ include "ms5.namespace" .ctx }}
{{- end }}
labels:
  {{- include "ms5.labels" . | nindent 2 }}
  {{- with .labels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A label selector of a component's pods (NetworkPolicy peers, anti-affinity, spread); (dict "ctx" $ "component" "x"). */}}
{{- define "ms5.podSelector" -}}
matchLabels:
  {{- include "ms5.selectorLabels" . | nindent 2 }}
{{- end -}}

{{/* Image reference (repository:tag, and @digest when images.<key>.digest is set) and pull policy; (dict "ctx" $ "key" "postgres" ["tag" "override"]). */}}
{{- define "ms5.image" -}}
{{- $img := index .ctx.Values.images .key -}}
{{- $registry := $img.registry | default .ctx.Values.global.imageRegistry -}}
{{- $tag := toString (.tag | default $img.tag) -}}
{{- if or (eq $tag "latest") (eq $tag "") -}}
{{- fail (printf "images.%s.tag must be an exact version, not %q" .key $tag) -}}
{{- end -}}
{{- $digest := "" -}}
{{- with $img.digest }}{{ $digest = printf "@%s" . }}{{ end -}}
image: {{ printf "%s/%s:%s%s" $registry $img.repository $tag $digest | quote }}
imagePullPolicy: {{ $img.pullPolicy }}
{{- end -}}

{{/* Pod security context (restricted); (dict "ctx" $ ["runAsUser" n] ["fsGroup" n]). */}}
{{- define "ms5.podSecurityContext" -}}
{{- $psc := .ctx.Values.podSecurityContext -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser | default $psc.runAsUser }}
runAsGroup: {{ .runAsGroup | default (.runAsUser | default $psc.runAsGroup) }}
fsGroup: {{ .fsGroup | default (.runAsUser | default $psc.fsGroup) }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container security context (restricted, read-only root filesystem). */}}
{{- define "ms5.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  privileged: false
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  capabilities:
    drop:
      - ALL
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/*
Startup, readiness and liveness probes; (dict "handler" <probe handler> ["readiness" <handler>]
["liveness" <handler>] "timings" .Values.<component>.probes). Where the handler answers over HTTP, a
plain TCP liveness check on its port beside it keeps a slow answer from restarting the container: it
makes the pod unready instead (kube-score's pod-probes-identical).
*/}}
{{- define "ms5.probes" -}}
{{- $args := . -}}
{{- range $kind := list "startup" "readiness" "liveness" }}
{{ $kind }}Probe:
  {{- toYaml (get $args $kind | default $args.handler) | nindent 2 }}
  {{- toYaml (get $args.timings $kind) | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Probe handler shorthands. */}}
{{- define "ms5.httpProbe" -}}
{{- dict "httpGet" (dict "path" .path "port" .port) | toYaml -}}
{{- end -}}
{{- define "ms5.execProbe" -}}
{{- dict "exec" (dict "command" (list "sh" "-c" .)) | toYaml -}}
{{- end -}}

{{/* Container resources; pass the component's resources map. */}}
{{- define "ms5.resources" -}}
resources:
  {{- toYaml . | nindent 2 }}
{{- end -}}

{{/*
Node pool placement, anti-affinity and how long a pod stays on a failed node;
(dict "ctx" $ "component" "x" "pool" "compute"). The HA components (placement.haComponents) follow
placement.nodeAntiAffinity and placement.zoneSpread; every other pod keeps a soft preference for its own node.
*/}}
{{- define "ms5.scheduling" -}}
{{- $pool := get .ctx.Values.nodePools .pool -}}
{{- if not $pool -}}
{{- fail (printf "node pool %q is not defined under nodePools" .pool) -}}
{{- end -}}
{{- $placement := .ctx.Values.placement -}}
{{- $ha := has .component $placement.haComponents -}}
{{- $selector := include "ms5.podSelector" . -}}
{{- with $pool.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
tolerations:
  {{- with $pool.tolerations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- range list "node.kubernetes.io/not-ready" "node.kubernetes.io/unreachable" }}
  - key: {{ . }}
    operator: Exists
    effect: NoExecute
    tolerationSeconds: {{ $placement.nodeFailureTolerationSeconds }}
  {{- end }}
affinity:
  podAntiAffinity:
    {{- if and $ha (eq $placement.nodeAntiAffinity "required") }}
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          {{- $selector | nindent 10 }}
    {{- else }}
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            {{- $selector | nindent 12 }}
    {{- end }}
{{- if and $ha $placement.zoneSpread.enabled }}
topologySpreadConstraints:
  - topologyKey: topology.kubernetes.io/zone
    maxSkew: {{ $placement.zoneSpread.maxSkew }}
    whenUnsatisfiable: {{ $placement.zoneSpread.whenUnsatisfiable }}
    labelSelector:
      {{- $selector | nindent 6 }}
{{- end }}
{{- end -}}

{{/*
Pod spec head shared by every pod: service account, no token automount (the containers that call the
API mount "ms5.apiTokenMount"), security context, placement.
(dict "ctx" $ "component" "x" "pool" "compute" ["runAsUser" n]).
*/}}
{{- define "ms5.podSpecCommon" -}}
serviceAccountName: {{ include "ms5.componentName" . }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- include "ms5.podSecurityContext" . | nindent 2 }}
{{ include "ms5.scheduling" . }}
{{- with .ctx.Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* Name of the Secret holding every credential. */}}
{{- define "ms5.secretName" -}}
{{- include "ms5.componentName" (dict "ctx" . "component" "secrets") -}}
{{- end -}}

{{/* Keys of the credentials Secret (also the Key Vault object map). */}}
{{- define "ms5.secretKeys" -}}
- SECRET_KEY
- ADMIN_PASSWORD
- POSTGRES_PASSWORD
- POSTGRES_SUPERUSER_PASSWORD
- POSTGRES_REPLICATION_PASSWORD
- POSTGRES_REWIND_PASSWORD
- POSTGRES_MONITOR_PASSWORD
- REDIS_PASSWORD
- MINIO_ACCESS_KEY
- MINIO_SECRET_KEY
{{- if .Values.postgres.backup.store.endpoint }}
- BACKUP_S3_ACCESS_KEY
- BACKUP_S3_SECRET_KEY
{{- end }}
- FLOWER_BASIC_AUTH
- GRAFANA_ADMIN_PASSWORD
{{- end -}}

{{/* One env entry from the credentials Secret; (dict "ctx" $ "name" "ENV" ["key" "KEY"]). */}}
{{- define "ms5.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "ms5.secretName" .ctx }}
      key: {{ .key | default .name }}
{{- end -}}

{{/* With Key Vault, pods mount the CSI volume so the driver syncs the Secret before they start. */}}
{{- define "ms5.secretsStoreVolume" -}}
{{- if eq .Values.secrets.provider "keyvault" }}
- name: secrets-store
  csi:
    driver: secrets-store.csi.k8s.io
    readOnly: true
    volumeAttributes:
      secretProviderClass: {{ include "ms5.componentName" (dict "ctx" . "component" "keyvault") }}
{{- end }}
{{- end -}}
{{- define "ms5.secretsStoreMount" -}}
{{- if eq .Values.secrets.provider "keyvault" }}
- name: secrets-store
  mountPath: {{ .Values.secrets.keyVault.mountPath }}
  readOnly: true
{{- end }}
{{- end -}}

{{/*
The ServiceAccount token, CA and namespace where in-cluster clients look for them, for the containers that
call the API only (Patroni, the Redis role labeler, Prometheus' kubelet scrape and service discovery).
expirationSeconds 3607 is what the automount asks for: the kubelet rotates the file, clients re-read it.
*/}}
{{- define "ms5.apiTokenVolume" -}}
- name: kube-api-access
  projected:
    defaultMode: 0444
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: 3607
      - configMap:
          name: kube-root-ca.crt
          items:
            - key: ca.crt
              path: ca.crt
      - downwardAPI:
          items:
            - path: namespace
              fieldRef:
                fieldPath: metadata.namespace
{{- end -}}
{{- define "ms5.apiTokenMount" -}}
- name: kube-api-access
  mountPath: /var/run/secrets/kubernetes.io/serviceaccount
  readOnly: true
{{- end -}}

{{/* A writable scratch volume; (dict "name" "tmp" ["sizeLimit" "64Mi"]). */}}
{{- define "ms5.emptyDir" -}}
- name: {{ .name }}
  emptyDir:
    sizeLimit: {{ .sizeLimit | default "64Mi" }}
{{- end -}}

{{/* Data volume claim template or nothing; (dict "ctx" $ "size" "10Gi" ["name" "data"]). */}}
{{- define "ms5.volumeClaimTemplates" -}}
{{- if .ctx.Values.persistence.enabled }}
volumeClaimTemplates:
  - apiVersion: v1
    kind: PersistentVolumeClaim
    metadata:
      name: {{ .name | default "data" }}
      labels:
        {{- include "ms5.selectorLabels" . | nindent 8 }}
    spec:
      accessModes:
        - {{ .ctx.Values.persistence.accessMode }}
      {{- with .ctx.Values.persistence.storageClass }}
      storageClassName: {{ . }}
      {{- end }}
      resources:
        requests:
          storage: {{ .size }}
{{- end }}
{{- end -}}

{{/* The data volume when persistence is off (a size-limited emptyDir); (dict "ctx" $ "size" "1Gi"). */}}
{{- define "ms5.dataVolumeFallback" -}}
{{- if not .ctx.Values.persistence.enabled }}
- name: {{ .name | default "data" }}
  emptyDir:
    sizeLimit: {{ .size }}
{{- end }}
{{- end -}}

{{/* Hostnames. */}}
{{- define "ms5.clusterDomainSuffix" -}}
{{- printf "%s.svc.cluster.local" (include "ms5.namespace" .) -}}
{{- end -}}
{{- define "ms5.postgresHost" -}}
{{- include "ms5.componentName" (dict "ctx" . "component" "postgres") -}}
{{- end -}}
{{- define "ms5.redisHost" -}}
{{- include "ms5.componentName" (dict "ctx" . "component" "redis") -}}
{{- end -}}
{{- define "ms5.minioEndpoint" -}}
{{- printf "http://%s:9000" (include "ms5.componentName" (dict "ctx" . "component" "minio")) -}}
{{- end -}}

{{/* Where the Postgres backups go: postgres.backup.store (off-cluster, its own credentials) or the in-cluster
object store. The S3_* environment of the backup/restore Jobs and of ms5-backup-monitor. */}}
{{- define "ms5.backupStoreEnv" -}}
{{- $s := .Values.postgres.backup.store -}}
{{- $off := ne $s.endpoint "" -}}
- name: S3_ENDPOINT
  value: {{ $s.endpoint | default (include "ms5.minioEndpoint" .) | quote }}
- name: S3_REGION
  value: {{ $s.region | default .Values.minio.region | quote }}
{{ include "ms5.secretEnv" (dict "ctx" . "name" "S3_ACCESS_KEY" "key" (ternary "BACKUP_S3_ACCESS_KEY" "MINIO_ACCESS_KEY" $off)) }}
{{ include "ms5.secretEnv" (dict "ctx" . "name" "S3_SECRET_KEY" "key" (ternary "BACKUP_S3_SECRET_KEY" "MINIO_SECRET_KEY" $off)) }}
- name: S3_BUCKET
  value: {{ $s.bucket | default .Values.minio.buckets.backups.name | quote }}
- name: S3_PREFIX
  value: {{ .Values.postgres.backup.prefix | quote }}
{{- end -}}

{{/* Minutes the newest backup may age: postgres.backup.maxAgeMinutes, else the schedule's period (daily, weekly,
hourly, every N minutes) plus the minutes a run may start late and last (startingDeadlineSeconds, activeDeadlineSeconds). */}}
{{- define "ms5.backupMaxAgeMinutes" -}}
{{- $bk := .Values.postgres.backup -}}
{{- if gt (int $bk.maxAgeMinutes) 0 -}}
{{- $bk.maxAgeMinutes -}}
{{- else -}}
{{- $f := regexSplit "\\s+" (trim $bk.schedule) -1 -}}
{{- $period := 0 -}}
{{- if eq (len $f) 5 -}}
{{- $n := "^[0-9]+$" -}}
{{- $rest := slice $f 1 | join " " -}}
{{- if and (regexMatch $n (index $f 0)) (regexMatch $n (index $f 1)) (eq (slice $f 2 | join " ") "* * *") -}}
{{- $period = 1440 -}}
{{- else if and (regexMatch $n (index $f 0)) (regexMatch $n (index $f 1)) (eq (slice $f 2 4 | join " ") "* *") (regexMatch "^[0-7]$" (index $f 4)) -}}
{{- $period = 10080 -}}
{{- else if and (regexMatch $n (index $f 0)) (eq $rest "* * * *") -}}
{{- $period = 60 -}}
{{- else if and (regexMatch "^\\*/[0-9]+$" (index $f 0)) (eq $rest "* * * *") -}}
{{- $period = trimPrefix "*/" (index $f 0) | int -}}
{{- end -}}
{{- end -}}
{{- if eq (int $period) 0 -}}
{{- fail (printf "postgres.backup.maxAgeMinutes: set it for the schedule %q (derived only for daily, weekly, hourly and every-N-minutes schedules)" $bk.schedule) -}}
{{- end -}}
{{- add $period (div (add $bk.startingDeadlineSeconds $bk.activeDeadlineSeconds 59) 60) -}}
{{- end -}}
{{- end -}}

{{/* Kubernetes quantity -> cores / GiB, for the cost rules. */}}
{{- define "ms5.cpuCores" -}}
{{- $q := toString . -}}
{{- if hasSuffix "m" $q -}}
{{- divf (trimSuffix "m" $q | float64) 1000.0 -}}
{{- else -}}
{{- $q | float64 -}}
{{- end -}}
{{- end -}}
{{- define "ms5.memoryGiB" -}}
{{- $q := toString . -}}
{{- if hasSuffix "Gi" $q -}}{{- trimSuffix "Gi" $q | float64 -}}
{{- else if hasSuffix "Mi" $q -}}{{- divf (trimSuffix "Mi" $q | float64) 1024.0 -}}
{{- else if hasSuffix "Ki" $q -}}{{- divf (trimSuffix "Ki" $q | float64) 1048576.0 -}}
{{- else if hasSuffix "G" $q -}}{{- divf (mulf (trimSuffix "G" $q | float64) 1000000000.0) 1073741824.0 -}}
{{- else if hasSuffix "M" $q -}}{{- divf (mulf (trimSuffix "M" $q | float64) 1000000.0) 1073741824.0 -}}
{{- else -}}{{- divf ($q | float64) 1073741824.0 -}}
{{- end -}}
{{- end -}}

{{/*
Every workload with its node pool and containers' resources: the source of the ServiceAccounts and
of the per-workload cost rules. Returns YAML; use with fromYamlArray.
*/}}
{{- define "ms5.workloads" -}}
{{- $v := .Values -}}
- component: postgres
  pool: {{ $v.postgres.nodePool }}
  token: true
  containers:
    postgres: {{ $v.postgres.resources | toJson }}
    postgres-exporter: {{ $v.postgres.exporter.resources | toJson }}
- component: redis
  pool: {{ $v.redis.nodePool }}
  token: true
  containers:
    redis: {{ $v.redis.resources | toJson }}
    redis-exporter: {{ $v.redis.exporter.resources | toJson }}
    redis-labeler: {{ $v.redis.labeler.resources | toJson }}
- component: redis-sentinel
  pool: {{ $v.redis.sentinel.nodePool }}
  containers:
    sentinel: {{ $v.redis.sentinel.resources | toJson }}
- component: backend
  pool: {{ $v.backend.nodePool }}
  containers:
    api: {{ $v.backend.resources | toJson }}
{{- if $v.backend.migrations.enabled }}
- component: migrations
  pool: {{ $v.backend.nodePool }}
  job: true
  containers:
    migrate: {{ $v.backend.migrations.resources | toJson }}
{{- end }}
- component: celery-worker
  pool: {{ $v.celeryWorker.nodePool }}
  containers:
    worker: {{ $v.celeryWorker.resources | toJson }}
- component: celery-beat
  pool: {{ $v.celeryBeat.nodePool }}
  containers:
    beat: {{ $v.celeryBeat.resources | toJson }}
{{- if $v.flower.enabled }}
- component: flower
  pool: {{ $v.flower.nodePool }}
  containers:
    flower: {{ $v.flower.resources | toJson }}
{{- end }}
- component: nginx
  pool: {{ $v.nginx.nodePool }}
  containers:
    nginx: {{ $v.nginx.resources | toJson }}
- component: minio
  pool: {{ $v.minio.nodePool }}
  containers:
    minio: {{ $v.minio.resources | toJson }}
{{- if eq $v.minio.implementation "minio" }}
- component: minio-setup
  pool: {{ $v.minio.nodePool }}
  job: true
  containers:
    setup: {{ $v.minio.setup.resources | toJson }}
{{- else }}
    buckets: {{ $v.minio.setup.resources | toJson }}
{{- end }}
{{- if $v.postgres.backup.enabled }}
- component: postgres-backup
  pool: {{ $v.postgres.backup.nodePool }}
  job: true
  containers:
    backup: {{ $v.postgres.backup.resources | toJson }}
    restore: {{ $v.postgres.backup.resources | toJson }}
- component: backup-monitor
  pool: {{ $v.postgres.backup.monitor.nodePool }}
  containers:
    monitor: {{ $v.postgres.backup.monitor.resources | toJson }}
{{- end }}
- component: prometheus
  pool: {{ $v.prometheus.nodePool }}
  token: true
  containers:
    prometheus: {{ $v.prometheus.resources | toJson }}
    k8s-sd: {{ $v.prometheus.sd.resources | toJson }}
{{- if $v.grafana.enabled }}
- component: grafana
  pool: {{ $v.grafana.nodePool }}
  containers:
    grafana: {{ $v.grafana.resources | toJson }}
{{- end }}
- component: alertmanager
  pool: {{ $v.alertmanager.nodePool }}
  containers:
    alertmanager: {{ $v.alertmanager.resources | toJson }}
{{- if $v.faultProxy.enabled }}
- component: fault-proxy
  pool: {{ $v.faultProxy.nodePool }}
  containers:
    toxiproxy: {{ $v.faultProxy.resources | toJson }}
{{- end }}
{{- if $v.blackboxExporter.enabled }}
- component: blackbox-exporter
  pool: {{ $v.blackboxExporter.nodePool }}
  containers:
    blackbox: {{ $v.blackboxExporter.resources | toJson }}
{{- end }}
{{- if $v.alertWebhook.enabled }}
- component: alert-webhook
  pool: {{ $v.alertWebhook.nodePool }}
  containers:
    webhook: {{ $v.alertWebhook.resources | toJson }}
{{- end }}
{{- end -}}

{{/* Pod annotation that rolls pods when a rendered config changes; (dict "ctx" $ "files" (list "path" ...)). */}}
{{- define "ms5.checksums" -}}
{{- $ctx := .ctx -}}
{{- range .files }}
checksum/{{ . | trimSuffix ".yaml" | replace "/" "-" }}: {{ include (print $ctx.Template.BasePath "/" .) $ctx | sha256sum | trunc 16 | quote }}
{{- end }}
{{- end -}}

{{/* Azure Key Vault provider parameters shared by every SecretProviderClass (workload identity). */}}
{{- define "ms5.keyVaultParameters" -}}
{{- $kv := .Values.secrets.keyVault -}}
usePodIdentity: "false"
useVMManagedIdentity: "false"
clientID: {{ $kv.clientId | quote }}
keyvaultName: {{ $kv.name | quote }}
tenantId: {{ $kv.tenantId | quote }}
cloudName: AzurePublicCloud
{{- end -}}
