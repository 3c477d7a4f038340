/**
 * The budget-lease statements (see SpendLedger). Each is one atomic statement; locks are taken
 * in one order everywhere (lease rows, then vault_key_spend rows sorted by key and day), so two
 * instances, or an instance and a reconciliation, never wait on each other in a cycle.
 */

/**
 * Grows one lease (inserting its row when new) by what the cap allows, and renews its expiry.
 * The grant, from the room r = cap - spent - reserved of the key's day (the whole cap when the
 * day has no spend row yet: it is inserted):
 *   r < min   → 0 (the call that waits longest cannot be served: the cap is reached)
 *   r < need  → r (the calls waiting get what is left; those it cannot cover are refused)
 *   otherwise → need, plus a prefetch towards `want` of at most (r - need) / divisor, in whole
 *               calls of `unit`: slices shrink as the cap nears, and within a few calls of it
 *               every call is granted alone, so none of the last calls is stranded in a lease
 *               of an instance that has no use for it
 * $1 lease id, $2 vault key, $3 day, $4 new lease?, $5 cap, $6 min, $7 need, $8 want,
 * $9 prefetch divisor, $10 tenant, $11 instance id, $12 lease TTL in ms, $13 unit (> 0).
 * Answers whether the day's spend row was there to book on (false: another instance inserted
 * it at the same moment; ask again), whether the lease row exists (a lease reconciled meanwhile
 * is gone), and the amount granted.
 */
export const GROW_LEASE = `
  WITH l AS MATERIALIZED (
    SELECT id FROM spend_reservations WHERE id = $1 FOR UPDATE
  ), cur AS MATERIALIZED (
    SELECT s.spent_nanos, s.reserved_nanos FROM vault_key_spend s
     WHERE s.vault_key_id = $2 AND s.day = $3::date AND ($4::boolean OR EXISTS (SELECT 1 FROM l))
       FOR UPDATE
  ), g AS (
    SELECT CASE WHEN room < $6::bigint THEN 0::bigint
                WHEN room < $7::bigint THEN room
                ELSE $7::bigint + extra - extra % $13::bigint END AS granted
      FROM (SELECT room, GREATEST(0, LEAST($8::bigint - $7::bigint, (room - $7::bigint) / $9::bigint)) AS extra
              FROM (SELECT COALESCE((SELECT $5::bigint - spent_nanos - reserved_nanos FROM cur), $5::bigint) AS room) c) r
  ), s AS (
    UPDATE vault_key_spend s SET reserved_nanos = s.reserved_nanos + g.granted, updated_at = now()
      FROM g WHERE s.vault_key_id = $2 AND s.day = $3::date AND g.granted > 0 AND EXISTS (SELECT 1 FROM cur)
    RETURNING g.granted
  ), fresh AS (
    INSERT INTO vault_key_spend (vault_key_id, day, tenant_id, spent_nanos, reserved_nanos)
    SELECT $2, $3::date, $10, 0, g.granted FROM g WHERE $4::boolean AND NOT EXISTS (SELECT 1 FROM cur)
    ON CONFLICT (vault_key_id, day) DO NOTHING
    RETURNING reserved_nanos AS granted
  ), booked AS (
    SELECT granted FROM s UNION ALL SELECT granted FROM fresh
  ), ins AS (
    INSERT INTO spend_reservations (id, tenant_id, vault_key_id, day, instance_id, amount_nanos, expires_at)
    SELECT $1, $10, $2, $3::date, $11, granted, now() + $12::int * interval '1 millisecond' FROM booked WHERE $4::boolean AND granted > 0
  ), upd AS (
    UPDATE spend_reservations r
       SET amount_nanos = r.amount_nanos + COALESCE((SELECT granted FROM booked), 0),
           expires_at = now() + $12::int * interval '1 millisecond'
     WHERE r.id = (SELECT id FROM l) AND NOT $4::boolean
  )
  SELECT EXISTS (SELECT 1 FROM cur) OR EXISTS (SELECT 1 FROM fresh) AS spend_row, EXISTS (SELECT 1 FROM l) AS lease_row,
         COALESCE((SELECT granted FROM booked), 0)::text AS granted`;

/**
 * The smallest whole percent p whose mark floor(cap * p / 100) lies above `spent`:
 * ceil(100 * (spent + 1) / cap). A booking crosses a mark iff that p is at most 100 and its mark
 * is at most the new spend (marks grow with p): the same marks as enqueueSpendEvents.
 */
const crossesMark = (spent: string, booked: string, cap: string) =>
  `(${cap} > 0 AND (100 * (${spent} + 1) + ${cap} - 1) / ${cap} <= 100
     AND ${cap} * ((100 * (${spent} + 1) + ${cap} - 1) / ${cap}) / 100 <= ${spent} + ${booked})`;

