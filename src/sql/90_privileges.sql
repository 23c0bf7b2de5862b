------------------------------------------------------------------------------
-- Privileges: everything that writes or reads user data is not for PUBLIC;
-- tr_grant_web_access grants what each web role needs.
------------------------------------------------------------------------------

REVOKE ALL ON ALL TABLES IN SCHEMA ticketres FROM PUBLIC;
REVOKE ALL ON FUNCTION ticketres._raise(text, text, text), ticketres._caller(text), ticketres._count_add(uuid, bigint),
    ticketres._check_event(text, timestamptz, timestamptz, text, text, interval, int),
    ticketres._event_must_exist(uuid), ticketres._event_for_seats(uuid),
    ticketres._generate_seats_bulk(uuid, text, int, int, bigint, boolean), ticketres._effective(ticketres.reservations),
    ticketres._web_functions(text),
    ticketres._grant_execute(name, text[], boolean),
    ticketres.check_invariants()
    FROM PUBLIC;
-- the row rules (00_schema.sql) run as part of the CHECKs of seats and
-- reservations, which only the owner's functions write; a role a DBA lets
-- write those tables directly needs EXECUTE on them too
REVOKE ALL ON FUNCTION ticketres._seat_row_ok(ticketres.seat_status, uuid),
    ticketres._reservation_row_ok(ticketres.reservation_status, timestamptz, timestamptz, uuid,
                                  ticketres.seat_id_list, ticketres.ticket_quantity)
    FROM PUBLIC;
REVOKE ALL ON FUNCTION
    tr_create_event(text, timestamptz, timestamptz, text, text, interval, int),
    tr_update_event(uuid, text, timestamptz, timestamptz, text, text, interval, int),
    tr_set_best_available(uuid, boolean),
    tr_delete_event(uuid),
    tr_add_seats(uuid, jsonb),
    tr_generate_seats(uuid, text, int, int, bigint),
    tr_reserve(uuid, text, uuid[], text, interval),
    tr_confirm(uuid, text),
    tr_cancel(uuid, text),
    tr_get_reservation(uuid, text),
    tr_list_reservations(text, int, int),
    tr_expire(int),
    tr_grant_web_access(name, name, name)
    FROM PUBLIC;


REVOKE ALL ON TABLE ticketres.audit_log FROM PUBLIC;
REVOKE ALL ON SEQUENCE ticketres.audit_log_id_seq FROM PUBLIC;
REVOKE ALL ON FUNCTION ticketres._metrics_shared(), ticketres._library(),
    ticketres._log_event(text, text, uuid, uuid, text, text, int, text),
    ticketres._extschema(), ticketres._actor(),
    ticketres._audit(text, text, uuid, uuid, uuid[], text, jsonb, text),
    ticketres._try_lock_seats(uuid, uuid[]), ticketres._lock_event(uuid), ticketres._redis_lock_seats(uuid, uuid[]),
    ticketres._check_event_seats(uuid, uuid[]),
    ticketres._set_blocked(uuid, uuid[], text, boolean),
    ticketres._admin_reservation(uuid, ticketres.reservation_status[]),
    ticketres._expiry_job_command(), ticketres._cron_must_exist(text),
    ticketres._expiry_job_health(), ticketres._redis_health(), ticketres._metrics_gauges(),
    ticketres.redis_ping()
    FROM PUBLIC;
REVOKE ALL ON FUNCTION
    tr_block_seats(uuid, uuid[], text),
    tr_unblock_seats(uuid, uuid[], text),
    tr_release_reservation(uuid, text),
    tr_extend_hold(uuid, interval, text),
    tr_schedule_expiry(text),
    tr_unschedule_expiry(),
    tr_health(),
    tr_metrics()
    FROM PUBLIC;

-- general admission and best available (0.2); the areas and their
-- availability are public like the seat map
REVOKE ALL ON FUNCTION ticketres._ga_add(uuid, bigint), ticketres._try_lock_ids(uuid[]),
    ticketres._new_reservation_id(uuid), ticketres._expire_ids(uuid[], boolean),
    ticketres._expire_overdue(uuid, uuid, int), ticketres._lock_overdue(uuid), ticketres._ga_left(uuid), ticketres._ga_take(uuid, int),
    ticketres._area_of(uuid, text), ticketres._centre_rank(int, int),
    ticketres._best_matches(ticketres.reservations, uuid, int, text, bigint, boolean)
    FROM PUBLIC;
REVOKE ALL ON FUNCTION
    tr_add_ga_area(uuid, text, int, bigint),
    tr_update_ga_area(uuid, int, bigint),
    tr_reserve_ga(uuid, text, int, text, text, interval),
    tr_reserve_best(uuid, int, text, text, bigint, boolean, text, interval)
    FROM PUBLIC;
