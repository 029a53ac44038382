/*
 * flannel-ts's pages addon (N-API, C): gives the kernel back the pages of the agent's own files
 * that it no longer uses.
 *
 *   releaseColdPages()  walks /proc/self/maps and asks the kernel, with madvise(MADV_PAGEOUT)
 *                       (Linux 5.4+), to reclaim the resident pages of every read-only mapping of
 *                       a file (the executable's code and read-only data, the Node.js runtime's
 *                       start-up code, shared libraries), then returns free malloc memory to the
 *                       kernel (malloc_trim). Pages are clean copies of the files: reclaiming them
 *                       frees the memory; a page used again is read back on its next touch. The
 *                       kernel leaves pages alone that another process maps too.
 *                       Answers { advisedBytes, mappings, failed, error } (error: the errno name of
 *                       the first madvise that failed, e.g. EINVAL on kernels before 5.4).
 *
 * When to call it (after start-up, then now and then) is decided in TypeScript:
 * src/memory/cold-page-release.ts.
 */
#define _GNU_SOURCE
#include <node_api.h>

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

static napi_value set_number(napi_env env, napi_value obj, const char *key, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  napi_set_named_property(env, obj, key, v);
  return obj;
}

static napi_value release_cold_pages(napi_env env, napi_callback_info info) {
  FILE *maps = fopen("/proc/self/maps", "re");
  if (maps == NULL) {
    int err = errno;
    const char *name = strerrorname_np(err);
    char msg[128];
    snprintf(msg, sizeof msg, "open /proc/self/maps: %s", strerror(err));
    napi_throw_error(env, name ? name : "EUNKNOWN", msg);
    return NULL;
  }
  /* A path is at most PATH_MAX; a longer line is cut and its rest fails to parse: skipped. */
  char line[4096 + 256];
  double advised = 0;
  uint32_t mappings = 0, failed = 0;
  int first_error = 0;
  while (fgets(line, sizeof line, maps) != NULL) {
    unsigned long start, end, inode;
    unsigned long long offset;
    unsigned int major, minor;
    char perms[8];
    int path_at = 0;
    if (sscanf(line, "%lx-%lx %7s %llx %x:%x %lu %n", &start, &end, perms, &offset, &major, &minor, &inode, &path_at) < 7) continue;
    /* Files only (not the heap, stacks, [vdso]...), and only what was never written to. */
    if (inode == 0 || path_at == 0 || line[path_at] != '/' || strlen(perms) < 4 || perms[1] == 'w' || end <= start) continue;
    if (madvise((void *)start, end - start, MADV_PAGEOUT) == 0) {
      advised += (double)(end - start);
      mappings++;
    } else {
      failed++;
      if (first_error == 0) first_error = errno;
    }
  }
  fclose(maps);
  malloc_trim(0);

  napi_value result;
  napi_create_object(env, &result);
  set_number(env, result, "advisedBytes", advised);
  set_number(env, result, "mappings", mappings);
  set_number(env, result, "failed", failed);
  if (first_error != 0) {
    const char *name = strerrorname_np(first_error);
    napi_value e;
    napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &e);
    napi_set_named_property(env, result, "error", e);
  }
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "releaseColdPages", NAPI_AUTO_LENGTH, release_cold_pages, NULL, &fn);
  napi_set_named_property(env, exports, "releaseColdPages", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
