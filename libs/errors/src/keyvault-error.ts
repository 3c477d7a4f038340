import { ERROR_CODES, ErrorCode, ErrorType } from './error-codes';

export interface ErrorBody {
  error: { type: ErrorType; code: ErrorCode; message: string; param?: string; error_id?: string };
}

/** The one error type services throw; the exception filter renders it as the contract's body. */
export class KeyvaultError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  /** Extra response headers, e.g. Retry-After on daily_cap_exceeded. */
  headers?: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly param?: string,
  ) {
    super(message);
    this.name = 'KeyvaultError';
    this.status = ERROR_CODES[code].status;
    this.type = ERROR_CODES[code].type;
  }

  withHeaders(headers: Record<string, string>): this {
    this.headers = { ...this.headers, ...headers };
    return this;
  }

  toBody(errorId?: string): ErrorBody {
    const error: ErrorBody['error'] = { type: this.type, code: this.code, message: this.message };
    if (this.param !== undefined) error.param = this.param;
    if (errorId !== undefined) error.error_id = errorId;
    return { error };
  }
}

export const notFound = (what: string, id: string, param = 'id'): KeyvaultError =>
  new KeyvaultError('resource_missing', `No such ${what}: '${id}'`, param);
