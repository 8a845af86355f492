import { errorMessage } from './error-message.js';
import { RunnerError } from './runner.js';

/**
 * Decodes a runner's protobuf settings or job arguments with a generated codec (`HttpRequestArgs`, ...).
 * Undecodable bytes are a fatal error: retrying the same bytes will not help. `message` names the expected message
 * for the error text.
 */
export function decodeRunnerMessage<T>(message: string, codec: { decode(bytes: Uint8Array): T }, bytes: Uint8Array): T {
  try {
    return codec.decode(bytes);
  } catch (error) {
    throw new RunnerError(`invalid ${message} bytes: ${errorMessage(error)}`, 'fatal', [], { cause: error });
  }
}
