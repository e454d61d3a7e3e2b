// The checks an execution's input passes before a run starts: safe to store, and within the size limit.
import { CodexError, ErrorCodes } from './errors.js';
import { encodeValue } from './store/codec.js';
import { assertSafeValue } from './workflow/load.js';

/**
 * Refuses an input that cannot be stored exactly or is larger than `maxBytes` (as stored), with a CodexError;
 * answers its stored encoding (the stores write these bytes rather than encoding the input again).
 */
export function checkExecutionInput(input: unknown, maxBytes: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    assertSafeValue(input, 'execution input', '$input');
    // Measured in the stored encoding: the input must round-trip through every store exactly (store/codec.ts).
    bytes = encodeValue(input, 'execution input');
  } catch (err) {
    // A Proxy trap or a getter that throws while the input is read.
    if (err instanceof CodexError) throw err;
    throw new CodexError(
      ErrorCodes.INPUT_INVALID,
      `execution input could not be read: ${(err as Error)?.message ?? String(err)}`,
      { cause: err },
    );
  }
  const size = bytes.length;
  if (size > maxBytes) {
    throw new CodexError(
      ErrorCodes.INPUT_TOO_LARGE,
      `execution input is ${size} bytes; the limit is ${maxBytes} bytes`,
      {
        issues: [{ message: `${size} > ${maxBytes} bytes` }],
      },
    );
  }
  return bytes;
}
