#!/usr/bin/env python3
"""Alert webhook receiver (local profile): records every notification Alertmanager sends.

POST /<receiver>       an Alertmanager webhook payload; stored with the receiver name (the path)
GET  /alerts           JSON list of received alerts, newest last; ?receiver=critical filters
GET  /notifications    JSON list of the raw payloads
DELETE /alerts         forget everything
GET  /healthz          "ok"
Standard library only; in memory, bounded by MAX_ALERTS.
"""

import json
import os
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX = int(os.environ.get("MAX_ALERTS", "1000"))
LOCK = threading.Lock()
ALERTS: deque = deque(maxlen=MAX)
NOTIFICATIONS: deque = deque(maxlen=MAX)


class Handler(BaseHTTPRequestHandler):
    server_version = "ms5-alert-webhook/1"

    def _send(self, code: int, body, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/healthz":
            self._send(200, b"ok\n", "text/plain")
            return
        receiver = parse_qs(url.query).get("receiver", [None])[0]
        with LOCK:
            if url.path == "/alerts":
                items = [a for a in ALERTS if receiver in (None, a["receiver"])]
            elif url.path == "/notifications":
                items = [n for n in NOTIFICATIONS if receiver in (None, n["receiver"])]
            else:
                self._send(404, {"error": "not found"})
                return
        self._send(200, items)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._send(400, {"error": "body is not JSON"})
            return
        receiver = self.path.strip("/").split("?")[0] or "default"
        now = time.time()
        with LOCK:
            NOTIFICATIONS.append({"receiver": receiver, "received_at": now, "payload": payload})
            for alert in payload.get("alerts", []):
                ALERTS.append({
                    "receiver": receiver,
                    "received_at": now,
                    "status": alert.get("status"),
                    "labels": alert.get("labels", {}),
                    "annotations": alert.get("annotations", {}),
                    "startsAt": alert.get("startsAt"),
                    "endsAt": alert.get("endsAt"),
                    "fingerprint": alert.get("fingerprint"),
                })
        self._send(200, {"stored": len(payload.get("alerts", []))})

    def do_DELETE(self) -> None:
        if urlsplit(self.path).path != "/alerts":
            self._send(404, {"error": "not found"})
            return
        with LOCK:
            ALERTS.clear()
            NOTIFICATIONS.clear()
        self._send(200, {"cleared": True})

    def log_message(self, fmt: str, *args) -> None:
        if not self.path.startswith("/healthz"):
            super().log_message(fmt, *args)


def main() -> None:
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer((os.environ.get("HOST", "0.0.0.0"), port), Handler)
    server.daemon_threads = True
    print(f"alert webhook listening on :{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
