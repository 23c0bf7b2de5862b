/*
 * ticketres.c — module magic, _PG_init and settings.
 *
 * The reservation core needs no preloading: every entry point prepares its
 * statements on first use (spi_util.c). Preloading (shared_preload_libraries)
 * adds the cluster-wide counters of tr_metrics() (metrics.c). Settings live
 * under "ticketres.".
 */
#include "ticketres.h"

#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomBoolVariable("ticketres.log_events",
							 "Log one line per reservation state change.",
							 "key=value fields: action, outcome, event, reservation, user, "
							 "seats, duration_ms (see doc/operations.md).",
							 &tr_log_events, false, PGC_SUSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("ticketres");
	tr_metrics_init();
}
