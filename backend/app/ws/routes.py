"""`WS /ws/?token=<access JWT>`: subscribe to lines, equipment, jobs, OEE, downtime and Andon."""

import jwt
from fastapi import APIRouter, WebSocket, status

from app.core.security import TokenType, decode_token
from app.ws.hub import CLOSE_TRY_AGAIN_LATER

router = APIRouter()


@router.websocket("/ws/")
@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket, token: str | None = None) -> None:
    """Accept first so a bad token gets a proper close code (1008) rather than a bare HTTP 403."""
    await websocket.accept()
    hub = websocket.app.state.hub
    try:
        user = decode_token(token or "", TokenType.ACCESS, websocket.app.state.settings)
    except jwt.InvalidTokenError:
        await websocket.close(status.WS_1008_POLICY_VIOLATION, "invalid or expired token")
        return
    if hub.full:
        await websocket.close(CLOSE_TRY_AGAIN_LATER, "too many connections")
        return
    await hub.serve(websocket, user)
