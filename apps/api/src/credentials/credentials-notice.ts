import type { EntityManager } from 'typeorm';
import { CHANNELS, type CredentialsNotice } from '@keyvault/db';

/**
 * Tells every proxy instance to reload a profile's keys (or all of a tenant's). Sent inside the
 * caller's transaction: Postgres delivers it at commit, so no proxy reloads before the change
 * is visible, and none hears of a change that rolled back.
 */
export async function notifyCredentials(manager: EntityManager, notice: CredentialsNotice): Promise<void> {
  await manager.query('SELECT pg_notify($1, $2)', [CHANNELS.credentials, JSON.stringify(notice)]);
}
