// The checks an execution's input passes before a run starts: safe to store, and within the size limit.
import { CodexError, ErrorCodes } from './errors.js';
import { encodeValue } from './store/codec.js';
import { assertSafeValue } from './workflow/load.js';

/** Refuses an input that cannot be stored exactly or is larger than `maxBytes` (as stored), with a CodexError. */
export function checkExecutionInput(input: unknown, maxBytes: number): void {
  let size: number;
  try {
    assertSafeValue(input, 'execution input', '$input');
    // Measured in the stored encoding: the input must round-trip through every store exactly (store/codec.ts).
    size = encodeValue(input, 'execution input').length;
  } catch (err) {
    // A Proxy trap or a getter that throws while the input is read.
    if (err instanceof CodexError) throw err;
    throw new CodexError(
      ErrorCodes.INPUT_INVALID,
      `execution input could not be read: ${(err as Error)?.message ?? String(err)}`,
      { cause: err },
    );
  }
  if (size > maxBytes) {
    throw new CodexError(
      ErrorCodes.INPUT_TOO_LARGE,
      `execution input is ${size} bytes; the limit is ${maxBytes} bytes`,
      {
        issues: [{ message: `${size} > ${maxBytes} bytes` }],
      },
    );
  }
}
