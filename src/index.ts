import { run } from './main.js'

await run()
// An open socket (a hung upload the client cannot cancel) must not hold the step open.
process.exit()
