/** Timestamps in API responses are ISO 8601 strings in UTC. */
export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
