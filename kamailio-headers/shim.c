/* C shim: the few core facilities that exist only as macros or static inline code. */
#include <stdio.h>
#include <syslog.h>

#include "core/dprint.h"
#include "core/pt.h"
#include "core/locking.h"
#include "shim.h"

int ksr_shim_log_enabled(const char *mname, int level)
{
	return dprint_crit == 0 && get_debug_level((char *)mname, strlen(mname)) >= level;
}

/* Mirrors the classic and structured paths of the core's LOG_FX macro, with the module
 * name known only at run time. */
void ksr_shim_log(const char *mname, int level, const char *locinfo,
		const char *func, const char *msg)
{
	int mlen = strlen(mname);
	int llevel;
	const char *lname;
	const char *prefix = log_prefix_val ? log_prefix_val->s : "";
	int prefix_len = log_prefix_val ? log_prefix_val->len : 0;
	const char *fsuffix = func ? "(): " : "";

	if (dprint_crit != 0 || get_debug_level((char *)mname, mlen) < level)
		return;
	llevel = level < L_ALERT ? L_ALERT : (level > L_DBG ? L_DBG : level);
	lname = LOG_LEVEL2NAME(llevel);
	if (func == NULL)
		func = "";
	dprint_crit++;
	if (_ksr_slog_func) {
		ksr_logdata_t kld = {0};
		kld.v_facility = LOG2SYSLOG_LEVEL(llevel) | get_debug_facility((char *)mname, mlen);
		kld.v_level = llevel;
		kld.v_lname = (char *)lname;
		kld.v_fname = "rust";
		kld.v_fline = 0;
		kld.v_mname = mname;
		kld.v_func = func;
		kld.v_locinfo = locinfo;
		_ksr_slog_func(&kld, "%s\n", msg);
	} else if (log_stderr) {
		if (log_color)
			dprint_color(llevel);
		fprintf(stderr, "%2d(%d) %s: %.*s%s%s%s%s\n", process_no, my_pid(), lname,
				prefix_len, prefix, locinfo, func, fsuffix, msg);
		if (log_color)
			dprint_color_reset();
	} else {
		_km_log_func(LOG2SYSLOG_LEVEL(llevel) | get_debug_facility((char *)mname, mlen),
				"%s: %.*s%s%s%s%s\n", lname, prefix_len, prefix, locinfo, func,
				fsuffix, msg);
	}
	dprint_crit--;
}

size_t ksr_shim_lock_size(void)
{
	return sizeof(gen_lock_t);
}

void ksr_shim_lock_init(void *lock)
{
	lock_init((gen_lock_t *)lock);
}

void ksr_shim_lock_get(void *lock)
{
	lock_get((gen_lock_t *)lock);
}

void ksr_shim_lock_release(void *lock)
{
	lock_release((gen_lock_t *)lock);
}

int ksr_shim_lock_try(void *lock)
{
	return lock_try((gen_lock_t *)lock);
}
