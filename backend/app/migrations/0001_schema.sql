-- Core schema. Time-series tables carry composite keys that include their time
-- column, so TimescaleDB can turn them into hypertables (0002). History (events,
-- OEE, telemetry) keeps its line: deleting a line with history fails; disable it instead.

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text NOT NULL UNIQUE,
    email         text UNIQUE,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'production_manager', 'shift_manager', 'engineer',
                                                'operator', 'maintenance', 'quality', 'viewer')),
    first_name    text,
    last_name     text,
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE production_lines (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    line_code                text NOT NULL UNIQUE,
    name                     text NOT NULL,
    description              text,
    ideal_cycle_time_seconds double precision NOT NULL DEFAULT 1.0 CHECK (ideal_cycle_time_seconds > 0),
    enabled                  boolean NOT NULL DEFAULT true,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE equipment_config (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    equipment_code text NOT NULL UNIQUE,
    name           text NOT NULL,
    line_id        uuid REFERENCES production_lines (id) ON DELETE CASCADE,
    equipment_type text,
    enabled        boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE product_types (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    product_code             text NOT NULL UNIQUE,
    name                     text NOT NULL,
    ideal_cycle_time_seconds double precision CHECK (ideal_cycle_time_seconds > 0),
    enabled                  boolean NOT NULL DEFAULT true,
    created_at               timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE production_schedules (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    line_id         uuid NOT NULL REFERENCES production_lines (id),
    product_type_id uuid REFERENCES product_types (id),
    scheduled_start timestamptz NOT NULL,
    scheduled_end   timestamptz NOT NULL CHECK (scheduled_end > scheduled_start),
    target_quantity integer CHECK (target_quantity >= 0),
    status          text NOT NULL DEFAULT 'scheduled'
                    CHECK (status IN ('scheduled', 'in_progress', 'completed', 'cancelled')),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE job_assignments (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id),
    line_id      uuid NOT NULL REFERENCES production_lines (id),
    schedule_id  uuid REFERENCES production_schedules (id),
    status       text NOT NULL DEFAULT 'assigned'
                 CHECK (status IN ('assigned', 'accepted', 'in_progress', 'completed', 'cancelled')),
    notes        text,
    assigned_by  uuid REFERENCES users (id),
    client_ref   text UNIQUE,
    assigned_at  timestamptz NOT NULL DEFAULT now(),
    accepted_at  timestamptz,
    started_at   timestamptz,
    completed_at timestamptz
);
CREATE INDEX job_assignments_user_idx ON job_assignments (user_id, assigned_at DESC);

CREATE TABLE andon_events (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    line_id          uuid NOT NULL REFERENCES production_lines (id),
    equipment_code   text,
    event_type       text NOT NULL CHECK (event_type IN ('stop', 'quality', 'maintenance', 'material')),
    priority         text NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    status           text NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'acknowledged', 'resolved', 'escalated')),
    description      text NOT NULL,
    reported_by      uuid REFERENCES users (id),
    acknowledged_by  uuid REFERENCES users (id),
    resolved_by      uuid REFERENCES users (id),
    resolution_notes text,
    client_ref       text UNIQUE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    acknowledged_at  timestamptz,
    resolved_at      timestamptz,
    escalated_at     timestamptz
);
CREATE INDEX andon_events_status_idx ON andon_events (status, created_at DESC);
CREATE INDEX andon_events_line_idx ON andon_events (line_id, created_at DESC);

CREATE TABLE downtime_events (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    line_id        uuid NOT NULL REFERENCES production_lines (id),
    equipment_code text,
    reason         text NOT NULL,
    category       text NOT NULL CHECK (category IN ('planned', 'unplanned', 'changeover', 'maintenance',
                                                     'material', 'quality')),
    start_time     timestamptz NOT NULL,
    end_time       timestamptz CHECK (end_time >= start_time),
    notes          text,
    reported_by    uuid REFERENCES users (id),
    client_ref     text UNIQUE,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX downtime_events_line_idx ON downtime_events (line_id, start_time DESC);
CREATE INDEX downtime_events_open_idx ON downtime_events (line_id) WHERE end_time IS NULL;

CREATE TABLE oee_calculations (
    id                   bigint GENERATED ALWAYS AS IDENTITY,
    line_id              uuid NOT NULL REFERENCES production_lines (id),
    calculation_time     timestamptz NOT NULL DEFAULT now(),
    period_start         timestamptz NOT NULL,
    period_end           timestamptz NOT NULL,
    availability         double precision NOT NULL,
    performance          double precision NOT NULL,
    quality              double precision NOT NULL,
    oee                  double precision NOT NULL,
    planned_time_seconds double precision NOT NULL,
    downtime_seconds     double precision NOT NULL,
    good_parts           bigint NOT NULL,
    total_parts          bigint NOT NULL,
    PRIMARY KEY (id, calculation_time)
);
CREATE INDEX oee_calculations_line_idx ON oee_calculations (line_id, calculation_time DESC);

CREATE TABLE metric_hist (
    id             bigint GENERATED ALWAYS AS IDENTITY,
    ts             timestamptz NOT NULL,
    line_id        uuid REFERENCES production_lines (id),
    equipment_code text,
    metric_name    text NOT NULL,
    value          double precision NOT NULL,
    PRIMARY KEY (id, ts)
);
CREATE INDEX metric_hist_line_idx ON metric_hist (line_id, metric_name, ts DESC);
CREATE INDEX metric_hist_equipment_idx ON metric_hist (equipment_code, ts DESC);

CREATE TABLE report_generation_jobs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    report_type  text NOT NULL,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    parameters   jsonb NOT NULL DEFAULT '{}',
    object_key   text,
    error        text,
    requested_by uuid REFERENCES users (id),
    client_ref   text UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    completed_at timestamptz
);
