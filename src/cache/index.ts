// The image cache, around the build: restored and imported before it (an unchanged image is not
// rebuilt), saved by the post step. Returns a CacheRestore (hit, the derivation, the entry's key)
// whose CacheResult lands in the report, and the CacheSaveState the post step saves from.
export {
  cacheReport,
  cacheSaveState,
  devshellEnvPath,
  restoreImageCache,
  type CacheRestore,
  type CacheSaveState
} from './image-cache.js'
export { saveImageCacheFromState } from './post-save.js'
export { checkCacheSaveState, type SaveStateExpected } from './save-state.js'
export { cacheSaveRefusal } from './save-policy.js'
export { CACHE_PATH } from './actions-cache.js'
