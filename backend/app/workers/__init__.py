"""Worker-side configuration: task base class, queues, metrics endpoint, per-task resources."""
