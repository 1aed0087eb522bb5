// SEA main script (CommonJS, as Node 20's single executables require).
// The real program is an ES module bundle appended to this executable (see
// trailer.ts): read it back and import it as a data: URL — Node 20 SEAs can
// import() data: URLs, and data: modules may import node: built-ins.
/* global process, require, Buffer -- a CommonJS script run by node */
"use strict";
// eslint-disable-next-line @typescript-eslint/no-require-imports -- SEA main scripts must be CommonJS
const fs = require("node:fs");
const MAGIC = "AUTOMAGIC-BUNDLE";
const self = process.execPath;
const fd = fs.openSync(self, "r");
const size = fs.fstatSync(fd).size;
const tail = Buffer.alloc(32);
fs.readSync(fd, tail, 0, 32, size - 32);
const text = tail.toString("latin1");
if (!text.startsWith(MAGIC)) {
  process.stderr.write(`${self}: no bundle appended (missing ${MAGIC} trailer)\n`);
  process.exit(70);
}
const length = parseInt(text.slice(16), 16);
const bundle = Buffer.alloc(length);
fs.readSync(fd, bundle, 0, length, size - 32 - length);
fs.closeSync(fd);
// argv as a script would see it: [node, script, ...args]
if (process.argv[1] !== self) process.argv.splice(1, 0, self);
import("data:text/javascript;base64," + bundle.toString("base64")).catch((err) => {
  process.stderr.write(`${self}: ${err && err.stack ? err.stack : err}\n`);
  process.exit(70);
});
