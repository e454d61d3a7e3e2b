export { startFakeAnthropic } from './anthropic.js';
export { startFakeGemini } from './gemini.js';
export {
  type FakeAnswer,
  FakeServer,
  type FakeServerOptions,
  type FakeToolCall,
  type FaultKind,
  type FaultOptions,
  mulberry32,
  type ParsedCall,
  type RecordedRequest,
  serverTokens,
} from './http.js';
export { startFakeOpenAI } from './openai.js';
