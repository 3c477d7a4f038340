import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { ApiError } from '../api';
import { formatUsd, spendLevel, spendRatio } from '../format';

/** An api error as it came: its message, then its code (and the field at fault). */
export function ErrorNotice({ error, title }: { error: ApiError | null; title?: string }) {
  if (!error) return null;
  return (
    <div class="notice notice-error" role="alert">
      {title && <strong class="notice-title">{title}</strong>}
      <span class="error-message">{error.message}</span>
      <span class="error-meta">
        <code class="error-code">{error.code}</code>
        {error.param && (
          <span>
            {' '}
            on <code>{error.param}</code>
          </span>
        )}
        {error.status > 0 && <span class="muted"> · HTTP {error.status}</span>}
      </span>
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty" data-testid="empty">
      <p class="empty-title">{title}</p>
      {children && <p class="empty-hint">{children}</p>}
    </div>
  );
}

export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'muted' | 'info'; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

const STATUS_TONE: Record<string, 'ok' | 'warn' | 'bad' | 'muted'> = {
  active: 'ok',
  succeeded: 'ok',
  pending: 'warn',
  expired: 'muted',
  retired: 'muted',
  revoked: 'bad',
  failed: 'bad',
  disabled: 'bad',
};

export function StatusBadge({ status }: { status: string }) {
  return <Badge tone={STATUS_TONE[status] ?? 'muted'}>{status}</Badge>;
}

/**
 * What finished calls cost today against the cap, and, beside it, what calls in flight and proxy
 * leases hold (reserved: not spent, but not available either until it settles).
 */
/** Spend against one cap; `period` names it (the daily cap by default: "today", "this month", "in total"...). */
export function SpendBar({ spent, reserved, cap, period = 'today (UTC)', capName = 'daily cap' }: { spent: number; reserved: number; cap: number; period?: string; capName?: string }) {
  const ratio = spendRatio(spent, cap);
  const held = Math.min(spendRatio(spent + reserved, cap) - ratio, 1 - ratio);
  const pct = Math.round(ratio * 100);
  return (
    <div class="spend" title={`${pct}% of the ${capName} spent ${period}${reserved > 0 ? `; ${formatUsd(reserved)} reserved by calls in flight` : ''}`}>
      <div
        class={`spend-bar spend-${spendLevel(ratio)}`}
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={cap}
        aria-valuenow={spent}
        aria-label={`Spend ${period} against the ${capName}`}
      >
        <div class="spend-fill" style={{ width: `${ratio * 100}%` }} />
        {held > 0 && <div class="spend-held" style={{ width: `${held * 100}%` }} />}
      </div>
      <div class="spend-text">
        <span class="spend-spent">{formatUsd(spent)}</span>
        <span class="muted"> of {formatUsd(cap)}</span>
      </div>
      {reserved > 0 && <div class="spend-reserved muted">{formatUsd(reserved)} reserved</div>}
    </div>
  );
}

/** A short id with the full one on hover and in the clipboard-friendly text. */
export function Id({ value }: { value: string | null | undefined }) {
  if (!value) return <span class="muted">—</span>;
  return (
    <code class="id" title={value}>
      {value}
    </code>
  );
}

/**
 * A modal confirmation on the native <dialog> (focus trap and Escape for free). It stays open
 * while the action runs and shows the api's error inside if it fails.
 */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  error?: ApiError | null;
  onConfirm: () => void;
  onCancel: () => void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby="confirm-title"
      onCancel={(e) => {
        e.preventDefault();
        if (!props.busy) props.onCancel();
      }}
    >
      {props.open && (
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            props.onConfirm();
          }}
        >
          <h2 id="confirm-title">{props.title}</h2>
          <div class="dialog-body">{props.children}</div>
          <ErrorNotice error={props.error ?? null} />
          <div class="dialog-actions">
            <button type="button" class="btn" onClick={props.onCancel} disabled={props.busy}>
              Cancel
            </button>
            <button type="submit" class={`btn ${props.danger ? 'btn-danger' : 'btn-primary'}`} disabled={props.busy}>
              {props.busy ? 'Working…' : props.confirmLabel}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}

/** A page's title row, with its controls on the right. */
export function PageHeader({ title, subtitle, children }: { title: string; subtitle?: ComponentChildren; children?: ComponentChildren }) {
  return (
    <div class="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle && <p class="page-subtitle">{subtitle}</p>}
      </div>
      {children && <div class="page-actions">{children}</div>}
    </div>
  );
}

export function Flash({ message, onClose }: { message: string | null; onClose: () => void }) {
  if (!message) return null;
  return (
    <div class="notice notice-ok" role="status">
      <span>{message}</span>
      <button type="button" class="btn-link" onClick={onClose} aria-label="Dismiss">
        ×
      </button>
    </div>
  );
}
