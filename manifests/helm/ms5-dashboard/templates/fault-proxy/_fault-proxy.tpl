{{/*
The fault proxy (faultProxy.enabled): where the backend's processes reach PostgreSQL and Redis, and the
flows it adds to the NetworkPolicy table (templates/networkpolicy). Toxiproxy listens on the ports it
forwards to, so only the host names change.
*/}}
{{- define "ms5.faultProxy.name" -}}
{{- include "ms5.componentName" (dict "ctx" . "component" "fault-proxy") -}}
{{- end -}}

{{/* The PostgreSQL primary as the API, the worker and beat reach it; (dict "ctx" $ ["direct" true]). */}}
{{- define "ms5.faultProxy.postgresHost" -}}
{{- if and .ctx.Values.faultProxy.enabled (not .direct) -}}
{{- include "ms5.faultProxy.name" .ctx -}}
{{- else -}}
{{- include "ms5.postgresHost" .ctx -}}
{{- end -}}
{{- end -}}

{{/* The Redis master as every backend process reaches it. */}}
{{- define "ms5.faultProxy.redisHost" -}}
{{- if .Values.faultProxy.enabled -}}
{{- include "ms5.faultProxy.name" . -}}
{{- else -}}
{{- include "ms5.redisHost" . -}}
{{- end -}}
{{- end -}}

{{/* The proxies Toxiproxy creates at start-up, named after the component they front (the chaos actions use the names). */}}
{{- define "ms5.faultProxy.proxies" -}}
{{- $domain := include "ms5.clusterDomainSuffix" . -}}
- name: postgres
  listen: "0.0.0.0:5432"
  upstream: {{ printf "%s.%s:5432" (include "ms5.postgresHost" .) $domain | quote }}
  enabled: true
- name: redis
  listen: "0.0.0.0:6379"
  upstream: {{ printf "%s.%s:6379" (include "ms5.redisHost" .) $domain | quote }}
  enabled: true
{{- end -}}

{{/* Rows of the flows table: the clients of each upstream reach it through the proxy (their direct rows stay). */}}
{{- define "ms5.faultProxy.flows" -}}
{{- if .Values.faultProxy.enabled }}
{{- range $client := list "backend" "celery-worker" }}
- {from: {{ $client }}, to: fault-proxy, ports: [5432]}
{{- end }}
{{- range $client := list "backend" "celery-worker" "celery-beat" "flower" }}
- {from: {{ $client }}, to: fault-proxy, ports: [6379]}
{{- end }}
- {from: fault-proxy, to: postgres, ports: [5432]}
- {from: fault-proxy, to: redis, ports: [6379]}
- {from: prometheus, to: fault-proxy, ports: [8474]}
{{- end }}
{{- end -}}
