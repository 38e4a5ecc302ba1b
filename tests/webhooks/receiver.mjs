// The local webhook receiver of server/tests/webhooks.rs. Every request to a path other
// than the two control paths is a delivery: it is verified with the Standard Webhooks
// reference package (`standardwebhooks` on npm) against the secrets the test gave for that
// path, recorded, and answered as the path's plan says.
//
//   node receiver.mjs            prints {"port": N} on its first line, then serves
//   POST /_control {path, secrets?, plan?, release?}
//                                            plan: a list of "fail" | "hang" | "gone" |
//                                            "hold" | "ok", used one per delivery, then "ok";
//                                            "hold" answers 204 (and is logged "ok") once a
//                                            control call says release: true
//   GET  /_log?path=/hook/x      what that path received: [{id, timestamp, signature,
//                                body, verifiedWith, action}]; verifiedWith is the index
//                                of the secret that verified it, or null
import http from "node:http";
import { Webhook } from "standardwebhooks";

const paths = new Map();
const state = (path) => {
  if (!paths.has(path)) paths.set(path, { secrets: [], plan: [], received: [], held: [] });
  return paths.get(path);
};

const read = (req) =>
  new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });

const server = http.createServer(async (req, res) => {
  const body = await read(req);
  const url = new URL(req.url, "http://receiver");
  if (url.pathname === "/_control") {
    const c = JSON.parse(body);
    const s = state(c.path);
    if (c.secrets) s.secrets = c.secrets;
    if (c.plan) s.plan = c.plan;
    if (c.release) {
      for (const [record, heldRes] of s.held) {
        record.action = "ok";
        heldRes.statusCode = 204;
        heldRes.end();
      }
      s.held = [];
    }
    res.setHeader("content-type", "application/json");
    res.end("{}");
    return;
  }
  if (url.pathname === "/_log") {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(state(url.searchParams.get("path")).received));
    return;
  }
  const s = state(url.pathname);
  let verifiedWith = null;
  for (const [i, secret] of s.secrets.entries()) {
    try {
      new Webhook(secret).verify(body, req.headers);
      verifiedWith = i;
      break;
    } catch {
      // not this secret
    }
  }
  const action = s.plan.length > 0 ? s.plan.shift() : "ok";
  const record = {
    id: req.headers["webhook-id"] ?? null,
    timestamp: req.headers["webhook-timestamp"] ?? null,
    signature: req.headers["webhook-signature"] ?? null,
    body,
    verifiedWith,
    action,
  };
  s.received.push(record);
  if (action === "hold") {
    // Answered when the test releases it.
    s.held.push([record, res]);
  } else if (action === "fail") {
    res.statusCode = 500;
    res.end("failing on purpose");
  } else if (action === "gone") {
    res.statusCode = 410;
    res.end();
  } else if (action === "hang") {
    // Never answer: the sender's timeout ends it.
    setTimeout(() => res.destroy(), 60_000).unref();
  } else {
    res.statusCode = 204;
    res.end();
  }
});

server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
// Ends with the test that started it.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
