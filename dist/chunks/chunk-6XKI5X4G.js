import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);
import {
  BASELINE_SCHEMA_VERSION,
  TIMED_OUT,
  actionsArtifact,
  actionsCache,
  cacheKeyTaken,
  cacheLookup,
  errorMessage,
  parseBaseline,
  quietly,
  renderSummary,
  withDeadline,
  withTimeout,
  writeReportFiles
} from "./chunk-J4AVIXNM.js";
import {
  summary
} from "./chunk-3BV2LLEE.js";

// src/report/deliver.ts
import { readFileSync } from "node:fs";
import { join as join2 } from "node:path";

// src/report/upload-retry.ts
var UPLOAD_BUDGET_MS = 12e4;
var FINAL = /non-retryable|storage quota|insufficient usage|not currently supported on GHES|No files were found|Invalid|\((?:400|401|403|404|409|422)\)/i;
function retryDelayMs(message, attempt, retryAfterMs2) {
  if (FINAL.test(message)) return void 0;
  const backoff = Math.min(3e4, 2e3 * 2 ** (attempt - 1));
  return Math.max(backoff, retryAfterMs2 ?? 0);
}
function retryAfterMs(logLine) {
  const seconds = [...logLine.matchAll(/"retry-after":\s*"(\d+)"/gi)].map((m) => Number(m[1]));
  return seconds.length ? Math.max(...seconds) * 1e3 : void 0;
}
async function watchingRetryAfter(work) {
  const original = process.stdout.write;
  let seen;
  process.stdout.write = function(chunk, ...rest) {
    if (typeof chunk === "string" && chunk.includes("etry-after")) {
      const ms = retryAfterMs(chunk);
      if (ms !== void 0) seen = Math.max(seen ?? 0, ms);
    }
    return original.call(this, chunk, ...rest);
  };
  try {
    return { value: await work(), retryAfterMs: seen };
  } catch (error) {
    return { error, retryAfterMs: seen };
  } finally {
    process.stdout.write = original;
  }
}
async function retryWithinBudget(attempt, options) {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  const started = now();
  for (let n = 1; ; n++) {
    const outcome = await watchingRetryAfter(() => attempt(n));
    if (!("error" in outcome) || outcome.error === void 0) return outcome.value;
    const message = errorMessage(outcome.error);
    const wait = retryDelayMs(message, n, outcome.retryAfterMs);
    const elapsed = now() - started;
    if (wait === void 0) throw outcome.error;
    if (elapsed + wait >= options.budgetMs) {
      const tried = `tried ${n} time${n === 1 ? "" : "s"} over ${Math.round(elapsed / 1e3)} s`;
      throw new Error(`${message} (${tried}, up to the ${options.budgetMs / 1e3} s bound)`);
    }
    options.onRetry(message, wait);
    await sleep(wait);
  }
}

