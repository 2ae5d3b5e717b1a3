"""hello-web: a small HTTP app for reg-hub's deploy flow (docs/hub.md).

GET / answers with message.txt, GET /healthz with 200, or 500 while a file
named "broken" sits next to this one (how the tests make a version whose
health check fails). The port is $PORT, 8000 by default. It exits on
SIGTERM: as a container's first process (PID 1) it would otherwise ignore
it, and every stop would wait for the SIGKILL.
"""
import http.server
import os
import pathlib
import signal
import sys

HERE = pathlib.Path(__file__).resolve().parent
PORT = int(os.environ.get("PORT", "8000"))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            broken = (HERE / "broken").exists()
            self.answer(500 if broken else 200, b"broken\n" if broken else b"ok\n")
        elif self.path == "/":
            self.answer(200, (HERE / "message.txt").read_bytes())
        else:
            self.answer(404, b"not found\n")

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print(fmt % args, flush=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
