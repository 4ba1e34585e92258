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
  consoleLog,
  exitCodeFor,
  parseInputs,
  renderSummary,
  runPipeline
} from "./chunks/chunk-2E52T5LX.js";
import {
  cleanupSetup,
  errorMessage,
  signalChildren
} from "./chunks/chunk-5BIUNGTV.js";

// src/cli.ts
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
var INPUT_NAMES = Object.keys(INPUT_DEFAULTS);
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
    `  --${"help".padEnd(width)}this text`,
    "",
    "Exit codes: " + Object.entries(EXIT_CODES).map(([result, code]) => `${code} ${result}`).join(", ")
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
  const options = Object.fromEntries([
    ...INPUT_NAMES.map((name) => [name, { type: "string" }]),
    ["report-dir", { type: "string" }],
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
  const log = consoleLog();
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
  try {
    prepareReportDir(reportDir);
  } catch (error) {
    log.error(errorMessage(error));
    return EXIT_CODES["internal-error"];
  }
  const tempDir = mkdtempSync(join(tmpdir(), "boot-image-vm-"));
  const secrets = new Secrets();
  secrets.addFromEnvironment(process.env);
  secrets.add(inputs.githubToken);
  const cancel = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => {
      cancel.abort();
      signalChildren("SIGTERM");
    });
  }
  let cleanupPaths = [];
  try {
    const report = await runPipeline(
      inputs,
      { log, secrets, reportDir, tempDir, env: process.env, signal: cancel.signal },
      { onCleanupPaths: (paths) => cleanupPaths = paths }
    );
    const firstLines = renderSummary(report).split("\n").slice(0, 3).join("\n");
    process.stdout.write(`${firstLines}

result: ${report.result}
report: ${reportDir}
`);
    return exitCodeFor(report.result);
  } finally {
    cleanupSetup(cleanupPaths);
    rmSync(tempDir, { recursive: true, force: true });
  }
}
process.exitCode = await main(process.argv.slice(2));
export {
  main,
  usage
};
