// The in-container runner of JavaScript steps (contract 2), the twin of step_sdk/runner.py.
//
// Copied into the node20 runtime image as /opt/stepwell/runner.mjs and started by the sandbox as
//   /bin/sh -c 'exec 3>&1 1>&2; exec node --max-old-space-size=<memory_mb> runner.mjs [--cold]'
// so that, before any code runs, descriptor 1 is the log (stderr) for this process and every child
// process, and the real stdout, the result channel, is descriptor 3. The runner reopens it with
// close-on-exec and closes 3: child processes never hold the result channel. Node's core modules
// only: it is the only code in the container the platform wrote.
//
// Protocol (as runner.py):
//   * result channel: READY once the runner waits for its envelope (a warm pool's container
//     waits here), RECEIVED once the whole envelope is in, then the step's artifacts (the
//     regular files of ARTIFACTS_DIR, each as `ARTIFACT <json header>\n` and its bytes; see
//     sandbox/artifacts.py), then exactly one result frame:
//     {"ok": true, "output": ...} or {"ok": false, "error": {type, exception, message, traceback}}.
//   * stdin: one JSON envelope {input, secrets, context, bundle}, then EOF; bundle is the step's
//     gzip'd tar (base64), unpacked into the BUNDLE_DIR tmpfs (regular files and directories only,
//     safe relative paths, count and size capped), whose stepwell.json names the module.
//   * stderr: the step's log (console.*, ctx.log, child processes); END after the step's output,
//     before the frame.
// The module's default export is called as `await fn(input, ctx)`. An uncaught exception or
// unhandled rejection is the step's error (StepError with the stack); a promise that never
// settles keeps the runner waiting until the host kills it at the deadline (StepTimeout). The
// output must be JSON exactly: undefined, NaN, Infinity, BigInt, functions, symbols, cycles and
// objects JSON.stringify would silently mangle (Map, Set, typed arrays) are an
// OutputValidationError naming the JSON pointer.
//
// Nothing here is trusted by the host: it parses the frame strictly and takes exit status, OOM and
// time from Docker and its own clock.

import fs from "node:fs";
import path from "node:path";
import util from "node:util";
import zlib from "node:zlib";
import { pathToFileURL } from "node:url";

const ROOT = "/opt/stepwell";
const BUNDLE_DIR = `${ROOT}/bundle`;
const MANIFEST_FILE = "stepwell.json";
const RESULT_FD = 3;
const MAX_ENVELOPE_BYTES = 64 * 1024 * 1024;
const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;
const MAX_UNPACKED_BYTES = 64 * 1024 * 1024;
const MAX_BUNDLE_ENTRIES = 2000;
const MAX_OUTPUT_DEPTH = 64;
const MAX_PROBLEMS = 20;
const READY = "stepwell:ready\n";
const RECEIVED = "stepwell:received\n";
const END = "\x00stepwell:end\n";
const COLD_FLAG = "--cold";
const ARTIFACTS_DIR = `${ROOT}/artifacts`;
const MAX_ARTIFACT_NAME_BYTES = 255;
// the host's caps, from the envelope (defaults: step_sdk/artifacts.py's)
const artifactCaps = { max_count: 20, max_bytes: 10 * 1024 * 1024, total_bytes: 50 * 1024 * 1024 };
const savedTypes = new Map();

class StepwellError extends Error {
  constructor(type, message) {
    super(message);
    this.stepwellType = type;
  }
}

// --- the result channel ----------------------------------------------------------------------

function privateResultChannel() {
  // open() of /proc/self/fd/N gives a new descriptor on the same pipe, with O_CLOEXEC (libuv
  // always sets it), so no child process inherits it; the inherited one is closed.
  const fd = fs.openSync(`/proc/self/fd/${RESULT_FD}`, fs.constants.O_WRONLY);
  fs.closeSync(RESULT_FD);
  return fd;
}

function writeAll(fd, data) {
  const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data, "utf8");
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(fd, buffer, offset, buffer.length - offset);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
    }
  }
}

// --- the envelope and the bundle -------------------------------------------------------------

