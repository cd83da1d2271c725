// Calls to the Value Copilot API from the browser pages, with the project's one error shape.
const KEY = "copilot.apiKey";

export class ApiError extends Error {
  constructor(status, detail) {
    super(describe(detail) || `the server answered ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

// {detail: "text"} or {detail: [{field, message, fix, source, line}]} as one readable line.
export function describe(detail) {
  if (detail === undefined || detail === null) return "";
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((p) => {
        if (typeof p === "string") return p;
        const where = [p.source && p.source !== "request" ? p.source : "", p.line ? `line ${p.line}` : "", p.field || (Array.isArray(p.loc) ? p.loc.join(".") : "")]
          .filter(Boolean)
          .join(", ");
        const text = p.message || p.msg || JSON.stringify(p);
        return `${where ? where + ": " : ""}${text}${p.fix ? ` (fix: ${p.fix})` : ""}`;
      })
      .join("; ");
  }
  return JSON.stringify(detail);
}

export function headers(extra = {}) {
  const key = sessionStorage.getItem(KEY);
  return key ? { ...extra, "X-API-Key": key } : extra;
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

export async function api(path, { method = "GET", body, signal } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      signal,
      headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "the Value Copilot server cannot be reached; check that it is running");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!response.ok) throw new ApiError(response.status, data?.detail ?? data);
  return data;
}

// Build an element: el("p", {class: "x", text: "..."}, child, ...). Text is always set as text.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A link only for http(s) URLs; anything else (javascript:, data:) becomes plain text.
export function safeHref(url) {
  try {
    const u = new URL(url, location.href);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    return null;
  }
}
