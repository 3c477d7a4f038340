/**
 * The budget-lease statements (see SpendLedger). Each is one atomic statement; locks are taken
 * in one order everywhere (lease rows, then vault_key_spend rows sorted by key and day), so two
 * instances, or an instance and a reconciliation, never wait on each other in a cycle.
 */

/**
 * Where one ledger keeps its spend and its leases: a vault key's UTC day (vault_key_spend,
 * spend_reservations, a call's `lease_id`), or the budgets above it (issue 19: budget_spend,
 * budget_reservations, a call's `budget_lease_ids`). The statements are the same for both.
 */
export interface LedgerTables {
  spend: string;
  leases: string;
  /** the spend row's subject column (the key, profile or tenant) and period column with its SQL type */
  subject: string;
  period: string;
  periodType: 'date' | 'text';
  /** SQL true for the audit rows or call records `a` of the calls that drew on the lease `d.id` */
  callOfLease: string;
  /** SQL true for the audit rows or call records `a` of the calls that drew on any lease of `d` */
  callOfAnyLease: string;
  /** SQL for the cap of the reconciled spend row `u` (for the webhook events), as text; null when none */
  capOf: string;
}

export const KEY_DAY_TABLES: LedgerTables = {
  spend: 'vault_key_spend',
  leases: 'spend_reservations',
  subject: 'vault_key_id',
  period: 'day',
  periodType: 'date',
  callOfLease: 'a.lease_id = d.id',
  callOfAnyLease: 'a.lease_id IN (SELECT id FROM d)',
  capOf: '(SELECT k.daily_cap_nanos FROM vault_keys k WHERE k.id = u.subject_id)::text',
};

export const BUDGET_TABLES: LedgerTables = {
  spend: 'budget_spend',
  leases: 'budget_reservations',
  subject: 'subject_id',
  period: 'period',
  periodType: 'text',
  callOfLease: 'a.budget_lease_ids @> ARRAY[d.id::text]',
  callOfAnyLease: 'a.budget_lease_ids && (SELECT array_agg(id::text) FROM d)',
  // only profiles fire cap webhooks (credential.cap_threshold / cap_reached)
  capOf: `(SELECT CASE WHEN length(u.period) = 10 THEN c.daily_cap_nanos ELSE c.monthly_cap_nanos END
             FROM credential_profiles c WHERE c.id = u.subject_id)::text`,
};

/** The three statements of a ledger (each documented below on the vault-key day's tables). */
export function leaseStatements(t: LedgerTables): { grow: string; settle: string; reconcile: string } {
  return { grow: growLease(t), settle: settleLeases(t), reconcile: reconcileLeases(t) };
}

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
 * Idempotent: $14 is the statement's sequence number on the lease; a lease row that already
 * applied it (a retry of a statement whose answer was lost) answers its grant again, unchanged.
 * $1 lease id, $2 vault key, $3 day, $4 new lease?, $5 cap, $6 min, $7 need, $8 want,
 * $9 prefetch divisor, $10 tenant, $11 instance id, $12 lease TTL in ms, $13 unit (> 0), $14 seq.
 * Answers whether the day's spend row was there to book on (false: another instance inserted
 * it at the same moment; ask again), whether the lease row exists (a lease reconciled meanwhile
 * is gone), and the amount granted.
 */
