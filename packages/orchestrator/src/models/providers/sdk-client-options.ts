/** Connection settings every SDK-backed provider takes. */
export interface SdkConnection {
  apiKey?: string;
  baseURL?: string;
  headers?: Record<string, string>;
}

/**
 * Client options for the official OpenAI and Anthropic SDKs. Retries, timeouts and rate limits belong to the
 * model layer, which sees every provider, so the SDK's own are switched off.
 */
export function sdkClientOptions(c: SdkConnection, defaultBaseURL: string) {
  return {
    // Local servers (Ollama, llama.cpp) take no key, but the SDKs insist on one.
    apiKey: c.apiKey ?? 'no-key',
    baseURL: c.baseURL ?? defaultBaseURL,
    defaultHeaders: c.headers,
    maxRetries: 0,
    timeout: 24 * 3600_000,
  };
}
