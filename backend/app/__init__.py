"""MS5.0 backend: FastAPI API, Celery tasks and the factory_telemetry schema."""
