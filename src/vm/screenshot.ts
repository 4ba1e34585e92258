// A screenshot of the VM's display as PNG. QEMU 7.1 and later write PNG themselves (QMP
// `screendump` with `format: "png"`); an older QEMU refuses the argument (QMP error "Parameter
// 'format' is unexpected"), or a QEMU built without libpng refuses the format: then it writes its
// PPM and png.ts encodes it. Which way worked is remembered for the machine's later screenshots.
import { rmSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { ppmToPng } from './png.js'
import { QmpError } from './qmp.js'

/** The one QMP call screenshots need (QmpClient has it; tests give a recorded stand-in). */
export interface Screendump {
  execute(command: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<unknown>
}

/** How this QEMU takes screenshots: unknown until the first one, then what it answered. */
export interface ScreenshotWay {
  qemuWritesPng?: boolean
}

/**
 * Writes `png`; `ppm` is a scratch path for the fallback. Rejects when neither way works (a
 * timeout, a closed socket, an unreadable PPM).
 */
export async function screendumpPng(
  qmp: Screendump,
  paths: { png: string; ppm: string },
  way: ScreenshotWay,
  timeoutMs = 5_000
): Promise<void> {
  if (way.qemuWritesPng !== false) {
    try {
      await qmp.execute('screendump', { filename: paths.png, format: 'png' }, timeoutMs)
      way.qemuWritesPng = true
      return
    } catch (error) {
      // Only QEMU's own refusal means "ask for PPM": a timeout is a timeout either way.
      if (!(error instanceof QmpError)) throw error
      way.qemuWritesPng = false
    }
  }
  await qmp.execute('screendump', { filename: paths.ppm }, timeoutMs)
  try {
    writeFileSync(paths.png, ppmToPng(await readFile(paths.ppm)))
  } finally {
    rmSync(paths.ppm, { force: true })
  }
}
