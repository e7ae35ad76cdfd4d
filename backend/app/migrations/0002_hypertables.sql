-- Hypertables where TimescaleDB is installed; on plain PostgreSQL the tables stay
-- ordinary and every query still works (trends use date_bin, not time_bucket).
-- ms5.chunk_time_interval is set by app.migrate from TIMESCALEDB_CHUNK_TIME_INTERVAL.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        RAISE NOTICE 'timescaledb is not available: time-series tables stay plain tables';
        RETURN;
    END IF;
    CREATE EXTENSION IF NOT EXISTS timescaledb WITH SCHEMA public;
    PERFORM public.create_hypertable('factory_telemetry.metric_hist', 'ts',
        chunk_time_interval => current_setting('ms5.chunk_time_interval')::interval,
        if_not_exists => TRUE, migrate_data => TRUE);
    PERFORM public.create_hypertable('factory_telemetry.oee_calculations', 'calculation_time',
        chunk_time_interval => current_setting('ms5.chunk_time_interval')::interval,
        if_not_exists => TRUE, migrate_data => TRUE);
END
$$;