/**
 * Settles a batch of leases in one statement: books what their calls cost (spent += used,
 * reserved -= used), gives back what they do not need (reserved -= released) and renews them;
 * a closing lease is deleted, booking all it held but what it gives back (so a booking the
 * database lost in a crash is counted, never dropped). Leases gone (reconciled) are skipped.
 * With $8 (quiet only), an entry whose booking crosses a whole percent of the cap is left out,
 * for a transaction that also enqueues the webhook events.
 * $1 lease ids, $2 vault keys, $3 days, $4 caps, $5 used, $6 released, $7 close?, $8 quiet only,
 * $9 lease TTL in ms. Answers per lease: found, applied, and the spend after (when applied).
 */
export const SETTLE_LEASES = `
  WITH v AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::bigint[], $5::bigint[], $6::bigint[], $7::boolean[])
      AS v(lease_id, vault_key_id, day, cap, used, released, close)
  ), l AS MATERIALIZED (
    SELECT r.id, r.amount_nanos FROM spend_reservations r WHERE r.id IN (SELECT lease_id FROM v) ORDER BY r.id FOR UPDATE
  ), cur AS MATERIALIZED (
    SELECT v.lease_id, v.vault_key_id, v.day, v.close, s.spent_nanos AS spent, v.cap,
           CASE WHEN v.close THEN l.amount_nanos - v.released ELSE v.used END AS booked,
           CASE WHEN v.close THEN l.amount_nanos ELSE v.used + v.released END AS freed
      FROM v JOIN l ON l.id = v.lease_id
      JOIN vault_key_spend s ON s.vault_key_id = v.vault_key_id AND s.day = v.day
     ORDER BY s.vault_key_id, s.day
       FOR UPDATE OF s
  ), q AS (
    SELECT * FROM cur WHERE NOT ($8::boolean AND booked > 0 AND ${crossesMark('spent', 'booked', 'cap')})
  ), s AS (
    UPDATE vault_key_spend s
       SET spent_nanos = s.spent_nanos + q.booked, reserved_nanos = s.reserved_nanos - q.freed, updated_at = now()
      FROM q WHERE s.vault_key_id = q.vault_key_id AND s.day = q.day
    RETURNING q.lease_id, s.spent_nanos AS after, q.booked
  ), d AS (
    DELETE FROM spend_reservations r USING q WHERE r.id = q.lease_id AND q.close
  ), u AS (
    UPDATE spend_reservations r
       SET amount_nanos = r.amount_nanos - q.freed, expires_at = now() + $9::int * interval '1 millisecond'
      FROM q WHERE r.id = q.lease_id AND NOT q.close
  )
  SELECT v.lease_id, l.id IS NOT NULL AS found, s.lease_id IS NOT NULL AS applied, s.after::text AS after, s.booked::text AS booked
    FROM v LEFT JOIN l ON l.id = v.lease_id LEFT JOIN s ON s.lease_id = v.lease_id`;

/**
 * Reconciles the leases of dead holders: expired ones, those of an instance restarting under
 * the same id ($1, or null), and those whose holder lost track of them ($2: a statement whose
 * outcome it never learnt). Each is settled as fully spent (spent += amount, reserved -= amount):
 * its holder may have spent all of it without a word to the database. Answers the bookings, for
 * the webhook events.
 */
export const RECONCILE_LEASES = `
  WITH d AS (
    DELETE FROM spend_reservations WHERE expires_at < now() OR instance_id = $1 OR id = ANY($2::text[])
    RETURNING vault_key_id, day, amount_nanos
  ), a AS MATERIALIZED (
    SELECT vault_key_id, day, sum(amount_nanos)::bigint AS amount FROM d GROUP BY vault_key_id, day
  ), locked AS MATERIALIZED (
    SELECT s.vault_key_id, s.day, a.amount FROM vault_key_spend s JOIN a ON a.vault_key_id = s.vault_key_id AND a.day = s.day
     ORDER BY s.vault_key_id, s.day
       FOR UPDATE OF s
  ), u AS (
    UPDATE vault_key_spend s
       SET spent_nanos = s.spent_nanos + locked.amount, reserved_nanos = s.reserved_nanos - locked.amount, updated_at = now()
      FROM locked WHERE s.vault_key_id = locked.vault_key_id AND s.day = locked.day
    RETURNING s.vault_key_id, s.day, s.tenant_id, s.spent_nanos AS after, locked.amount
  )
  SELECT u.vault_key_id, u.day::text AS day, u.tenant_id, u.after::text AS after, u.amount::text AS amount,
         k.daily_cap_nanos::text AS cap
    FROM u JOIN vault_keys k ON k.id = u.vault_key_id`;
