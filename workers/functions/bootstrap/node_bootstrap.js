// Stepline's Node.js runtime: the bootstrap that runs inside the sandbox.
//
// Loads the handler (`file.export`) once (INIT), then loops: next event from the Runtime API,
// call the handler (async, promise-returning or callback style), post the result or the error.
// It speaks HTTP/1.1 over the worker's Unix socket with a hand-rolled keep-alive client: the
// `http` module would add a parser and an agent to every invocation.
"use strict";

const net = require("net");
const fs = require("fs");
const path = require("path");
const { pathToFileURL } = require("url");

const API = "/2018-06-01/runtime";
const SOCKET = "/run/lambda/runtime.sock";
const AWS_SOCKET = "/run/lambda/aws.sock";
// Stepline's extension of the next event's headers: fresh session credentials (aws_api).
const CREDENTIALS_HEADER = "stepline-aws-credentials";
const TASK_ROOT = process.env.LAMBDA_TASK_ROOT || "/var/task";

class RuntimeClient {
  constructor() {
    this.buf = Buffer.alloc(0);
    this.waiter = null;
    if (fs.existsSync(SOCKET)) {
      this.sock = net.connect(SOCKET);
    } else {
      const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
      this.sock = net.connect(Number(port || 80), host);
    }
    this.sock.setNoDelay?.(true);
    this.sock.on("data", (chunk) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      this.parse();
    });
    this.sock.on("close", () => process.exit(0));
    this.sock.on("error", () => process.exit(0));
  }

  parse() {
    if (!this.waiter) return;
    const end = this.buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    const lines = this.buf.subarray(0, end).toString("latin1").split("\r\n");
    const headers = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(":");
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const length = Number(headers["content-length"] || 0);
    if (this.buf.length < end + 4 + length) return;
    const body = this.buf.subarray(end + 4, end + 4 + length);
    this.buf = this.buf.subarray(end + 4 + length);
    const resolve = this.waiter;
    this.waiter = null;
    resolve({ status: Number(lines[0].split(" ")[1]), headers, body });
  }

  request(method, route, body = "", extra = "") {
    const payload = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const head = `${method} ${API}${route} HTTP/1.1\r\nHost: rt\r\n${extra}Content-Length: ${payload.length}\r\n\r\n`;
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.sock.write(payload.length ? Buffer.concat([Buffer.from(head), payload]) : head);
      this.parse();
    });
  }
}

function errorDocument(err) {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    errorType: e.name || "Error",
    errorMessage: e.message,
    trace: typeof e.stack === "string" ? e.stack.split("\n") : [],
  };
}

async function postError(client, route, doc) {
  await client.request("POST", route, JSON.stringify(doc), `Lambda-Runtime-Function-Error-Type: ${doc.errorType}\r\n`);
}

class Fault extends Error {
  constructor(type, message) {
    super(message);
    this.name = type;
  }
}

async function loadHandler(spec) {
  const dot = spec.lastIndexOf(".");
  if (dot <= 0) throw new Fault("Runtime.MalformedHandlerName", `Bad handler ${spec}`);
  const file = spec.slice(0, dot);
  const name = spec.slice(dot + 1);
  const base = path.resolve(TASK_ROOT, file);
  let mod;
  const candidates = [".js", ".mjs", ".cjs"].map((ext) => base + ext).filter((p) => fs.existsSync(p));
  if (!candidates.length) {
    throw new Fault("Runtime.ImportModuleError", `Error: Cannot find module '${file}'`);
  }
  const found = candidates[0];
  try {
    mod = found.endsWith(".mjs") ? await import(pathToFileURL(found).href) : require(found);
  } catch (err) {
    if (err && err.code === "ERR_REQUIRE_ESM") {
      mod = await import(pathToFileURL(found).href);
    } else if (err instanceof SyntaxError) {
      throw new Fault("Runtime.UserCodeSyntaxError", `${err.name}: ${err.message}`);
    } else if (err && err.code === "MODULE_NOT_FOUND") {
      throw new Fault("Runtime.ImportModuleError", `Error: ${err.message.split("\n")[0]}`);
    } else {
      throw err;
    }
  }
  const handler = mod[name] ?? mod.default?.[name];
  if (typeof handler !== "function") {
    throw new Fault("Runtime.HandlerNotFound", `${spec} is undefined or not exported`);
  }
  return handler;
}

