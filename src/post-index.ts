import { run } from './post.js'

await run()
// Nothing left open (a socket, a retry timer) may hold the post step.
process.exit(0)