// src/report/artifacts.ts
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
var INVALID_PATH_CHARS = /[":<>|*?\r\n]/;
var INVALID_NAME_CHARS = /[":<>|*?\r\n\\/]/g;
async function uploadReport(options) {
  const { reportDir, name, secrets, log } = options;
  const env = options.env ?? process.env;
  const withheld = [];
  try {
    const entries = await listReport(reportDir);
    const needles = secretNeedles(secrets);
    const files = [];
    const excluded = [];
    for (const entry of entries) {
      if (entry.kind !== "file") {
        excluded.push(`${entry.path} (${entry.kind})`);
        continue;
      }
      const hit = await holdsSecret(reportDir, entry.path, needles);
      if (hit instanceof Error) {
        excluded.push(`${entry.path} (unreadable: ${hit.message})`);
      } else if (hit) {
        withheld.push(entry.path);
      } else if (INVALID_PATH_CHARS.test(entry.path)) {
        excluded.push(`${entry.path} (a character the artifact service refuses)`);
      } else {
        files.push(join(reportDir, entry.path));
      }
    }
    for (const path of withheld) {
      await rm(join(reportDir, path), { force: true });
      log.warning(
        `${path} was withheld from the report artifact and deleted: it contains the value of a secret.`,
        { title: "Report file withheld" }
      );
    }
    if (excluded.length > 0) {
      log.warning(`Left out of the report artifact: ${excluded.join(", ")}.`, {
        title: "Report files left out"
      });
    }
    const withheldNote = withheld.length > 0 ? `; ${count(withheld.length, "file")} withheld (secret)` : "";
    if (files.length === 0) {
      return { status: "skipped", detail: `no files to upload${withheldNote}`, withheld };
    }
    if (!env.ACTIONS_RUNTIME_TOKEN || !env.ACTIONS_RESULTS_URL) {
      throw new Error("the runner gave no ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL");
    }
    const timeoutMs = options.timeoutMs ?? UPLOAD_BUDGET_MS;
    const attempt = (n) => uploadUnderFreeName(name, files, reportDir, options.retentionDays, env, log, n);
    const onRetry = (message, waitMs) => log.info(
      `The report upload failed (${secrets.redact(scrubUrls(message))}); trying again in ${Math.ceil(waitMs / 1e3)} s.`
    );
    const uploaded = await withTimeout(
      retryWithinBudget(attempt, { budgetMs: timeoutMs, onRetry }),
      timeoutMs,
      `the results service did not finish the upload within ${Math.round(timeoutMs / 1e3)} s`
    );
    const url = artifactUrl(uploaded.id, env);
    log.info(
      `Report uploaded as artifact "${uploaded.name}" (id ${uploaded.id})${url ? `: ${url}` : ""}`
    );
    return {
      status: "uploaded",
      artifactId: uploaded.id,
      name: uploaded.name,
      ...url ? { artifactUrl: url } : {},
      detail: `${count(files.length, "file")} (${uploaded.size ?? "?"} bytes zipped) as "${uploaded.name}"${withheldNote}`,
      withheld
    };
  } catch (error) {
    const message = secrets.redact(scrubUrls(errorMessage(error)));
    log.warning(`The report was not uploaded: ${message}. It is still in ${reportDir}.`, {
      title: "Report upload failed"
    });
    return { status: "failed", detail: `upload failed: ${message}`, withheld };
  }
}
function artifactNameCandidates(name, env) {
  const clean = (part) => (part ?? "").replace(INVALID_NAME_CHARS, "-").replace(/^[_-]+|[_-]+$/g, "");
  const job = clean(env.GITHUB_JOB);
  const step = clean(env.GITHUB_ACTION);
  const base = [name, job, step].filter(Boolean).join("-");
  const jobRun = jobBackendId(env.ACTIONS_RUNTIME_TOKEN) ?? `${Date.now()}-${Math.random()}`;
  const unique = createHash("sha256").update(jobRun).digest("hex").slice(0, 6);
  return [.../* @__PURE__ */ new Set([name, base, `${base}-${unique}`])];
}
async function listReport(reportDir, prefix = "") {
  const out = [];
  const dirents = await readdir(join(reportDir, prefix), { withFileTypes: true });
  for (const dirent of dirents.sort((a, b) => a.name < b.name ? -1 : 1)) {
    const path = prefix ? `${prefix}/${dirent.name}` : dirent.name;
    if (dirent.isDirectory()) {
      out.push(...await listReport(reportDir, path));
    } else if (dirent.isFile()) {
      out.push({ path, kind: "file" });
    } else if (dirent.isSymbolicLink()) {
      const target = await stat(join(reportDir, path)).catch(() => void 0);
      const kind = !target ? "broken symlink" : target.isFile() ? "file" : target.isDirectory() ? "directory symlink" : "special file";
      out.push({ path, kind });
    } else {
      out.push({ path, kind: "special file" });
    }
  }
  return out;
}
function secretNeedles(secrets) {
  return secrets.values().map((value) => Buffer.from(value, "utf8"));
}
async function holdsSecret(reportDir, path, needles) {
  if (needles.length === 0) return false;
  if (needles.some((needle) => Buffer.from(path).includes(needle))) return true;
  const overlap = Math.max(...needles.map((needle) => needle.length)) - 1;
  let tail = Buffer.alloc(0);
  try {
    for await (const chunk of createReadStream(join(reportDir, path))) {
      const window = Buffer.concat([tail, chunk]);
      if (needles.some((needle) => window.includes(needle))) return true;
      tail = window.subarray(Math.max(0, window.length - overlap));
    }
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  return false;
}
async function uploadUnderFreeName(name, files, reportDir, retentionDays, env, log, attempt = 1) {
  const client = new (await actionsArtifact()).DefaultArtifactClient();
  const candidates = artifactNameCandidates(name, env);
  if (attempt > 1) candidates.push(`${candidates[candidates.length - 1]}-retry${attempt}`);
  for (const [index, candidate] of candidates.entries()) {
    try {
      const result = await client.uploadArtifact(candidate, files, reportDir, {
        ...retentionDays ? { retentionDays } : {}
      });
      if (result.id === void 0) throw new Error("the results service returned no artifact id");
      return { id: result.id, size: result.size, name: candidate };
    } catch (error) {
      const taken = /\(409\)|already exists/i.test(errorMessage(error));
      if (!taken || index === candidates.length - 1) throw error;
      log.info(`An artifact named "${candidate}" already exists in this run; trying another name.`);
    }
  }
  throw new Error("no artifact name left to try");
}
function artifactUrl(id, env) {
  const { GITHUB_REPOSITORY: repository, GITHUB_RUN_ID: runId } = env;
  if (!repository || !runId) return void 0;
  const server = (env.GITHUB_SERVER_URL || "https://github.com").replace(/\/+$/, "");
  return `${server}/${repository}/actions/runs/${runId}/artifacts/${id}`;
}
function jobBackendId(token) {
  try {
    const payload = JSON.parse(
      Buffer.from(token?.split(".")[1] ?? "", "base64url").toString("utf8")
    );
    const scope = String(payload.scp ?? "").split(" ").find((part) => part.startsWith("Actions.Results:"));
    return scope?.split(":")[2] || void 0;
  } catch {
    return void 0;
  }
}
function scrubUrls(text) {
  return text.replace(/(https?:\/\/[^\s?'"]+)\?[^\s'"]*/g, "$1");
}
function count(n, noun) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

// src/report/deliver.ts
function emptyReport(result = "setup-failed", decidedBy = "setup") {
  const now = (/* @__PURE__ */ new Date()).toISOString();
  return {
    schemaVersion: 1,
    result,
    decidedBy,
    complete: true,
    startedAt: now,
    finishedAt: now,
    stages: {},
    builds: []
  };
}
function readReport(reportDir) {
  try {
    return JSON.parse(readFileSync(join2(reportDir, "report.json"), "utf8"));
  } catch {
    return void 0;
  }
}
function writeReport(report, reportDir, log) {
  const summary2 = renderSummary(report);
  try {
    writeReportFiles(reportDir, report, summary2);
  } catch (error) {
    log.warning(`The report files were not written to ${reportDir}: ${errorMessage(error)}`);
  }
  return summary2;
}
async function deliverReport(report, reportDir, options) {
  const { mode, name, retentionDays, secrets, log } = options;
  writeReport(report, reportDir, log);
  const wanted = mode === "always" || mode === "failure" && report.result !== "passed";
  report.upload = wanted ? await uploadReport({ reportDir, name, retentionDays, secrets, log }) : { status: "skipped", detail: `upload: ${mode}`, withheld: [] };
  report.stages.upload = {
    status: report.upload.status === "failed" ? "warning" : report.upload.status === "skipped" ? "skipped" : "passed",
    durationMs: 0,
    detail: report.upload.detail
  };
  const summary2 = writeReport(report, reportDir, log);
  try {
    await summary.addRaw(summary2).write();
  } catch (error) {
    log.warning(`The job summary was not written: ${errorMessage(error)}`);
  }
}

// src/report/baseline-store.ts
import { createHash as createHash2 } from "node:crypto";
import { mkdirSync, readFileSync as readFileSync2, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
var CACHE_PATH = ".boot-image-vm-baseline/baseline.json";
var RESTORE_TIMEOUT_MS = 2e4;
var SAVE_TIMEOUT_MS = 12e4;
function baselineScope(env, image) {
  const repository = env.GITHUB_REPOSITORY;
  const pullRequest = (env.GITHUB_EVENT_NAME ?? "").startsWith("pull_request");
  const branch = pullRequest ? env.GITHUB_BASE_REF : env.GITHUB_REF_NAME || env.GITHUB_REF?.replace(/^refs\/(heads|tags)\//, "");
  if (!repository || !branch) {
    return pullRequest ? "GITHUB_REPOSITORY or GITHUB_BASE_REF is not set" : "GITHUB_REPOSITORY or GITHUB_REF_NAME is not set";
  }
  const arch = { x64: "x86_64", arm64: "aarch64" }[process.arch] ?? process.arch;
  return {
    repository,
    branch,
    saves: !pullRequest,
    flake: image.flake,
    image: image.image,
    firmware: image.firmware ?? "bios",
    system: `${arch}-${process.platform}`,
    runId: env.GITHUB_RUN_ID || String(Date.now()),
    runAttempt: env.GITHUB_RUN_ATTEMPT || "1"
  };
}
function baselineKeyPrefix(scope, version = BASELINE_SCHEMA_VERSION) {
  const flake = createHash2("sha256").update(scope.flake).digest("hex").slice(0, 8);
  return [
    `boot-image-vm-baseline-v${version}`,
    scope.repository,
    scope.branch,
    `${scope.image}@${flake}`,
    scope.system,
    ...version >= 2 ? [scope.firmware] : []
  ].map((part) => encodeURIComponent(part)).join("/").concat("/");
}
function baselineKey(scope) {
  return `${baselineKeyPrefix(scope)}${scope.runId}-${scope.runAttempt}`;
}
async function restoreBaseline(scope, log, timeoutMs = RESTORE_TIMEOUT_MS) {
  const cache = await actionsCache();
  if (!cache.isFeatureAvailable()) {
    return { status: "unavailable", detail: "the cache service is not available to this job" };
  }
  const prefix = baselineKeyPrefix(scope);
  rmSync(dirname(CACHE_PATH), { recursive: true, force: true });
  try {
    const { found: key, down } = await cacheLookup(
      () => cache.restoreCache([CACHE_PATH], baselineKey(scope), [prefix, baselineKeyPrefix(scope, 1)]),
      timeoutMs
    );
    if (down) {
      log.warning(`The baseline was not restored: ${down}`);
      return { status: "error", detail: `not restored: ${down}`, serviceDown: true };
    }
    if (!key) return { status: "none", detail: `no baseline under ${prefix}` };
    let baseline;
    try {
      baseline = parseBaseline(readFileSync2(CACHE_PATH, "utf8"));
    } catch (error) {
      log.warning(`The baseline ${key} is unusable: ${errorMessage(error)}`);
      return { status: "error", key, detail: `the baseline is unusable: ${errorMessage(error)}` };
    }
    return { status: "restored", baseline, key, detail: `restored ${key}` };
  } catch (error) {
    log.warning(`The baseline was not restored: ${errorMessage(error)}`);
    return { status: "error", detail: `not restored: ${errorMessage(error)}` };
  } finally {
    rmSync(dirname(CACHE_PATH), { recursive: true, force: true });
  }
}
async function saveBaseline(file, key, log, timeoutMs = SAVE_TIMEOUT_MS) {
  const cache = await actionsCache();
  if (!cache.isFeatureAvailable()) return "not saved: the cache service is not available";
  const failures = [];
  try {
    mkdirSync(dirname(CACHE_PATH), { recursive: true });
    writeFileSync(CACHE_PATH, readFileSync2(file));
    const id = await withDeadline(
      quietly(() => cache.saveCache([CACHE_PATH], key), failures),
      timeoutMs
    );
    if (id === TIMED_OUT) throw new Error(`saving took longer than ${timeoutMs / 1e3} s`);
    if (id === -1 && cacheKeyTaken(failures)) return `not saved: ${key} exists already`;
    if (id === -1) throw new Error(failures.join("; ") || `nothing saved under ${key}`);
    return `saved as ${key}`;
  } catch (error) {
    log.warning(`The baseline was not saved: ${errorMessage(error)}`);
    return `not saved: ${errorMessage(error)}`;
  } finally {
    rmSync(dirname(CACHE_PATH), { recursive: true, force: true });
  }
}

// src/state.ts
var STATE = {
  reportDir: "report-dir",
  keyDir: "key-dir",
  cleanupPaths: "cleanup-paths",
  qemuPid: "qemu-pid",
  /** The image cache entry post saves (CacheSaveState as JSON). */
  imageCache: "image-cache",
  /** baseline.json of a passing run, and the cache key post saves it under. */
  baselineFile: "baseline-file",
  baselineKey: "baseline-key",
  /** Main received the runner's cancel (SIGINT or SIGTERM). */
  cancelled: "cancelled",
  /** Main delivered the report (files, artifact, job summary): post need not. */
  delivered: "report-delivered"
};

export {
  uploadReport,
  emptyReport,
  readReport,
  deliverReport,
  baselineScope,
  baselineKey,
  restoreBaseline,
  saveBaseline,
  STATE
};
