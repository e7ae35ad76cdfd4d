"""Every HTTP and WebSocket router, in the order the app includes them."""

from app.api.routes import (andon, auth, dashboard, downtime, equipment, health, jobs, oee, production, reports,
                            upload, users)
from app.ws import routes as ws_routes

ROUTERS = [
    module.router
    for module in (health, auth, users, production, jobs, oee, andon, downtime, equipment, dashboard, reports, upload,
                   ws_routes)
]
