// Preloaded into a test's child Node process (NODE_OPTIONS=--import=<this file>): resolves the
// names in BOOT_IMAGE_VM_TEST_HOSTS ("name=address,…") to those addresses, and every other name as
// usual. Harness only: nothing in src/ knows.
//
// Why this and not a private mount namespace with its own /etc/hosts (unshare -m + a bind mount):
// that would let the system resolver answer, which is closer still, but the steps are spawned by
// the shared runner harness (tests/helpers/action-runner.ts), which would have to wrap every step
// in `unshare`, and a bind-mounted /etc/hosts hides the machine's own entries from nix and QEMU in
// that namespace too. Every Node HTTP client the action uses (http/https agents under
// @actions/http-client and the Azure SDK) asks dns.lookup for the address, so patching that one
// function for one name leaves the clients' own code paths — URL, TLS with SNI and certificate
// checks against the name, retries, timeouts — exactly as they run on a GitHub runner.
import dns from 'node:dns'
import { syncBuiltinESMExports } from 'node:module'

const hosts = new Map(
  (process.env.BOOT_IMAGE_VM_TEST_HOSTS ?? '')
    .split(',')
    .filter(Boolean)
    .map(pair => pair.split('='))
    .map(([name, address]) => [name.toLowerCase(), address])
)

const answer = (address, options) => {
  const family = address.includes(':') ? 6 : 4
  return options && typeof options === 'object' && options.all
    ? [{ address, family }]
    : { address, family }
}

const lookup = dns.lookup
dns.lookup = function (hostname, options, callback) {
  const address = hosts.get(String(hostname).toLowerCase())
  if (!address) return lookup.call(this, hostname, options, callback)
  const done = typeof options === 'function' ? options : callback
  const found = answer(address, typeof options === 'function' ? undefined : options)
  process.nextTick(() =>
    Array.isArray(found) ? done(null, found) : done(null, found.address, found.family)
  )
  return {}
}
const lookupPromise = dns.promises.lookup
dns.promises.lookup = async function (hostname, options) {
  const address = hosts.get(String(hostname).toLowerCase())
  return address ? answer(address, options) : lookupPromise.call(this, hostname, options)
}
syncBuiltinESMExports()