// A function with aws_api: relay its AWS_ENDPOINT_URL (the sandbox's own loopback) to the
// worker's socket, from this event loop.
function startAwsRelay() {
  const endpoint = process.env.AWS_ENDPOINT_URL || "";
  const prefix = "http://127.0.0.1:";
  if (!endpoint.startsWith(prefix) || !fs.existsSync(AWS_SOCKET)) return;
  // Half-open: an end that stops sending still gets its answer (as the Python relay does).
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ path: AWS_SOCKET, allowHalfOpen: true });
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  server.on("error", (err) => process.stderr.write(`AWS endpoint relay: ${err}\n`));
  server.listen(Number(endpoint.slice(prefix.length).replace(/\/$/, "")), "127.0.0.1");
}

function parseClientContext(header) {
  if (!header) return undefined;
  try {
    return JSON.parse(header);
  } catch (err) {
    return undefined;
  }
}

function makeContext(requestId, deadline, arn, clientContext) {
  const env = process.env;
  return {
    awsRequestId: requestId,
    invokedFunctionArn: arn,
    clientContext,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
  };
}

function callHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    const callback = (err, value) => (err ? reject(err) : resolve(value));
    try {
      const out = handler(event, context, callback);
      if (out && typeof out.then === "function") out.then(resolve, reject);
      else if (handler.length < 3) resolve(out);
    } catch (err) {
      reject(err);
    }
  });
}

let currentRequest = "";
function patchConsole() {
  const util = require("util");
  for (const [method, level] of [["log", "INFO"], ["info", "INFO"], ["warn", "WARN"], ["error", "ERROR"], ["debug", "DEBUG"]]) {
    console[method] = (...args) => {
      const text = util.format(...args).replace(/\n/g, "\r");
      process.stdout.write(`${new Date().toISOString()}\t${currentRequest}\t${level}\t${text}\n`);
    };
  }
}

// A spare sandbox: wait on stdin for the function's variables, then become that function. The
// worker writes one JSON object (every variable a normally started environment has) and closes
// the pipe; nothing written means it is shut down unclaimed.
function awaitClaim() {
  const data = fs.readFileSync(0);
  if (!data.length) process.exit(0);
  Object.assign(process.env, JSON.parse(data.toString("utf8")));
}

async function main() {
  patchConsole();
  const client = new RuntimeClient();
  if (process.argv[2] === "--spare") awaitClaim();
  startAwsRelay();
  let handler;
  try {
    handler = await loadHandler(process.env._HANDLER || "");
  } catch (err) {
    await postError(client, "/init/error", errorDocument(err));
    process.exit(1);
  }
  for (;;) {
    const { headers, body } = await client.request("GET", "/invocation/next");
    const requestId = headers["lambda-runtime-aws-request-id"];
    currentRequest = requestId;
    if (headers[CREDENTIALS_HEADER]) Object.assign(process.env, JSON.parse(headers[CREDENTIALS_HEADER]));
    const context = makeContext(
      requestId,
      Number(headers["lambda-runtime-deadline-ms"]),
      headers["lambda-runtime-invoked-function-arn"],
      parseClientContext(headers["lambda-runtime-client-context"]),
    );
    let result;
    try {
      const event = body.length ? JSON.parse(body.toString("utf8")) : null;
      const value = await callHandler(handler, event, context);
      result = JSON.stringify(value === undefined ? null : value);
    } catch (err) {
      await postError(client, `/invocation/${requestId}/error`, errorDocument(err));
      continue;
    }
    await client.request("POST", `/invocation/${requestId}/response`, result);
  }
}

process.on("uncaughtException", (err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(129);
});
process.on("unhandledRejection", (err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(128);
});

main();