async function readEnvelope() {
  const chunks = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += chunk.length;
    if (size > MAX_ENVELOPE_BYTES) throw new StepwellError("InputValidationError", "malformed envelope: envelope too large");
    chunks.push(chunk);
  }
  let envelope;
  try {
    envelope = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (error) {
    throw new StepwellError("InputValidationError", `malformed envelope: ${error.message}`);
  }
  if (envelope === null || typeof envelope !== "object" || Array.isArray(envelope)) {
    throw new StepwellError("InputValidationError", "malformed envelope: envelope is not a JSON object");
  }
  return envelope;
}

function bundlePath(name) {
  if (!name || name.includes("\\") || name.includes("\0") || name.startsWith("/")) {
    throw new StepwellError("StepError", `bundle entry ${JSON.stringify(name)}: bad path`);
  }
  const parts = name.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.length === 0 || parts.includes("..")) {
    throw new StepwellError("StepError", `bundle entry ${JSON.stringify(name)}: empty or parent ('..') path`);
  }
  return parts.join("/");
}

function field(header, start, length) {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString("utf8");
}

function octal(header, start, length) {
  const text = field(header, start, length).trim();
  if (!/^[0-7]*$/.test(text)) throw new StepwellError("StepError", "the bundle cannot be unpacked: bad tar header");
  return text ? parseInt(text, 8) : 0;
}

function paxPath(data) {
  // records "<len> key=value\n"; only the path matters here
  let offset = 0;
  let found;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space < 0) break;
    const length = parseInt(data.subarray(offset, space).toString("ascii"), 10);
    if (!(length > 0)) break;
    const record = data.subarray(space + 1, offset + length - 1).toString("utf8");
    const equals = record.indexOf("=");
    if (record.slice(0, equals) === "path") found = record.slice(equals + 1);
    offset += length;
  }
  return found;
}

/**
 * Unpack the base64 gzip'd tar `encoded` below `target`; return the number of files. Only regular
 * files and directories with safe relative paths, at most MAX_BUNDLE_ENTRIES entries and
 * MAX_UNPACKED_BYTES bytes; files are created exclusively and never through a link. Throws a
 * StepwellError (StepError) naming the entry or the problem.
 */
function unpackBundle(encoded, target = BUNDLE_DIR) {
  try {
    return unpackTar(encoded, target);
  } catch (error) {
    if (error instanceof StepwellError) throw error;
    throw new StepwellError("StepError", `the bundle cannot be unpacked: ${error.message}`);
  }
}

function unpackTar(encoded, target) {
  if (typeof encoded !== "string") throw new StepwellError("StepError", "the envelope has no bundle");
  if (encoded.length > Math.floor((MAX_BUNDLE_BYTES * 4) / 3) + 4) {
    throw new StepwellError("StepError", `the bundle is over ${MAX_BUNDLE_BYTES} bytes`);
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) throw new StepwellError("StepError", "the bundle is not base64");
  let tar;
  try {
    const limit = MAX_UNPACKED_BYTES + (MAX_BUNDLE_ENTRIES + 2) * 3 * 512;
    tar = zlib.gunzipSync(Buffer.from(encoded, "base64"), { maxOutputLength: limit });
  } catch (error) {
    throw new StepwellError("StepError", `the bundle cannot be unpacked: ${error.message}`);
  }
  let offset = 0;
  let count = 0;
  let files = 0;
  let total = 0;
  let longName;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] || 0x30);
    const body = tar.subarray(offset + 512, offset + 512 + size);
    if (body.length !== size) throw new StepwellError("StepError", "the bundle cannot be unpacked: truncated tar");
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === "x" || type === "L") {
      longName = type === "x" ? paxPath(body) : field(body, 0, body.length);
      continue;
    }
    if (type === "g") continue;
    count += 1;
    if (count > MAX_BUNDLE_ENTRIES) throw new StepwellError("StepError", `the bundle has over ${MAX_BUNDLE_ENTRIES} entries`);
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    if (type === "5" && path.posix.normalize(name) === "./") continue;
    if (type === "5" && path.posix.normalize(name) === ".") continue;
    const destination = path.join(target, bundlePath(name));
    if (type === "5") {
      fs.mkdirSync(destination, { recursive: true, mode: 0o755 });
      continue;
    }
    if (type !== "0" && type !== "\0") {
      throw new StepwellError("StepError", `bundle entry ${JSON.stringify(name)}: not a regular file`);
    }
    total += size;
    if (total > MAX_UNPACKED_BYTES) throw new StepwellError("StepError", `the bundle unpacks to over ${MAX_UNPACKED_BYTES} bytes`);
    fs.mkdirSync(path.dirname(destination), { recursive: true, mode: 0o755 });
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
    const fd = fs.openSync(destination, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o444);
    try {
      writeAll(fd, body);
    } finally {
      fs.closeSync(fd);
    }
    files += 1;
  }
  // read and list only, deepest first (as runner.py)
  const directories = [];
  const walk = (directory) => {
    directories.push(directory);
    for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(directory, entry.name));
    }
  };
  walk(target);
  for (const directory of directories.reverse()) fs.chmodSync(directory, 0o555);
  return files;
}

