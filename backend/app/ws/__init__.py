"""WebSocket sessions with Redis pub/sub fan-out across replicas."""
