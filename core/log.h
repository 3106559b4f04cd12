/*
 * Logging: one line per event to stderr (or syslog once enabled). Lines
 * about a scan name the delegation and, where there is one, the server
 * address; the layer that knows them logs, lower layers return codes.
 * Never pass credentials to these functions.
 */
#ifndef CDS_CORE_LOG_H
#define CDS_CORE_LOG_H

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Set the threshold; messages above it are dropped. Default: WARN. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Route messages to syslog(3) with this ident instead of stderr. */
void log_use_syslog(const char *ident);
/* Back to stderr (closes the syslog connection): a daemon's SIGHUP. */
void log_use_stderr(void);

void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
