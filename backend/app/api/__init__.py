"""HTTP API. Routers carry their full prefix so the route template (a metrics label) is the real path."""

API_V1 = "/api/v1"
