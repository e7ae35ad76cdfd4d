"""Local WebSocket sessions plus one Redis subscription per process.

Every replica subscribes to the same channel and delivers each event to its own
matching sessions, so a client sees every event whichever replica it is on.
"""

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.core.metrics import WEBSOCKET_CONNECTIONS
from app.core.security import TokenClaims
from app.events import EVENTS_CHANNEL, SUBSCRIPTION_TYPES, envelope

log = logging.getLogger(__name__)

SEND_QUEUE_SIZE = 256
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_SERVICE_RESTART = 1012


@dataclass(eq=False)
class Session:
    websocket: WebSocket
    user: TokenClaims
    subscriptions: set[str] = field(default_factory=set)
    outbox: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(SEND_QUEUE_SIZE))
    overflowed: bool = False
    sender: asyncio.Task | None = None

    def push(self, message: dict) -> None:
        self.push_text(json.dumps(message, default=str))

    def push_text(self, text: str) -> None:
        """A client too slow to drain its queue is disconnected rather than slowing everyone."""
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.overflowed = True
            if self.sender:
                self.sender.cancel()


def subscription_key(data: object) -> str:
    """`{"subscription_type": "andon", "target_id": "<line id>"}` -> "andon:<line id>" (no target: all)."""
    if not isinstance(data, dict) or data.get("subscription_type") not in SUBSCRIPTION_TYPES:
        raise ValueError(f"subscription_type must be one of {', '.join(SUBSCRIPTION_TYPES)}")
    target = data.get("target_id") or "*"
    return f"{data['subscription_type']}:{target}"


class WebSocketHub:
    def __init__(self, redis: aioredis.Redis, heartbeat_interval: float, max_connections: int):
        self._redis = redis
        self._heartbeat_interval = heartbeat_interval
        self._max_connections = max_connections
        self._sessions: set[Session] = set()
        self._listener: asyncio.Task | None = None

    def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="ws-fanout")

    async def stop(self) -> None:
        if self._listener:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        for session in list(self._sessions):
            with contextlib.suppress(Exception):
                await session.websocket.close(CLOSE_SERVICE_RESTART)

    @property
    def full(self) -> bool:
        return len(self._sessions) >= self._max_connections

    def deliver(self, event_topics: list[str], text: str) -> None:
        wanted = set(event_topics)
        for session in list(self._sessions):
            if session.subscriptions & wanted:
                session.push_text(text)

    async def _listen(self) -> None:
        """Keep one subscription alive across Redis outages (backoff up to 5 s)."""
        delay = 0.2
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(EVENTS_CHANNEL)
                delay = 0.2
                while True:
                    message = await pubsub.get_message(timeout=self._heartbeat_interval)
                    if message is not None:
                        self._dispatch(message["data"])
            except (RedisError, OSError) as error:
                log.warning("event subscription lost (%s); retrying in %.1fs", error, delay)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _dispatch(self, raw: str) -> None:
        try:
            event = json.loads(raw)
            self.deliver(event["topics"], json.dumps(event["message"]))
        except (ValueError, KeyError, TypeError) as error:
            log.warning("dropping malformed event: %s", error)

    async def serve(self, websocket: WebSocket, user: TokenClaims) -> None:
        """Run one accepted session until the client leaves or falls too far behind."""
        session = Session(websocket, user)
        self._sessions.add(session)
        WEBSOCKET_CONNECTIONS.inc()
        try:
            session.sender = asyncio.create_task(self._send(session))
            receiver = asyncio.create_task(self._receive(session))
            done, pending = await asyncio.wait({session.sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            # Collect every outcome so a socket error is not reported as an unretrieved task exception.
            await asyncio.gather(*done, *pending, return_exceptions=True)
            if session.overflowed:
                with contextlib.suppress(Exception):
                    await websocket.close(CLOSE_TRY_AGAIN_LATER)
        finally:
            self._sessions.discard(session)
            WEBSOCKET_CONNECTIONS.dec()

    async def _send(self, session: Session) -> None:
        while True:
            try:
                text = await asyncio.wait_for(session.outbox.get(), timeout=self._heartbeat_interval)
            except TimeoutError:
                text = json.dumps(envelope("heartbeat", {}))
            await session.websocket.send_text(text)

    async def _receive(self, session: Session) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                raw = await session.websocket.receive_text()
                session.push(self._reply(session, raw))

    @staticmethod
    def _reply(session: Session, raw: str) -> dict:
        try:
            message = json.loads(raw)
            message_type = message["type"]
            data = message.get("data")
        except (ValueError, KeyError, TypeError):
            return envelope("error", {"message": "expected JSON {type, data}"})
        if message_type == "ping":
            return envelope("pong", data or {})
        if message_type in ("subscribe", "unsubscribe"):
            try:
                key = subscription_key(data)
            except ValueError as error:
                return envelope("error", {"message": str(error)})
            if message_type == "subscribe":
                session.subscriptions.add(key)
                return envelope("subscription_confirmed", data)
            session.subscriptions.discard(key)
            return envelope("unsubscription_confirmed", data)
        return envelope("error", {"message": f"unknown message type {message_type!r}"})
