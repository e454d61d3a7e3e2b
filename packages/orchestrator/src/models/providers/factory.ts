import { CodexError, ErrorCodes } from '../../errors.js';
import type { ProviderConfig } from '../config.js';
import { LocalProvider } from '../local-provider.js';
import type { Redactor } from '../redact.js';
import type { ModelProvider } from '../types.js';
import { AnthropicProvider } from './anthropic.js';
import { GoogleProvider } from './google.js';
import { OpenAIProvider } from './openai.js';

export type Env = Record<string, string | undefined>;

const ENV_KEYS: Record<string, { key: string[]; base: string }> = {
  openai: { key: ['OPENAI_API_KEY'], base: 'OPENAI_BASE_URL' },
  anthropic: { key: ['ANTHROPIC_API_KEY'], base: 'ANTHROPIC_BASE_URL' },
  google: { key: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'], base: 'GEMINI_BASE_URL' },
};

/**
 * Builds the providers that config and environment make usable: a built-in provider exists when it has a key or
 * a base URL; every other configured id is an OpenAI-compatible endpoint (or the `type` it names). `local` is
 * always present. Every key is registered with the redactor before any call can fail.
 */
export function createProviders(
  configs: Record<string, ProviderConfig>,
  env: Env,
  redactor: Redactor,
): ModelProvider[] {
  const out: ModelProvider[] = [new LocalProvider()];
  const ids = new Set([...Object.keys(ENV_KEYS), ...Object.keys(configs)]);
  for (const id of ids) {
    if (id === 'local') continue;
    const cfg = configs[id];
    if (cfg && cfg.enabled === false) continue;
    const envSpec = ENV_KEYS[id];
    const apiKey = cfg?.apiKey ?? envSpec?.key.map((k) => env[k]).find((v) => v);
    const baseURL = cfg?.baseURL ?? (envSpec ? env[envSpec.base] : undefined);
    redactor.add(apiKey);
    const type = cfg?.type ?? (envSpec ? (id as 'openai' | 'anthropic' | 'google') : 'openai-compatible');
    if (type === 'local') continue;
    if (!apiKey && !baseURL) {
      if (envSpec) continue; // built-in provider not configured: simply unavailable
      throw new CodexError(ErrorCodes.CONFIG_INVALID, `Provider '${id}' needs a baseURL (OpenAI-compatible endpoint)`, {
        issues: [{ path: `models.providers.${id}.baseURL`, message: 'required for custom providers' }],
      });
    }
    const common = { id, apiKey, baseURL, headers: cfg?.headers };
    if (type === 'anthropic') out.push(new AnthropicProvider(common));
    else if (type === 'google') out.push(new GoogleProvider(common));
    else out.push(new OpenAIProvider({ ...common, flavour: type === 'openai' ? 'openai' : 'compatible' }));
  }
  return out;
}
