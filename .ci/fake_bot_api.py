"""A minimal fake Telegram Bot API for the container smoke test: every method succeeds,
getUpdates returns no updates, getWebhookInfo reports no webhook. Prints the port it listens on (127.0.0.1, port 0)."""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ME = {"id": 4242, "is_bot": True, "first_name": "Summit", "username": "summit_qa_bot",
      "can_join_groups": True, "can_read_all_group_messages": False,
      "supports_inline_queries": True, "can_connect_to_business": False,
      "has_main_web_app": False}


class Api(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        method = self.path.rsplit("/", 1)[-1].lower()
        if method == "getme":
            result = ME
        elif method == "getupdates":
            time.sleep(0.2)
            result = []
        elif method == "getwebhookinfo":
            result = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        else:
            result = True
        body = json.dumps({"ok": True, "result": result}).encode()
        try:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the bot stopped mid-poll

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
print(server.server_address[1], flush=True)
sys.stdout.close()
server.serve_forever()
