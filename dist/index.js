import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);
import {
  STATE,
  baselineKey,
  baselineScope,
  restoreBaseline
} from "./chunks/chunk-BNMFBXLM.js";
import {
  INPUT_DEFAULTS,
  InputError,
  Secrets,
  actionOutputs,
  annotate,
  currentBaseline,
  parseInputs,
  probeOutputReader,
  runPipeline,
  writeBaselineFile
} from "./chunks/chunk-KK3BH7SK.js";
import {
  actionsArtifact,
  actionsLog,
  annotateComparison,
  compareWithBaseline,
  errorMessage,
  noComparison,
  renderSummary,
  signalChildren,
  withTimeout,
  writeReportFiles
} from "./chunks/chunk-2G75TP2E.js";
import {
  addPath,
  error,
  exportVariable,
  getInput,
  saveState,
  setFailed,
  setOutput,
  setSecret,
  summary,
  warning
} from "./chunks/chunk-3BV2LLEE.js";

// src/main.ts
import { mkdtempSync, mkdirSync, readFileSync } from "node:fs";
import { delimiter, dirname, join as join2 } from "node:path";
import { tmpdir } from "node:os";

// src/report/artifacts.ts
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
var DEFAULT_TIMEOUT_MS = 6e4;
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
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const uploaded = await withTimeout(
      uploadUnderFreeName(name, files, reportDir, options.retentionDays, env, log),
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
      ...url ? { artifactUrl: url } : {},
      detail: `${count(files.length, "file")} (${uploaded.size ?? "?"} bytes zipped) as "${uploaded.name}"${withheldNote}`,
      withheld
    };
  } catch (error2) {
    const message = secrets.redact(scrubUrls(errorMessage(error2)));
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
  } catch (error2) {
    return error2 instanceof Error ? error2 : new Error(String(error2));
  }
  return false;
}
async function uploadUnderFreeName(name, files, reportDir, retentionDays, env, log) {
  const client = new (await actionsArtifact()).DefaultArtifactClient();
  const candidates = artifactNameCandidates(name, env);
  for (const [index, candidate] of candidates.entries()) {
    try {
      const result = await client.uploadArtifact(candidate, files, reportDir, {
        ...retentionDays ? { retentionDays } : {}
      });
      if (result.id === void 0) throw new Error("the results service returned no artifact id");
      return { id: result.id, size: result.size, name: candidate };
    } catch (error2) {
      const taken = /\(409\)|already exists/i.test(errorMessage(error2));
      if (!taken || index === candidates.length - 1) throw error2;
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

// src/report/regression-view.ts
function runDescription(env) {
  if (!env.GITHUB_REPOSITORY || !env.GITHUB_RUN_ID) return void 0;
  const ref = env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME;
  return `${env.GITHUB_REPOSITORY} run ${env.GITHUB_RUN_ID} attempt ${env.GITHUB_RUN_ATTEMPT || "1"}${ref ? ` on ${ref}` : ""}`;
}
async function regressionView(report, reportDir, options) {
  const { log, env } = options;
  try {
    const current = await currentBaseline(report, reportDir, {
      flake: options.flake,
      attribute: options.image,
      run: runDescription(env)
    });
    const passed = report.result === "passed" && !report.error;
    let baselineFile;
    try {
      if (passed) baselineFile = writeBaselineFile(reportDir, current);
    } catch (error2) {
      log.warning(
        `baseline.json was not written, so this run cannot become the baseline: ${errorMessage(error2)}`
      );
    }
    if (options.compare === "off") {
      return { comparison: noComparison("off", "input 'compare' is off"), baselineFile };
    }
    if (report.cancelled) return { comparison: noComparison("off", "the run was cancelled") };
    const scope = baselineScope(env, { flake: options.flake, image: options.image });
    if (typeof scope === "string") {
      return { comparison: noComparison("error", `no baseline scope: ${scope}`), baselineFile };
    }
    const restored = report.cache?.serviceDown ? {
      status: "error",
      detail: "not restored: the cache service failed the image cache lookup of this run",
      serviceDown: true
    } : await restoreBaseline(scope, log);
    let comparison;
    if (restored.status === "restored" && restored.baseline) {
      comparison = compareWithBaseline(restored.baseline, current, {
        slowdownThresholdPercent: options.slowdownThresholdPercent,
        source: restored.key
      });
    } else {
      const status = restored.status === "none" ? "no-baseline" : "error";
      comparison = noComparison(status, restored.detail, restored.key);
    }
    log.info(`Compared with the last good run: ${comparison.detail}`);
    const failsOnRegression = options.failOnRegression && comparison.regressions.length > 0;
    const notSaved = !scope.saves ? "pull requests compare with their base branch" : failsOnRegression ? "it failed on its regressions" : restored.serviceDown ? "the cache service failed the lookup, so post does not try it again" : void 0;
    const saveKey = baselineFile && !notSaved ? baselineKey(scope) : void 0;
    if (baselineFile && notSaved) log.info(`This run does not become the baseline: ${notSaved}.`);
    return { comparison, baselineFile, saveKey };
  } catch (error2) {
    log.warning(`The comparison with the last good run failed: ${errorMessage(error2)}`);
    return { comparison: noComparison("error", errorMessage(error2)) };
  }
}

// src/main.ts
async function run() {
  const secrets = new Secrets((value) => setSecret(value));
  secrets.addFromEnvironment(process.env);
  const base = reportBase();
  const reportDir = join2(base, "report");
  const tempDir = join2(base, "work");
  mkdirSync(reportDir, { recursive: true });
  mkdirSync(tempDir, { recursive: true, mode: 448 });
  saveState(STATE.reportDir, reportDir);
  setOutput("report-dir", reportDir);
  const cancel = new AbortController();
  const onSignal = (signal) => {
    warning(`Received ${signal}: stopping the current stage and writing the report.`);
    cancel.abort();
    signalChildren("SIGTERM");
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let inputs;
  try {
    inputs = parseInputs((name) => getInput(name));
  } catch (error2) {
    const message = errorMessage(error2);
    setFailed(message);
    const report2 = inputErrorReport(message);
    finishReport(report2, reportDir);
    await upload(
      report2,
      reportDir,
      "failure",
      // A bad artifact-name would fail the upload too: the report goes under the default name.
      (error2 instanceof InputError && error2.input === "artifact-name" ? "" : getInput("artifact-name").trim()) || INPUT_DEFAULTS["artifact-name"],
      void 0,
      secrets
    );
    if (!(error2 instanceof InputError)) throw error2;
    return;
  }
  secrets.add(inputs.githubToken);
  const ctx = {
    log: actionsLog,
    secrets,
    reportDir,
    tempDir,
    env: process.env,
    signal: cancel.signal
  };
  let report;
  try {
    report = await runPipeline(inputs, ctx, {
      onKey: (key) => saveState(STATE.keyDir, key.dir),
      onCleanupPaths: (paths) => saveState(STATE.cleanupPaths, JSON.stringify(paths)),
      onQemuStarted: (pid) => saveState(STATE.qemuPid, String(pid)),
      onCacheSave: (state) => saveState(STATE.imageCache, JSON.stringify(state))
    });
  } catch (error2) {
    report = crashReport(reportDir, errorMessage(error2));
    error(errorMessage(error2), { title: "boot-image-vm crashed" });
  }
  const nix = report.setup?.nix;
  if (nix) {
    for (const [name, value] of Object.entries(nix.env)) exportVariable(name, value);
    const nixDir = dirname(nix.nixPath);
    if (!(process.env.PATH ?? "").split(delimiter).includes(nixDir)) addPath(nixDir);
  }
  const view = await actionsLog.group(
    "Compare with the last good run",
    () => regressionView(report, reportDir, { ...inputs, env: process.env, log: actionsLog })
  );
  report.comparison = view.comparison;
  if (view.saveKey && view.baselineFile) {
    saveState(STATE.baselineFile, view.baselineFile);
    saveState(STATE.baselineKey, view.saveKey);
  }
  finishReport(report, reportDir);
  await upload(report, reportDir, inputs.upload, inputs.artifactName, inputs.retentionDays, secrets);
  annotate(report, actionsLog, probeOutputReader(reportDir));
  annotateComparison(report.comparison, actionsLog);
  if (report.result !== "passed") setFailed(`boot-image-vm: ${report.result}`);
  else if (inputs.failOnRegression && report.comparison.regressions.length) {
    setFailed(
      `boot-image-vm: passed, but with ${report.comparison.regressions.length} regression(s) since the last good run (fail-on-regression)`
    );
  }
}
function reportBase() {
  const runnerTemp = process.env.RUNNER_TEMP;
  if (runnerTemp) {
    try {
      return mkdtempSync(join2(runnerTemp, "boot-image-vm-"));
    } catch (error2) {
      warning(
        `RUNNER_TEMP (${runnerTemp}) cannot hold the report (${errorMessage(error2)}); using ${tmpdir()} instead.`
      );
    }
  }
  return mkdtempSync(join2(tmpdir(), "boot-image-vm-"));
}
function setOutputs(report, reportDir) {
  for (const [name, value] of Object.entries(actionOutputs(report, { reportDir })))
    setOutput(name, value);
}
function finishReport(report, reportDir) {
  const summary2 = renderSummary(report);
  try {
    writeReportFiles(reportDir, report, summary2);
  } catch (error2) {
    warning(`The report files were not written to ${reportDir}: ${errorMessage(error2)}`);
  }
  return summary2;
}
async function upload(report, reportDir, mode, name, retentionDays, secrets) {
  const wanted = mode === "always" || mode === "failure" && report.result !== "passed";
  report.upload = wanted ? await uploadReport({ reportDir, name, retentionDays, secrets, log: actionsLog }) : { status: "skipped", detail: `upload: ${mode}`, withheld: [] };
  report.stages.upload = {
    status: report.upload.status === "failed" ? "warning" : report.upload.status === "skipped" ? "skipped" : "passed",
    durationMs: 0,
    detail: report.upload.detail
  };
  const summary2 = finishReport(report, reportDir);
  setOutputs(report, reportDir);
  try {
    await summary.addRaw(summary2).write();
  } catch (error2) {
    warning(`The job summary was not written: ${errorMessage(error2)}`);
  }
}
function emptyReport() {
  const now = (/* @__PURE__ */ new Date()).toISOString();
  return {
    schemaVersion: 1,
    result: "setup-failed",
    decidedBy: "setup",
    complete: true,
    startedAt: now,
    finishedAt: now,
    stages: {},
    builds: []
  };
}
function inputErrorReport(message) {
  const report = emptyReport();
  report.stages.setup = { status: "failed", durationMs: 0, detail: message };
  report.setup = {
    ok: false,
    error: message,
    changes: [],
    cleanupPaths: [],
    kvm: { action: "not checked", deviceUsable: false }
  };
  return report;
}
function crashReport(reportDir, message) {
  let report;
  try {
    report = JSON.parse(readFileSync(join2(reportDir, "report.json"), "utf8"));
  } catch {
    report = emptyReport();
  }
  report.error = `boot-image-vm crashed: ${message}`;
  report.complete = true;
  if (report.result === "passed")
    Object.assign(report, { result: "setup-failed", decidedBy: "setup" });
  return report;
}

// src/index.ts
await run();
process.exit();
