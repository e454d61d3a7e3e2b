export { FakeServer, serverTokens, mulberry32, type FaultKind, type FaultOptions, type FakeServerOptions, type RecordedRequest, type FakeAnswer, type FakeToolCall, type ParsedCall } from './http.js';
export { startFakeOpenAI } from './openai.js';
export { startFakeAnthropic } from './anthropic.js';
export { startFakeGemini } from './gemini.js';
