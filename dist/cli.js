#!/usr/bin/env node
import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);
import {
  EXIT_CODES,
  INPUT_DEFAULTS,
  Secrets,
  cleanupSetup,
  compareWithBaseline,
  composeImage,
  consoleLog,
  currentBaseline,
  errorMessage,
  exitCodeFor,
  parseInputs,
  readBaselineFile,
  renderSummary,
  runPipeline,
  signalChildren,
  withHistory,
  writeBaselineFile,
  writeBootHistory,
  writeChangesFiles,
  writeReportFiles
} from "./chunks/chunk-SNAIBZAT.js";
import "./chunks/chunk-3BV2LLEE.js";

// src/cli/index.ts
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
var INPUT_NAMES = Object.keys(INPUT_DEFAULTS);
var REGRESSION_EXIT_CODE = 8;
function usage() {
  const width = Math.max(...INPUT_NAMES.map((name) => name.length)) + 4;
  const lines = INPUT_NAMES.map((name) => {
    const fallback = INPUT_DEFAULTS[name] === "" ? "(empty)" : INPUT_DEFAULTS[name];
    return `  --${name.padEnd(width)}default: ${fallback}`;
  });
  return [
    "Usage: boot-image-vm [flags]",
    "",
    "Builds a boot image with Nix, boots it in QEMU, SSHes in and probes it; writes a report directory.",
    "Flags mirror the action inputs (see README):",
    ...lines,
    `  --${"report-dir".padEnd(width)}default: ./boot-image-vm-report (an earlier report there is replaced)`,
    `  --${"baseline".padEnd(width)}a baseline.json (from an earlier passing run's report) to compare with`,
    `  ${"".padEnd(width + 2)}(a passing run always writes <report-dir>/baseline.json)`,
    `  --${"help".padEnd(width)}this text`,
    "",
    "Exit codes: " + Object.entries(EXIT_CODES).map(([result, code]) => `${code} ${result}`).join(", ") + `, ${REGRESSION_EXIT_CODE} passed with regressions (--fail-on-regression true)`
  ].join("\n");
}
function prepareReportDir(dir) {
  const entries = existsSync(dir) ? readdirSync(dir) : [];
  if (entries.length && !entries.includes("report.json")) {
    throw new Error(
      `--report-dir ${dir} is not empty and holds no earlier report; name a new or empty directory.`
    );
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}
async function main(argv) {
  const flags = parseFlags(argv);
  if (typeof flags === "number") return flags;
  const log = consoleLog();
  const prepared = prepareRun(flags, log);
  if (typeof prepared === "number") return prepared;
  const { inputs, reportDir, baseline, baselinePath } = prepared;
  const tempDir = mkdtempSync(join(tmpdir(), "boot-image-vm-"));
  const secrets = new Secrets();
  secrets.addFromEnvironment(process.env);
  secrets.add(inputs.githubToken);
  const signal = cancelOnSignals();
  let cleanupPaths = [];
  try {
    const report = await runPipeline(
      inputs,
      { log, secrets, reportDir, tempDir, env: process.env, signal },
      { onCleanupPaths: (paths) => cleanupPaths = paths }
    );
    await compareRun(report, reportDir, inputs, baseline, baselinePath);
    printVerdict(report, reportDir);
    const regressed = inputs.failOnRegression && (report.comparison?.regressions.length ?? 0) > 0;
    return report.result === "passed" && regressed ? REGRESSION_EXIT_CODE : exitCodeFor(report.result);
  } finally {
    cleanupSetup(cleanupPaths);
    rmSync(tempDir, { recursive: true, force: true });
  }
}
function parseFlags(argv) {
  const options = Object.fromEntries([
    ...INPUT_NAMES.map((name) => [name, { type: "string" }]),
    ["report-dir", { type: "string" }],
    ["baseline", { type: "string" }],
    ["help", { type: "boolean", short: "h" }]
  ]);
  let values;
  try {
    values = parseArgs({ args: argv, options, allowPositionals: false }).values;
  } catch (error) {
    process.stderr.write(`${errorMessage(error)}

${usage()}
`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(usage() + "\n");
    return 0;
  }
  return values;
}
function prepareRun(values, log) {
  let inputs;
  try {
    inputs = parseInputs((name) => {
      const value = values[name];
      return typeof value === "string" ? value : INPUT_DEFAULTS[name];
    });
  } catch (error) {
    log.error(errorMessage(error));
    return EXIT_CODES["setup-failed"];
  }
  const reportDir = resolve(
    typeof values["report-dir"] === "string" ? values["report-dir"] : "boot-image-vm-report"
  );
  let baseline;
  const baselinePath = typeof values.baseline === "string" ? resolve(values.baseline) : void 0;
  try {
    if (baselinePath && inputs.compare !== "off") baseline = readBaselineFile(baselinePath);
  } catch (error) {
    log.error(`--baseline: ${errorMessage(error)}`);
    return EXIT_CODES["setup-failed"];
  }
  try {
    prepareReportDir(reportDir);
  } catch (error) {
    log.error(errorMessage(error));
    return EXIT_CODES["internal-error"];
  }
  return { inputs, reportDir, baseline, baselinePath };
}
function cancelOnSignals() {
  const cancel = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => {
      if (cancel.signal.aborted) signalChildren("SIGKILL");
      cancel.abort();
    });
  }
  return cancel.signal;
}
function printVerdict(report, reportDir) {
  const lines = renderSummary(report).split("\n");
  const secondSection = lines.findIndex(
    (line, index) => index > 0 && line.startsWith("### ") && lines.slice(0, index).some((l) => l.startsWith("### "))
  );
  const firstLines = lines.slice(0, secondSection > 0 ? secondSection : 12).join("\n").trimEnd();
  const compared = report.comparison ? `compared: ${report.comparison.detail}
` : "";
  const sentence = report.comparison?.imageChanges?.sentence;
  const changes = sentence ? `changes: ${sentence} (${reportDir}/changes.md)
` : "";
  process.stdout.write(
    `${firstLines}

result: ${report.result}
${compared}${changes}report: ${reportDir}
`
  );
}
async function compareRun(report, reportDir, inputs, baseline, baselinePath) {
  const current = await currentBaseline(report, reportDir, {
    flake: inputs.flake,
    attribute: inputs.image,
    firmware: inputs.firmware,
    run: "boot-image-vm command line",
    composition: inputs.compare === "off" ? void 0 : await composeImage(report, { flake: inputs.flake, env: process.env })
  });
  if (report.result === "passed" && !report.error) {
    writeBaselineFile(reportDir, withHistory(current, baseline));
  }
  if (!baseline) return;
  report.comparison = compareWithBaseline(baseline, current, {
    slowdownThresholdPercent: inputs.slowdownThresholdPercent,
    source: baselinePath
  });
  writeBootHistory(reportDir, report.comparison);
  writeChangesFiles(reportDir, report.comparison.imageChanges);
  writeReportFiles(reportDir, report, renderSummary(report));
}
process.exitCode = await main(process.argv.slice(2));
export {
  REGRESSION_EXIT_CODE,
  main,
  usage
};