// --- artifacts (step_sdk/artifacts.py has the same rules; the host checks them again) ---------

function artifactNameProblem(name) {
  if (typeof name !== "string") return "a name must be a string";
  if (name === "" || name === "." || name === "..") return `${JSON.stringify(name)} is not a file name`;
  if (name.includes("/") || name.includes("\\")) return "a name is one file name: no '/' or '\\'";
  // Cc, Cf, Zl, Zp and lone surrogates, as step_sdk/artifacts.py name_problem (bidi overrides
  // such as U+202E reorder the displayed name; U+2028/U+2029 and U+FEFF break tables).
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(name) || LONE_SURROGATE.test(name)) {
    return "a name may not contain control, format or line/paragraph separator characters or lone surrogates";
  }
  const size = Buffer.byteLength(name, "utf8");
  if (size > MAX_ARTIFACT_NAME_BYTES) {
    return `a name is at most ${MAX_ARTIFACT_NAME_BYTES} bytes of UTF-8; this one is ${size}`;
  }
  return null;
}

function artifactFiles() {
  let entries;
  try {
    entries = fs.readdirSync(ARTIFACTS_DIR, { withFileTypes: true });
  } catch {
    return [];
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files = [];
  entries.forEach((entry, index) => {
    let problem = artifactNameProblem(entry.name);
    if (problem === null && !entry.isFile()) {
      problem = "not a regular file (links, folders and devices are not artifacts)";
    }
    if (problem !== null) {
      const shown = JSON.stringify(entry.name.slice(0, 80));
      process.stderr.write(`stepwell: artifact /artifacts/${index} (${shown}) refused: ${problem}\n`);
      return;
    }
    files.push({ name: entry.name, size: fs.lstatSync(path.join(ARTIFACTS_DIR, entry.name)).size });
  });
  return files;
}

// Sends the artifacts on the result channel; the frame to send then (an error over a cap).
function sendArtifacts(resultFd, frame) {
  const files = artifactFiles();
  const total = files.reduce((sum, file) => sum + file.size, 0);
  const tooBig = files.find((file) => file.size > artifactCaps.max_bytes);
  let problem = "";
  if (files.length > artifactCaps.max_count) {
    problem = `the step saved ${files.length} artifacts; the limit is ${artifactCaps.max_count}`;
  } else if (tooBig) {
    problem = `artifact ${JSON.stringify(tooBig.name)} is ${tooBig.size} bytes; the limit is ${artifactCaps.max_bytes} per artifact`;
  } else if (total > artifactCaps.total_bytes) {
    problem = `the step's artifacts are ${total} bytes; the limit is ${artifactCaps.total_bytes} in all`;
  }
  if (problem) return errorFrame("ArtifactLimitExceeded", null, problem);
  for (const file of files) {
    let data;
    try {
      const fd = fs.openSync(path.join(ARTIFACTS_DIR, file.name), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        data = fs.readFileSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (error) {
      process.stderr.write(`stepwell: artifact ${JSON.stringify(file.name)} cannot be read: ${safeMessage(error)}\n`);
      continue;
    }
    if (data.length > artifactCaps.max_bytes) {
      return errorFrame("ArtifactLimitExceeded", null, `artifact ${JSON.stringify(file.name)} grew past the limit`);
    }
    const header = { name: file.name, content_type: savedTypes.get(file.name) ?? null, size: data.length };
    writeAll(resultFd, `ARTIFACT ${JSON.stringify(header)}\n`);
    writeAll(resultFd, data);
  }
  return frame;
}

function saveArtifact(name, data, contentType = "application/octet-stream") {
  const problem = artifactNameProblem(name);
  if (problem !== null) throw new TypeError(`artifact name ${JSON.stringify(String(name).slice(0, 80))}: ${problem}`);
  let bytes;
  if (typeof data === "string") bytes = Buffer.from(data, "utf8");
  else if (data instanceof Uint8Array) bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  else throw new TypeError(`artifact ${JSON.stringify(name)}: data must be a Buffer, Uint8Array or string`);
  if (bytes.length > artifactCaps.max_bytes) {
    throw new StepwellError("ArtifactLimitExceeded", `artifact ${JSON.stringify(name)} is ${bytes.length} bytes; the limit is ${artifactCaps.max_bytes} per artifact (STEPWELL_ARTIFACT_MAX_MB)`);
  }
  const others = artifactFiles().filter((file) => file.name !== name);
  if (others.length + 1 > artifactCaps.max_count) {
    throw new StepwellError("ArtifactLimitExceeded", `artifact ${JSON.stringify(name)} would be number ${others.length + 1}; a step may save ${artifactCaps.max_count} (STEPWELL_ARTIFACT_MAX_COUNT)`);
  }
  const total = others.reduce((sum, file) => sum + file.size, 0) + bytes.length;
  if (total > artifactCaps.total_bytes) {
    throw new StepwellError("ArtifactLimitExceeded", `artifact ${JSON.stringify(name)} would bring the step's artifacts to ${total} bytes; the limit is ${artifactCaps.total_bytes} (STEPWELL_ARTIFACT_TOTAL_MB)`);
  }
  fs.writeFileSync(path.join(ARTIFACTS_DIR, name), bytes, { flag: fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW });
  savedTypes.set(name, String(contentType));
  return path.join(ARTIFACTS_DIR, name);
}

// --- the step's context ----------------------------------------------------------------------

function makeContext(envelope, manifest) {
  const context = envelope.context && typeof envelope.context === "object" ? envelope.context : {};
  const given = envelope.secrets && typeof envelope.secrets === "object" ? envelope.secrets : {};
  const declared = Array.isArray(manifest.secrets) ? manifest.secrets : [];
  const secrets = {};
  for (const name of declared) {
    if (Object.hasOwn(given, name)) secrets[name] = String(given[name]);
  }
  const line = (level) => (...args) => process.stderr.write(`${level} ${util.format(...args)}\n`);
  const log = Object.freeze({
    debug: line("DEBUG"),
    info: line("INFO"),
    warn: line("WARNING"),
    warning: line("WARNING"),
    error: line("ERROR"),
  });
  const deadline = context.deadline ? new Date(String(context.deadline)) : null;
  const caps = context.artifacts && typeof context.artifacts === "object" ? context.artifacts : {};
  for (const key of Object.keys(artifactCaps)) {
    if (Number.isInteger(caps[key])) artifactCaps[key] = caps[key];
  }
  return Object.freeze({
    artifacts: Object.freeze({ dir: ARTIFACTS_DIR, save: saveArtifact }),
    log,
    logger: log,
    secrets: Object.freeze(secrets),
    runId: String(context.run_id ?? "local"),
    stepId: String(context.step_id ?? "step"),
    attempt: Number.parseInt(context.attempt ?? 1, 10) || 1,
    deadline: deadline && !Number.isNaN(deadline.getTime()) ? deadline : null,
  });
}

// --- checking the output ---------------------------------------------------------------------

function pointerPart(key) {
  return String(key).replaceAll("~", "~0").replaceAll("/", "~1");
}

function describeKind(value) {
  if (value === undefined) return "undefined is not a JSON value";
  if (typeof value === "number") return `${value} is not a JSON number (only finite numbers are)`;
  if (typeof value === "bigint") return `the BigInt ${value}n is not a JSON number (convert it with Number() or String())`;
  if (typeof value === "function") return "a function is not a JSON value";
  if (typeof value === "symbol") return `the symbol ${String(value)} is not a JSON value`;
  return `${Object.prototype.toString.call(value)} is not a JSON value`;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Problems that keep `value` from being JSON exactly, as [pointer, message] pairs (at most
 * MAX_PROBLEMS), and the value JSON.stringify should write (toJSON applied, as it would).
 */
function jsonProblems(value) {
  const problems = [];
  const ancestors = [];
  let deepest = 0;
  const visit = (item, where, depth) => {
    if (problems.length >= MAX_PROBLEMS) return;
    deepest = Math.max(deepest, depth);
    if (depth > MAX_OUTPUT_DEPTH + 1) return;
    if (item !== null && typeof item === "object" && typeof item.toJSON === "function") {
      try {
        item = item.toJSON(where.split("/").pop());
      } catch (error) {
        problems.push([where, `its toJSON() threw: ${error}`]);
        return;
      }
    }
    switch (typeof item) {
      case "string":
        if (LONE_SURROGATE.test(item)) problems.push([where, "the text contains a lone surrogate, which is not Unicode text"]);
        return;
      case "boolean":
        return;
      case "number":
        if (!Number.isFinite(item)) problems.push([where, describeKind(item)]);
        return;
      case "object":
        break;
      default:
        problems.push([where, describeKind(item)]);
        return;
    }
    if (item === null) return;
    if (ancestors.includes(item)) {
      problems.push([where, "a cycle: this object contains itself"]);
      return;
    }
    const isArray = Array.isArray(item);
    const prototype = Object.getPrototypeOf(item);
    if (!isArray && prototype !== Object.prototype && prototype !== null && isMangled(item)) {
      problems.push([where, `${Object.prototype.toString.call(item)} is not a JSON value (JSON.stringify would drop its content)`]);
      return;
    }
    for (const symbol of Object.getOwnPropertySymbols(item)) {
      problems.push([where, `the symbol key ${String(symbol)} is not a JSON key`]);
    }
    ancestors.push(item);
    if (isArray) {
      for (let index = 0; index < item.length; index += 1) visit(item[index], `${where}/${index}`, depth + 1);
    } else {
      for (const key of Object.keys(item)) {
        const place = `${where}/${pointerPart(key)}`;
        if (LONE_SURROGATE.test(key)) problems.push([place, "the key contains a lone surrogate, which is not Unicode text"]);
        visit(item[key], place, depth + 1);
      }
    }
    ancestors.pop();
  };
  visit(value, "", 0);
  problems.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { problems, tooDeep: deepest > MAX_OUTPUT_DEPTH };
}

function isMangled(item) {
  return (
    item instanceof Map ||
    item instanceof Set ||
    item instanceof WeakMap ||
    item instanceof WeakSet ||
    item instanceof Promise ||
    item instanceof RegExp ||
    item instanceof Error ||
    ArrayBuffer.isView(item) ||
    item instanceof ArrayBuffer
  );
}

// --- errors and the frame --------------------------------------------------------------------

function userStack(error) {
  const stack = typeof error?.stack === "string" ? error.stack : "";
  return stack
    .split("\n")
    .filter((line) => !line.includes(`${ROOT}/runner.mjs`) && !line.includes("node:internal/"))
    .join("\n");
}

function errorFrame(type, error, message) {
  const exception = error instanceof Error ? error.name || error.constructor?.name || "Error" : type;
  return {
    ok: false,
    error: { type, exception: String(exception), message: String(message), traceback: error instanceof Error ? userStack(error) : "" },
  };
}

function stepErrorFrame(thrown) {
  if (thrown instanceof StepwellError) return errorFrame(thrown.stepwellType, null, thrown.message);
  if (thrown instanceof Error) return errorFrame("StepError", thrown, `${thrown.name}: ${thrown.message}`);
  let shown;
  try {
    shown = typeof thrown === "string" ? thrown : util.inspect(thrown, { depth: 2 });
  } catch {
    shown = Object.prototype.toString.call(thrown);
  }
  return errorFrame("StepError", null, `a non-Error value was thrown: ${shown}`);
}

function encode(frame) {
  if (frame.ok) {
    const { problems, tooDeep } = jsonProblems(frame.output);
    if (tooDeep) {
      frame = errorFrame("OutputLimitExceeded", null, `output is nested deeper than ${MAX_OUTPUT_DEPTH} levels`);
    } else if (problems.length) {
      frame = errorFrame("OutputValidationError", null, problems.map(([where, what]) => `${where || "/"}: ${what}`).join("; "));
    }
  }
  let text;
  try {
    text = JSON.stringify(frame);
  } catch (error) {
    text = JSON.stringify(errorFrame("OutputValidationError", null, `output is not JSON: ${error.message}`));
  }
  return `${text}\n`;
}

// --- the run ---------------------------------------------------------------------------------

async function loadEntrypoint() {
  const manifest = JSON.parse(fs.readFileSync(path.join(BUNDLE_DIR, MANIFEST_FILE), "utf8"));
  const entry = bundlePath(String(manifest.entrypoint ?? "step.mjs"));
  const module = await import(pathToFileURL(path.join(BUNDLE_DIR, entry)).href);
  const fn = module.default;
  if (typeof fn !== "function") {
    const kind = typeof fn;
    const what = fn === undefined ? "missing" : `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind}`;
    throw new StepwellError("StepError", `${entry}: the default export is ${what}, not a function (export default async (input, ctx) => output)`);
  }
  return { fn, manifest };
}

function blockingLog() {
  // Descriptors 1 and 2 share one pipe (the shell's dup), and libuv makes a pipe non-blocking
  // when it opens it for process.stdout or process.stderr: writes would then queue in the process
  // (lost at exit) and child processes inheriting the pipe would get EAGAIN. Blocking, both are
  // written at once, as in runner.py.
  for (const stream of [process.stdout, process.stderr]) stream._handle?.setBlocking?.(true);
}

function flushed(stream) {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) resolve();
    else stream.write("", () => resolve());
  });
}

let finished = false;

/** A message for a thrown value that may itself throw when read (a getter, a Proxy). */
function safeMessage(thrown) {
  try {
    return thrown instanceof Error ? thrown.message : String(thrown);
  } catch {
    return "a value that cannot be read";
  }
}

async function finish(resultFd, frame) {
  if (finished) return;
  finished = true;
  let data;
  try {
    data = encode(frame);
  } catch (error) {
    // Reading the output ran the step's code (a throwing getter, a Proxy trap): that is the
    // output's fault, reported at once, never left to hang until the deadline.
    const reason = `output cannot be read: ${safeMessage(error)}`;
    data = `${JSON.stringify(errorFrame("OutputValidationError", null, reason))}\n`;
  }
  // whatever the step queued on its log goes out before the end marker
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  try {
    writeAll(2, END);
  } catch {
    // the step closed its stderr: the host waits for the exit instead
  }
  writeAll(resultFd, data);
  fs.closeSync(resultFd);
  // user 'exit' listeners get no chance to keep the step alive or to write after the result
  process.removeAllListeners("exit");
  process.exit(0);
}

async function main() {
  const resultFd = privateResultChannel();
  blockingLog();
  const fail = (thrown) => finish(resultFd, stepErrorFrame(thrown));
  process.on("uncaughtException", fail);
  process.on("unhandledRejection", fail);
  writeAll(resultFd, READY);
  let envelope;
  try {
    envelope = await readEnvelope();
  } catch (error) {
    await finish(resultFd, stepErrorFrame(error));
    return;
  }
  writeAll(resultFd, RECEIVED);
  // A promise that never settles leaves nothing on the event loop; without this timer node would
  // exit without a result instead of waiting for the deadline (StepTimeout).
  setInterval(() => {}, 2 ** 30);
  let frame;
  try {
    unpackBundle(envelope.bundle);
    const { fn, manifest } = await loadEntrypoint();
    const output = await fn(envelope.input, makeContext(envelope, manifest));
    frame = { ok: true, output };
  } catch (error) {
    frame = stepErrorFrame(error);
  }
  try {
    frame = sendArtifacts(resultFd, frame);
  } catch (error) {
    frame = errorFrame("StepError", null, `the artifacts could not be sent: ${safeMessage(error)}`);
  }
  await finish(resultFd, frame);
}

// COLD_FLAG needs no branch: node's core modules, imported above, are all a pooled runner preloads.
await main();