const growLease = (t: LedgerTables) => `
  WITH l AS MATERIALIZED (
    SELECT id, grow_seq, last_granted_nanos FROM ${t.leases} WHERE id = $1 FOR UPDATE
  ), done AS MATERIALIZED (
    SELECT last_granted_nanos AS granted FROM l WHERE grow_seq >= $14::int
  ), cur AS MATERIALIZED (
    SELECT s.spent_nanos, s.reserved_nanos FROM ${t.spend} s
     WHERE s.${t.subject} = $2 AND s.${t.period} = $3::${t.periodType} AND ($4::boolean OR EXISTS (SELECT 1 FROM l))
       AND NOT EXISTS (SELECT 1 FROM done)
       FOR UPDATE
  ), g AS (
    SELECT CASE WHEN room < $6::bigint THEN 0::bigint
                WHEN room < $7::bigint THEN room
                ELSE $7::bigint + extra - extra % $13::bigint END AS granted
      FROM (SELECT room, GREATEST(0, LEAST($8::bigint - $7::bigint, (room - $7::bigint) / $9::bigint)) AS extra
              FROM (SELECT GREATEST(0, COALESCE((SELECT $5::bigint - spent_nanos - reserved_nanos FROM cur), $5::bigint)) AS room) c) r
  ), s AS (
    UPDATE ${t.spend} s SET reserved_nanos = s.reserved_nanos + g.granted, updated_at = now()
      FROM g WHERE s.${t.subject} = $2 AND s.${t.period} = $3::${t.periodType} AND g.granted > 0 AND EXISTS (SELECT 1 FROM cur)
    RETURNING g.granted
  ), fresh AS (
    INSERT INTO ${t.spend} (${t.subject}, ${t.period}, tenant_id, spent_nanos, reserved_nanos)
    SELECT $2, $3::${t.periodType}, $10, 0, g.granted FROM g
     WHERE $4::boolean AND NOT EXISTS (SELECT 1 FROM cur) AND NOT EXISTS (SELECT 1 FROM done)
    ON CONFLICT (${t.subject}, ${t.period}) DO NOTHING
    RETURNING reserved_nanos AS granted
  ), booked AS (
    SELECT granted FROM s UNION ALL SELECT granted FROM fresh
  ), ins AS (
    INSERT INTO ${t.leases} (id, tenant_id, ${t.subject}, ${t.period}, instance_id, amount_nanos, expires_at, grow_seq, last_granted_nanos)
    SELECT $1, $10, $2, $3::${t.periodType}, $11, granted, now() + $12::int * interval '1 millisecond', $14::int, granted
      FROM booked WHERE $4::boolean AND granted > 0 AND NOT EXISTS (SELECT 1 FROM l)
  ), upd AS (
    UPDATE ${t.leases} r
       SET amount_nanos = r.amount_nanos + COALESCE((SELECT granted FROM booked), 0),
           expires_at = now() + $12::int * interval '1 millisecond',
           grow_seq = $14::int, last_granted_nanos = COALESCE((SELECT granted FROM booked), 0)
     WHERE r.id = (SELECT id FROM l) AND NOT EXISTS (SELECT 1 FROM done)
  )
  SELECT EXISTS (SELECT 1 FROM cur) OR EXISTS (SELECT 1 FROM fresh) OR EXISTS (SELECT 1 FROM done) AS spend_row,
         EXISTS (SELECT 1 FROM l) AS lease_row,
         COALESCE((SELECT granted FROM done), (SELECT granted FROM booked), 0)::text AS granted`;

/**
 * The smallest whole percent p whose mark floor(cap * p / 100) lies above `spent`:
 * ceil(100 * (spent + 1) / cap). A booking crosses a mark iff that p is at most 100 and its mark
 * is at most the new spend (marks grow with p): the same marks as enqueueSpendEvents.
 */
const crossesMark = (spent: string, booked: string, cap: string) =>
  `(${cap} > 0 AND (100 * (${spent} + 1) + ${cap} - 1) / ${cap} <= 100
     AND ${cap} * ((100 * (${spent} + 1) + ${cap} - 1) / ${cap}) / 100 <= ${spent} + ${booked})`;

/**
 * Settles a batch of leases in one statement: books what their calls cost (spent += used, and
 * the lease's booked += used), gives back what they do not need and renews them; a closing lease
 * is deleted, its whole amount leaving reserved. What leaves reserved never passes what the
 * lease holds (a call may have cost more than it reserved: it is booked whole all the same).
 * Idempotent: $10 is each entry's sequence number on its lease; an entry its lease row already
 * applied (a retry whose first answer was lost) is answered `applied` again without a change.
 * Leases gone (reconciled or closed) are skipped. With $8 (quiet only), an entry whose booking
 * crosses a whole percent of the cap is left out, for a transaction that also enqueues the
 * webhook events.
 * $1 lease ids, $2 vault keys, $3 days, $4 caps, $5 used, $6 released, $7 close?, $8 quiet only,
 * $9 lease TTL in ms, $10 seqs. Answers per lease: found, applied, and the spend after (when
 * applied now).
 */
const settleLeases = (t: LedgerTables) => `
  WITH v AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::${t.periodType}[], $4::bigint[], $5::bigint[], $6::bigint[], $7::boolean[], $10::int[])
      AS v(lease_id, ${t.subject}, ${t.period}, cap, used, released, close, seq)
  ), l AS MATERIALIZED (
    SELECT r.id, r.amount_nanos, r.settle_seq FROM ${t.leases} r WHERE r.id IN (SELECT lease_id FROM v) ORDER BY r.id FOR UPDATE
  ), cur AS MATERIALIZED (
    SELECT v.lease_id, v.${t.subject}, v.${t.period}, v.close, v.seq, s.spent_nanos AS spent, v.cap, v.used AS booked,
           CASE WHEN v.close THEN l.amount_nanos ELSE LEAST(l.amount_nanos, v.used + v.released) END AS freed
      FROM v JOIN l ON l.id = v.lease_id AND l.settle_seq < v.seq
      JOIN ${t.spend} s ON s.${t.subject} = v.${t.subject} AND s.${t.period} = v.${t.period}
     ORDER BY s.${t.subject}, s.${t.period}
       FOR UPDATE OF s
  ), q AS (
    SELECT * FROM cur WHERE NOT ($8::boolean AND booked > 0 AND ${crossesMark('spent', 'booked', 'cap')})
  ), s AS (
    UPDATE ${t.spend} s
       SET spent_nanos = s.spent_nanos + q.booked, reserved_nanos = s.reserved_nanos - q.freed, updated_at = now()
      FROM q WHERE s.${t.subject} = q.${t.subject} AND s.${t.period} = q.${t.period}
    RETURNING q.lease_id, s.spent_nanos AS after, q.booked
  ), d AS (
    DELETE FROM ${t.leases} r USING q WHERE r.id = q.lease_id AND q.close
  ), u AS (
    UPDATE ${t.leases} r
       SET amount_nanos = r.amount_nanos - q.freed, booked_nanos = r.booked_nanos + q.booked, settle_seq = q.seq,
           expires_at = now() + $9::int * interval '1 millisecond'
      FROM q WHERE r.id = q.lease_id AND NOT q.close
  )
  SELECT v.lease_id, l.id IS NOT NULL AS found, (s.lease_id IS NOT NULL OR l.settle_seq >= v.seq) AS applied,
         s.after::text AS after, s.booked::text AS booked
    FROM v LEFT JOIN l ON l.id = v.lease_id LEFT JOIN s ON s.lease_id = v.lease_id`;

