{{/*
The one wiring of the backend image, shared by api, worker, beat, flower and the migrations Job:
non-secret settings from the ConfigMap, credentials from the Secret, DATABASE_URL composed from them.
Generated passwords are alphanumeric, so they are safe inside the URL.
*/}}
{{- define "ms5.backend.envFrom" -}}
envFrom:
  - configMapRef:
      name: {{ include "ms5.componentName" (dict "ctx" . "component" "config") }}
{{- end -}}

{{/* (dict "ctx" $ ["extra" <YAML list of more env entries>] ["direct" true: never through the fault proxy]). */}}
{{- define "ms5.backend.env" -}}
{{- $ctx := .ctx -}}
env:
  {{- include "ms5.secretEnv" (dict "ctx" $ctx "name" "SECRET_KEY") | nindent 2 }}
  {{- include "ms5.secretEnv" (dict "ctx" $ctx "name" "ADMIN_PASSWORD") | nindent 2 }}
  {{- include "ms5.secretEnv" (dict "ctx" $ctx "name" "POSTGRES_PASSWORD") | nindent 2 }}
  - name: DATABASE_URL
    value: {{ printf "postgresql+asyncpg://%s:$(POSTGRES_PASSWORD)@%s:5432/%s" $ctx.Values.postgres.username (include "ms5.faultProxy.postgresHost" (dict "ctx" $ctx "direct" .direct)) $ctx.Values.postgres.database | quote }}
  {{- include "ms5.secretEnv" (dict "ctx" $ctx "name" "REDIS_PASSWORD") | nindent 2 }}
  {{- include "ms5.secretEnv" (dict "ctx" $ctx "name" "MINIO_ACCESS_KEY") | nindent 2 }}
  {{- include "ms5.secretEnv" (dict "ctx" $ctx "name" "MINIO_SECRET_KEY") | nindent 2 }}
  - name: POD_NAME
    valueFrom:
      fieldRef:
        fieldPath: metadata.name
  {{- with .extra }}
  {{- . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* Writable /tmp (the root filesystem is read-only) and, with Key Vault, the CSI volume. */}}
{{- define "ms5.backend.volumeMounts" -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  {{- include "ms5.secretsStoreMount" . | nindent 2 }}
{{- end -}}
{{- define "ms5.backend.volumes" -}}
volumes:
  {{- include "ms5.emptyDir" (dict "name" "tmp" "sizeLimit" "256Mi") | nindent 2 }}
  {{- include "ms5.secretsStoreVolume" . | nindent 2 }}
{{- end -}}

{{/* Pod annotations that roll backend pods when the settings change. */}}
{{- define "ms5.backend.podAnnotations" -}}
{{- include "ms5.checksums" (dict "ctx" . "files" (list "config/configmap.yaml")) }}
{{- end -}}
