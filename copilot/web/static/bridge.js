// The message contract between the side panel and its host (a helpdesk app or the demo).
// Envelope {v, type, id, reply_to, ts, payload}; see README "The host bridge".
export const VERSION = 1;
export const HOST_TO_PANEL = ["context.update", "insert.result"];
export const PANEL_TO_HOST = ["ready", "insert.request", "resize"];
export const INSERT_MODES = ["append", "replace"];

let counter = 0;

export function newId() {
  counter += 1;
  const random = globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`;
  return `${random}-${counter}`;
}

export function envelope(type, payload, replyTo = null) {
  return { v: VERSION, type, id: newId(), reply_to: replyTo, ts: new Date().toISOString(), payload };
}

const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
const isText = (x, max = 100000) => typeof x === "string" && x.length > 0 && x.length <= max;

const PAYLOAD_RULES = {
  "context.update": (p) => isText(p.case_id, 128) && (p.messages === undefined || Array.isArray(p.messages)),
  "insert.result": (p) => typeof p.ok === "boolean" && (p.error === undefined || typeof p.error === "string"),
  ready: (p) => p.version === undefined || typeof p.version === "number",
  "insert.request": (p) => isText(p.text) && INSERT_MODES.includes(p.mode),
  resize: (p) => Number.isFinite(p.height) && p.height >= 0,
};

// The message as an envelope of one of `types`, or null: anything else is dropped unread.
export function parse(data, types) {
  if (!isObject(data) || data.v !== VERSION || !types.includes(data.type)) return null;
  if (!isText(data.id, 200) || !(data.reply_to === null || data.reply_to === undefined || isText(data.reply_to, 200))) return null;
  if (!(typeof data.ts === "string" || typeof data.ts === "number")) return null;
  if (!isObject(data.payload) || !PAYLOAD_RULES[data.type](data.payload)) return null;
  return data;
}

export function originOf(url) {
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.origin : null;
  } catch {
    return null;
  }
}