/**
 * Reconciles the leases of dead holders (expired ones, and those of an instance restarting under
 * the same id, $1 or null) from the records of their calls, not from what they held: each is
 * settled as what its calls cost (the cost in the audit row of each call whose outcome was
 * written, the worst case in the record of each call still in flight, call_records) less what its
 * holder booked already; the room it never used is simply given back. That is never more than the
 * lease holds (a call's worst case stays drawn on its lease until its audit row is written), but
 * for calls that cost more than they reserved, which are booked whole. The calls whose outcome is
 * unknown get an `interrupted` audit row at their worst case in place of their record, so the
 * key's spend still equals the sum of its rows; a record whose call has its row already (its
 * INSERT committed after the call was refused for it) is only removed. Answers the bookings, for
 * the webhook events. A lease's calls were recorded after it was granted: its creation (less a
 * day for the proxies' clocks) and now (plus a day) bound the lookup, so that only those days'
 * audit partitions are read, not every one of them.
 */
const reconcileLeases = (t: LedgerTables) => `
  WITH d AS (
    DELETE FROM ${t.leases} WHERE expires_at < now() OR instance_id = $1
    RETURNING id, ${t.subject}, ${t.period}, amount_nanos, booked_nanos, created_at
  ), calls AS MATERIALIZED (
    SELECT d.${t.subject}, d.${t.period}, d.amount_nanos,
           GREATEST(0, COALESCE((SELECT sum(a.cost_nanos)
                                   FROM audit_log a WHERE ${t.callOfLease}
                                    AND a.created_at >= d.created_at - interval '1 day' AND a.created_at < now() + interval '1 day'), 0)
                     + COALESCE((SELECT sum(a.reserved_nanos)
                                   FROM call_records a WHERE ${t.callOfLease}
                                    AND NOT EXISTS (SELECT 1 FROM audit_log f WHERE f.id = a.id AND f.created_at = a.created_at)), 0)
                      - d.booked_nanos)::bigint AS spent
      FROM d
  ), gone AS (
    -- EXISTS: evaluated once, so a round that found no dead lease does not scan call_records
    DELETE FROM call_records a WHERE EXISTS (SELECT 1 FROM d) AND ${t.callOfAnyLease}
    RETURNING a.*
  ), i AS (
    INSERT INTO audit_log (id, tenant_id, vault_key_id, credential_id, vendor, method, path, status, error_code, cost_nanos, duration_ms,
                           run_id, conversation_id, lease_id, reserved_nanos, budget_lease_ids, created_at)
    SELECT id, tenant_id, vault_key_id, credential_id, vendor, method, path, 0, 'interrupted', reserved_nanos, 0,
           run_id, conversation_id, lease_id, reserved_nanos, budget_lease_ids, created_at
      FROM gone
    ON CONFLICT DO NOTHING
  ), a AS MATERIALIZED (
    SELECT ${t.subject}, ${t.period}, sum(spent)::bigint AS spent, sum(amount_nanos)::bigint AS freed FROM calls GROUP BY ${t.subject}, ${t.period}
  ), locked AS MATERIALIZED (
    SELECT s.${t.subject}, s.${t.period}, a.spent, a.freed FROM ${t.spend} s JOIN a ON a.${t.subject} = s.${t.subject} AND a.${t.period} = s.${t.period}
     ORDER BY s.${t.subject}, s.${t.period}
       FOR UPDATE OF s
  ), u AS (
    UPDATE ${t.spend} s
       SET spent_nanos = s.spent_nanos + locked.spent, reserved_nanos = s.reserved_nanos - locked.freed, updated_at = now()
      FROM locked WHERE s.${t.subject} = locked.${t.subject} AND s.${t.period} = locked.${t.period}
    RETURNING s.${t.subject} AS subject_id, s.${t.period}::text AS period, s.tenant_id, s.spent_nanos AS after, locked.spent AS amount
  )
  SELECT u.subject_id, u.period, u.tenant_id, u.after::text AS after, u.amount::text AS amount, ${t.capOf} AS cap
    FROM u`;
