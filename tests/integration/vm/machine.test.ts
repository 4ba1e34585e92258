// The Machine on its own: one QEMU (TCG) with the fixture ISO, its console, QMP and teardown.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { consoleLog } from '../../../src/shared/log.js'
import { Machine } from '../../../src/vm/machine.js'
import { freePort } from '../../../src/vm/qemu.js'
import { qemuBinary } from '../../../src/vm/platform.js'
import { fixtureIso } from '../../helpers/lab.js'

const root = mkdtempSync(join(tmpdir(), 'biv-machine-'))
const machines: Machine[] = []

afterAll(async () => {
  for (const machine of machines) await machine.shutdown(500)
  rmSync(root, { recursive: true, force: true })
})

describe('Machine', () => {
  it('boots, shows the console line by line, answers QMP, takes a screenshot and shuts down', async () => {
    const { iso } = await fixtureIso()
    const lines: string[] = []
    // A temp dir so deep that a socket in it would not fit in sun_path: the Machine must cope.
    const tempDir = join(root, 'x'.repeat(60), 'y'.repeat(60))
    const machine = new Machine({
      arch: 'x86_64',
      accel: 'tcg',
      memoryMiB: 512,
      cpus: 1,
      iso,
      firmware: 'bios',
      qemu: qemuBinary('x86_64'),
      sshPort: await freePort(),
      dir: join(root, 'report', 'vm'),
      tempDir,
      log: consoleLog(line => lines.push(line)),
      name: 'guest'
    })
    machines.push(machine)
    await machine.start()
    const pid = machine.pid
    expect(pid).toBeGreaterThan(0)
    expect(await machine.status()).toBe('running')

    const ready = await machine.waitForLine(/boot-image-vm: ready/, 120_000)
    expect(ready.text).toBe('boot-image-vm: ready')
    expect(ready.seconds).toBeGreaterThan(0)
    expect(lines.some(line => /^\[guest \+\d+\.\ds\] boot-image-vm: ready$/.test(line))).toBe(true)
    // Already seen: resolves at once.
    expect((await machine.waitForLine(/boot-image-vm: init/, 1)).text).toMatch(/init/)
    await expect(machine.waitForLine(/never printed/, 200)).rejects.toThrow(/within 0.2 s/)

    const png = await machine.screenshot('test')
    expect(png).toBe(join(root, 'report', 'vm', 'screen-test.png'))
    expect(readFileSync(png!).subarray(1, 4).toString()).toBe('PNG')
    // QEMU here is 7.2: it writes the PNG itself (screendump format: png), no PPM to encode.
    expect(machine.screenshotWay.qemuWritesPng).toBe(true)

    const exit = await machine.shutdown()
    expect(exit).toBeDefined()
    expect(machine.running).toBe(false)
    expect(() => process.kill(pid!, 0)).toThrow()
    expect(await machine.status()).toBeUndefined()

    const dir = join(root, 'report', 'vm')
    expect(readFileSync(join(dir, 'serial.log'), 'utf8')).toContain('boot-image-vm: ready\r\n')
    const args = readFileSync(join(dir, 'qemu-args.txt'), 'utf8').split('\n')
    expect(args[0]).toBe('qemu-system-x86_64')
    expect(args).toContain('-qmp')
    const qmp = args[args.indexOf('-qmp') + 1]
    expect(qmp).toMatch(/^unix:\/tmp\/biv-\w+\/qmp\.sock,server=on,wait=off$/)
    expect(existsSync(join(dir, 'qemu.log'))).toBe(true)
  })

  it('says why when QEMU cannot start', async () => {
    const machine = new Machine({
      arch: 'x86_64',
      accel: 'tcg',
      memoryMiB: 64,
      cpus: 1,
      iso: '/nonexistent.iso',
      firmware: 'bios',
      qemu: qemuBinary('x86_64'),
      sshPort: await freePort(),
      dir: join(root, 'bad', 'vm'),
      tempDir: join(root, 'bad', 'tmp'),
      log: consoleLog(() => {})
    })
    machines.push(machine)
    await expect(machine.start()).rejects.toThrow(/QEMU exited at once.*nonexistent\.iso/)
  })
})
