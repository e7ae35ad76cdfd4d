"""The resilience plan played under load: plan (what runs), run (playing an entry), sources (AlertManager,
the entry point's log, events), measures (phases, time to detect/recover, gates) and score."""
