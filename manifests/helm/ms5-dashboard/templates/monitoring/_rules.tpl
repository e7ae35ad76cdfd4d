{{/* Name of a rules ConfigMap; (dict "ctx" $ "kind" "sli"). */}}
{{- define "ms5.rulesConfigMapName" -}}
{{- printf "%s-rules-%s" (include "ms5.componentName" (dict "ctx" .ctx "component" "prometheus")) .kind -}}
{{- end -}}

{{/* Request selector of the API SLIs: every handler but probes and metrics. */}}
{{- define "ms5.sli.requests" -}}
job="backend", handler!~"/health.*|/metrics"
{{- end -}}

{{/* Burn-rate windows (SRE workbook, 30-day budget): long window, short window, factor, severity. */}}
{{- define "ms5.burnWindows" -}}
- {long: 1h, short: 5m, factor: 14.4, severity: critical}
- {long: 6h, short: 30m, factor: 6, severity: critical}
- {long: 1d, short: 2h, factor: 3, severity: warning}
- {long: 3d, short: 6h, factor: 1, severity: warning}
{{- end -}}
