// A small express service: GET /<n> answers n! (as a decimal string, exact, with BigInt).
// It listens on 127.0.0.1:$PORT ($HOST, default 127.0.0.1), as the harness gives each task.
// GET /boom answers 500 on purpose: the walk-through's locustfile tags the task that asks for it
// `error`, so the harness's error phases have traffic that makes the targets answer 5XX.
"use strict";

const express = require("express");

const MAX_N = 1000;
const app = express();
app.disable("x-powered-by");
app.disable("etag");

app.get("/boom", (req, res) => {
  res.status(500).type("text/plain").send("boom on purpose\n");
});

app.get("/:n", (req, res) => {
  const text = req.params.n;
  if (!/^\d+$/.test(text) || Number(text) > MAX_N) {
    res.status(400).type("text/plain").send(`expected /<n> with n from 0 to ${MAX_N}\n`);
    return;
  }
  let f = 1n;
  for (let i = 2n; i <= BigInt(text); i++) f *= i;
  res.type("text/plain").send(f.toString());
});

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || "127.0.0.1";
const server = app.listen(port, host, () => {
  console.log(`factorial service listening on ${host}:${port} (${process.env.APP_GREETING || "no greeting"})`);
});
server.keepAliveTimeout = 65000; // longer than the load balancer's idle timeout, as behind an ALB

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    console.log(`${sig}: closing`);
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
