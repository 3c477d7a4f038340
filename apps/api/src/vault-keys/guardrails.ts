import { KeyvaultError } from '@keyvault/errors';
import { defaultDuplicateWindowSeconds, formatDuration, isModelGlob, MONEY_VENDORS, parseDuplicateWindow, usdToNanos, type InputKind } from '@keyvault/policy';
import type { CreateVaultKeyDto } from './dto/create-vault-key.dto';

/** The guardrail columns of a vault key being issued (issue 19). */
export interface IssuedGuardrails {
  maxCallNanos: bigint | null;
  allowedModels: string[] | null;
  duplicateWindowSeconds: number;
  maxCallsPerMinute: number | null;
  maxTokensPerMinute: number | null;
  allowedInputs: InputKind[] | null;
}

/** Reads and checks the guardrail fields of an issue request; the first bad one is reported by name. */
export function issuedGuardrails(dto: CreateVaultKeyDto): IssuedGuardrails {
  return {
    maxCallNanos: dto.max_usd_per_call === undefined ? null : usdToNanos(dto.max_usd_per_call)!,
    allowedModels: allowedModels(dto),
    duplicateWindowSeconds: duplicateWindow(dto),
    maxCallsPerMinute: dto.max_calls_per_minute ?? null,
    maxTokensPerMinute: maxTokensPerMinute(dto),
    allowedInputs: allowedInputs(dto),
  };
}

function maxTokensPerMinute(dto: CreateVaultKeyDto): number | null {
  if (dto.max_tokens_per_minute === undefined) return null;
  if (MONEY_VENDORS.includes(dto.vendor)) {
    throw new KeyvaultError('parameter_invalid', `max_tokens_per_minute applies to LLM vendors, not ${dto.vendor}.`, 'max_tokens_per_minute');
  }
  return dto.max_tokens_per_minute;
}

function duplicateWindow(dto: CreateVaultKeyDto): number {
  if (dto.duplicate_window === undefined) return defaultDuplicateWindowSeconds(dto.vendor);
  const seconds = parseDuplicateWindow(dto.duplicate_window);
  if (seconds === null) {
    throw new KeyvaultError('parameter_invalid', 'duplicate_window must be 0 (off) or a duration of at most 24h, like 30m or 2h', 'duplicate_window');
  }
  return seconds;
}

/** `duplicate_window` as shown: `0` when off, else its shortest duration text. */
export function duplicateWindowText(seconds: number): string {
  return seconds === 0 ? '0' : formatDuration(seconds);
}

function allowedModels(dto: CreateVaultKeyDto): string[] | null {
  if (dto.allowed_models === undefined) return null;
  if (MONEY_VENDORS.includes(dto.vendor)) {
    throw new KeyvaultError('parameter_invalid', `allowed_models applies to LLM vendors, not ${dto.vendor}.`, 'allowed_models');
  }
  dto.allowed_models.forEach((entry, i) => {
    if (!isModelGlob(entry)) {
      throw new KeyvaultError('parameter_invalid', `allowed_models.${i} must be a model name or glob (letters, digits, . _ - : / @ and *)`, `allowed_models.${i}`);
    }
  });
  return dto.allowed_models;
}

function allowedInputs(dto: CreateVaultKeyDto): InputKind[] | null {
  if (dto.allowed_inputs === undefined) return null;
  if (MONEY_VENDORS.includes(dto.vendor)) {
    throw new KeyvaultError('parameter_invalid', `allowed_inputs applies to LLM vendors, not ${dto.vendor}.`, 'allowed_inputs');
  }
  return [...new Set(dto.allowed_inputs)];
}
