// The public /v1 API, with the bearer token (asked for once, kept in sessionStorage, never in a URL).
const TOKEN_KEY = "stepline.token";
let tokenWaiters = null; // a promise while the token dialog is open
let askForToken = null; // set by the app: () => Promise<string>

export function onTokenNeeded(ask) {
  askForToken = ask;
}

function headers(extra) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { ...extra, Authorization: `Bearer ${token}` } : { ...extra };
}

async function newToken(refused) {
  if (!askForToken) throw new ApiError(401, "The API needs a token.");
  tokenWaiters ??= askForToken(refused).finally(() => (tokenWaiters = null));
  sessionStorage.setItem(TOKEN_KEY, await tokenWaiters);
}

/** An API answer that is not 2xx: problem+json's title/detail, or the body's text. */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function send(path, init = {}, asked = 0) {
  const sent = sessionStorage.getItem(TOKEN_KEY);
  const response = await fetch(path, { ...init, headers: headers(init.headers) });
  if (response.status === 401 && asked < 3) {
    if (sessionStorage.getItem(TOKEN_KEY) === sent) {
      sessionStorage.removeItem(TOKEN_KEY);
      await newToken(sent !== null); // refused: ask again, saying so
    }
    return send(path, init, asked + 1);
  }
  return response;
}

async function failure(response) {
  const text = await response.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  const message = typeof body === "object" && body
    ? [body.title, body.detail].filter(Boolean).join(": ") || text
    : text || response.statusText;
  return new ApiError(response.status, `${response.status} ${message}`, body);
}

/** GET/POST/PUT... ``path`` with a JSON ``body``; resolves to the parsed answer (null for 204). */
export async function api(path, { method = "GET", body, query, headers: extra } = {}) {
  const url = query ? `${path}?${new URLSearchParams(clean(query))}` : path;
  const init = { method, headers: { ...extra } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await send(url, init);
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  return response.json();
}

/** The raw Response (for headers such as X-Amz-Log-Result): a 5xx throws, a 4xx is the caller's to show. */
export async function apiRaw(path, init = {}) {
  const response = await send(path, init);
  if (!response.ok && response.status >= 500) throw await failure(response);
  return response;
}

function clean(query) {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ""));
}

/** Every page of a list endpoint (``key`` names the array), up to ``max`` items. */
export async function all(path, key, query = {}, max = 10000) {
  const items = [];
  let nextToken;
  do {
    const page = await api(path, { query: { ...query, nextToken } });
    items.push(...page[key]);
    nextToken = page.nextToken;
  } while (nextToken && items.length < max);
  return items;
}

/**
 * Server-Sent Events read through fetch (EventSource cannot send the Authorization header).
 * Calls ``onEvent({event, data, id})`` per event; reconnects with Last-Event-ID until ``signal`` aborts
 * or the server ends the stream after an event named "status" (the execution ended) or "end". Returns a promise settled when it stops.
 */
export async function streamEvents(path, onEvent, signal, query) {
  let lastId = null;
  let delay = 250;
  while (!signal.aborted) {
    try {
      const url = query ? `${path}?${new URLSearchParams(clean(query))}` : path;
      const extra = { Accept: "text/event-stream", ...(lastId ? { "Last-Event-ID": lastId } : {}) };
      const response = await send(url, { headers: extra, signal });
      if (!response.ok) throw await failure(response);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let ended = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.includes("\r") ? value.replace(/\r\n?/g, "\n") : value;
        let from = 0; // blocks are cut by index, and the rest kept once per chunk (no copy per event)
        let cut;
        while ((cut = buffer.indexOf("\n\n", from)) >= 0) {
          const message = parseBlock(buffer.slice(from, cut));
          from = cut + 2;
          if (!message) continue;
          if (message.id) lastId = message.id;
          delay = 250;
          if (message.event === "end" || message.event === "status") ended = true;
          onEvent(message);
        }
        buffer = buffer.slice(from);
      }
      if (ended) return;
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status < 500 && error.status !== 429) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 5000);
  }
}

function parseBlock(block) {
  const message = { event: "message", data: "", id: null };
  let sawData = false;
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") {
      message.data += (sawData ? "\n" : "") + value;
      sawData = true;
    } else if (field === "event") message.event = value;
    else if (field === "id") message.id = value;
  }
  if (!sawData && message.event === "message") return null;
  return message;
}
