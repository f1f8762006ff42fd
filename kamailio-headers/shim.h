/* Functions over Kamailio macros and static-inline helpers that have no symbol of their own. */
#ifndef KSR_RUST_SHIM_H
#define KSR_RUST_SHIM_H

#include <stddef.h>

/* Logging: one line at `level` for module `mname`, with the usual "module [file:line]: "
 * prefix already formatted by the caller in `locinfo`. */
int ksr_shim_log_enabled(const char *mname, int level);
void ksr_shim_log(const char *mname, int level, const char *locinfo,
		const char *func, const char *msg);

/* Process-shared lock (gen_lock_t, the core's futex lock). */
size_t ksr_shim_lock_size(void);
void ksr_shim_lock_init(void *lock);
void ksr_shim_lock_get(void *lock);
void ksr_shim_lock_release(void *lock);
int ksr_shim_lock_try(void *lock);

#endif
