{{/* Environment shared by the Redis, labeler and Sentinel containers: topology names and the password. */}}
{{- define "ms5.redis.env" -}}
{{- $redis := include "ms5.componentName" (dict "ctx" . "component" "redis") -}}
{{- $sentinel := include "ms5.componentName" (dict "ctx" . "component" "redis-sentinel") -}}
{{- $domain := include "ms5.clusterDomainSuffix" . -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: REDIS_STS
  value: {{ $redis }}
- name: REDIS_HEADLESS
  value: {{ printf "%s-headless.%s" $redis $domain }}
- name: REDIS_REPLICAS
  value: {{ .Values.redis.replicas | quote }}
- name: SENTINEL_STS
  value: {{ $sentinel }}
- name: SENTINEL_HEADLESS
  value: {{ printf "%s-headless.%s" $sentinel $domain }}
- name: SENTINELS
  value: {{ .Values.redis.sentinel.replicas | quote }}
- name: MASTER_NAME
  value: {{ .Values.redis.sentinel.masterName }}
{{ include "ms5.secretEnv" (dict "ctx" . "name" "REDISCLI_AUTH" "key" "REDIS_PASSWORD") }}
{{- end -}}
