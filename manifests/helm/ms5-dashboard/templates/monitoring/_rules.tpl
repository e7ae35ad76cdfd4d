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

{{/* Requests sent by the blackbox probes through the entry point (nginx): each sample is one GET. */}}
{{- define "ms5.sli.probes" -}}
job="blackbox"
{{- end -}}

{{/*
The windowed SLI ratios of one window; (dict "ctx" $ "window" "1h"). Error ratio (5xx), slow ratio (slower
than the latency threshold), unavailability (API scrapes), entry unavailability (failed probes through nginx).
*/}}
{{- define "ms5.sli.windowRules" -}}
{{- $sel := include "ms5.sli.requests" .ctx -}}
{{- $probes := include "ms5.sli.probes" .ctx -}}
{{- $le := .ctx.Values.slo.latencyThresholdSeconds | toString -}}
{{- $w := .window -}}
- record: ms5:sli_error_ratio:rate{{ $w }}
  expr: (sum(rate(http_requests_total{ {{- $sel -}}, status=~"5.."}[{{ $w }}])) or 0 * sum(rate(http_requests_total{ {{- $sel -}} }[{{ $w }}]))) / sum(rate(http_requests_total{ {{- $sel -}} }[{{ $w }}]))
- record: ms5:sli_latency_slow_ratio:rate{{ $w }}
  expr: 1 - (sum(rate(http_request_duration_seconds_bucket{ {{- $sel -}}, le="{{ $le }}"}[{{ $w }}])) / sum(rate(http_request_duration_seconds_count{ {{- $sel -}} }[{{ $w }}])))
- record: ms5:sli_unavailability:ratio{{ $w }}
  expr: 1 - avg_over_time(ms5:api_up:bool[{{ $w }}])
{{- if .ctx.Values.blackboxExporter.enabled }}
- record: ms5:sli_entry_unavailability:ratio{{ $w }}
  expr: 1 - sum(sum_over_time(probe_success{ {{- $probes -}} }[{{ $w }}])) / sum(count_over_time(probe_success{ {{- $probes -}} }[{{ $w }}]))
{{- end }}
{{- end -}}
