/*
 * ticketres.c — module magic, _PG_init and settings.
 *
 * The reservation core needs no preloading: every entry point prepares its
 * statements on first use (spi_util.c). Settings live under "ticketres.".
 */
#include "ticketres.h"

#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	MarkGUCPrefixReserved("ticketres");
}
