"""Test extensions, written against AWS's documented Extensions and Telemetry APIs only (the
``AWS_LAMBDA_RUNTIME_API`` address, its paths and headers), and a pool to run them in layers."""

from __future__ import annotations

import sys
from pathlib import Path

PYTHON_EXTENSION = """#!{python} -S
import json, os, sys, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
NAME = os.path.basename(sys.argv[0])
PORT = 4243


class Listener(BaseHTTPRequestHandler):
    def do_POST(self):
        batch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with open("/tmp/telemetry.jsonl", "a") as out:
            for event in batch:
                out.write(json.dumps(event) + "\\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def call(method, path, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    url = f"http://{{API}}{{path}}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {{}})
    with urllib.request.urlopen(request) as answer:
        return answer.headers, json.loads(answer.read() or b"null")


server = HTTPServer(("sandbox.localdomain", PORT), Listener)
threading.Thread(target=server.serve_forever, daemon=True).start()
headers, registered = call("POST", "/2020-01-01/extension/register", {{"events": ["INVOKE", "SHUTDOWN"]}},
                           {{"Lambda-Extension-Name": NAME}})
me = {{"Lambda-Extension-Identifier": headers["Lambda-Extension-Identifier"]}}
with open("/tmp/registered.json", "w") as out:
    json.dump(registered, out)
call("PUT", "/2022-07-01/telemetry", {{
    "schemaVersion": "2022-07-01", "types": ["platform", "function", "extension"],
    "buffering": {{"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25}},
    "destination": {{"protocol": "HTTP", "URI": f"http://sandbox.localdomain:{{PORT}}/telemetry"}},
}}, me)
while True:
    _, event = call("GET", "/2020-01-01/extension/event/next", headers=me)
    for folder in ("/tmp", "/mnt/out"):  # /mnt/out: a test's own directory, when it binds one
        if os.path.isdir(folder):
            with open(f"{{folder}}/events.jsonl", "a") as out:
                out.write(json.dumps(event) + "\\n")
    print("recorder got", event["eventType"], flush=True)
    if event["eventType"] == "SHUTDOWN":
        break
    time.sleep(float(os.environ.get("EXTENSION_DELAY", "0")))
"""

NODE_EXTENSION = """#!{node}
const http = require("http");
const fs = require("fs");
const path = require("path");
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const NAME = path.basename(process.argv[1]);

function call(method, urlPath, body, headers) {{
  return new Promise((resolve, reject) => {{
    const data = body === undefined ? "" : JSON.stringify(body);
    const req = http.request({{ host, port, method, path: urlPath, headers: {{ ...headers,
      "Content-Length": Buffer.byteLength(data) }} }}, (res) => {{
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({{ headers: res.headers, body: text ? JSON.parse(text) : null }}));
    }});
    req.on("error", reject);
    req.end(data);
  }});
}}

async function main() {{
  const listener = http.createServer((req, res) => {{
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {{
      for (const event of JSON.parse(text)) {{
        fs.appendFileSync("/tmp/node-telemetry.jsonl", JSON.stringify(event) + "\\n");
      }}
      res.end();
    }});
  }});
  await new Promise((r) => listener.listen(4244, "sandbox.localdomain", r));
  const reg = await call("POST", "/2020-01-01/extension/register", {{ events: ["INVOKE"] }},
                         {{ "Lambda-Extension-Name": NAME }});
  const me = {{ "Lambda-Extension-Identifier": reg.headers["lambda-extension-identifier"] }};
  await call("PUT", "/2022-07-01/telemetry", {{ schemaVersion: "2022-07-01", types: ["platform", "function"],
    buffering: {{ timeoutMs: 25 }},
    destination: {{ protocol: "HTTP", URI: "http://sandbox.localdomain:4244/" }} }}, me);
  for (;;) {{
    const event = await call("GET", "/2020-01-01/extension/event/next", undefined, me);
    fs.appendFileSync("/tmp/node-events.jsonl", JSON.stringify(event.body) + "\\n");
  }}
}}
main();
"""

HOSTILE_EXTENSION = """#!{python} -S
import json, os, sys, urllib.request, urllib.error

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
MODE = os.environ["EXTENSION_MODE"]


def call(method, path, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    url = f"http://{{API}}{{path}}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {{}})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


statuses = []
if MODE == "flood":  # registers under other names and again under its own, many times
    for i in range(200):
        statuses.append(call("POST", "/2020-01-01/extension/register", {{"events": ["INVOKE"]}},
                             {{"Lambda-Extension-Name": f"other-{{i}}"}})[0])
status, headers, _ = call("POST", "/2020-01-01/extension/register", {{"events": ["INVOKE"]}},
                          {{"Lambda-Extension-Name": os.path.basename(sys.argv[0])}})
me = {{"Lambda-Extension-Identifier": headers["Lambda-Extension-Identifier"]}}
if MODE == "flood":
    for _ in range(50):
        statuses.append(call("POST", "/2020-01-01/extension/register", {{"events": ["INVOKE"]}},
                             {{"Lambda-Extension-Name": os.path.basename(sys.argv[0])}})[0])
    forged = {{"Lambda-Extension-Identifier": "forged"}}
    statuses.append(call("GET", "/2020-01-01/extension/event/next", headers=forged)[0])
    outside = {{"protocol": "HTTP", "URI": "http://example.com:80/"}}
    subscription = {{"types": ["platform"], "destination": outside}}
    statuses.append(call("PUT", "/2022-07-01/telemetry", subscription, me)[0])
    with open("/tmp/statuses.json", "w") as out:
        json.dump(statuses, out)
if MODE == "init-error":
    call("POST", "/2020-01-01/extension/init/error", {{"errorMessage": "no config"}},
         {{**me, "Lambda-Extension-Function-Error-Type": "Extension.ConfigInvalid"}})
    raise SystemExit(1)
call("GET", "/2020-01-01/extension/event/next", headers=me)  # INIT over, the first INVOKE comes
if MODE == "crash":
    raise SystemExit(3)
if MODE == "exit-error":
    kind = {{"Lambda-Extension-Function-Error-Type": "Bad.Thing"}}
    call("POST", "/2020-01-01/extension/exit/error", {{}}, {{**me, **kind}})
    raise SystemExit(1)
if MODE == "stuck":
    import time
    time.sleep(3600)
while True:
    call("GET", "/2020-01-01/extension/event/next", headers=me)
"""


def layer_with(root: Path, extensions: dict[str, str]) -> Path:
    """A layer directory whose ``extensions/`` holds these executables (name -> source)."""
    import shutil

    node = shutil.which("node") or "/usr/bin/node"
    python = str(Path(sys.executable).resolve())
    folder = root / "extensions"
    folder.mkdir(parents=True)
    for name, source in extensions.items():
        path = folder / name
        path.write_text(source.format(python=python, node=str(Path(node).resolve())))
        path.chmod(0o755)
    for directory in (root, folder):
        directory.chmod(0o755)
    return root
