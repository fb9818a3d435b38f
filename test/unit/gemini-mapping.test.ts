/** OpenAI batch JSONL <-> Gemini Developer API batches: one row per translation rule of src/providers/gemini/mapping.ts. */
import {
  GEMINI_MAX_INLINE_BYTES,
  GEMINI_REQUIRES_SINGLE_MODEL,
  GEMINI_STATUS_MAP,
  RequestMappingError,
  SKIP_THOUGHT_SIGNATURE,
  checkGeminiRequest,
  errorStatusCode,
  fileRequestLine,
  geminiBatchStatus,
  geminiModelName,
  geminiRequestCounts,
  geminiSentBytes,
  inlinedRequest,
  inlinedResponseKey,
  sdkInlinedRequest,
  toGeminiRequest,
  toOpenAIResultLine,
  type BatchStats,
  type Candidate,
  type GeminiMappingOptions,
  type GenerateContentRequest,
  type GenerateContentResponse,
  type Status,
} from '../../src/providers/gemini/mapping';

type Json = Record<string, unknown>;

const MODEL = 'gemini-2.5-flash';
const HI = { role: 'user', content: 'hi' };
const G_HI = { role: 'user', parts: [{ text: 'hi' }] };
const BASE_REQUEST = { contents: [G_HI] };

function body(extra: Json = {}): Json {
  return { model: MODEL, messages: [HI], ...extra };
}

/** The error toGeminiRequest throws for `b` (fails the test if it does not throw one). */
function mappingError(b: Json, opts?: GeminiMappingOptions): RequestMappingError {
  try {
    toGeminiRequest(b, opts);
  } catch (err) {
    if (err instanceof RequestMappingError) return err;
    throw err;
  }
  throw new Error('expected a RequestMappingError');
}

/** Warning fields (the text before the first ': '). */
function warningFields(warnings: string[]): string[] {
  return warnings.map((w) => w.slice(0, w.indexOf(': ')));
}

const PARAMS = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
const TOOL = { type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters: PARAMS } };
const NOW_TOOL = { type: 'function', function: { name: 'now' } };
const G_WEATHER = { name: 'get_weather', description: 'Weather now', parametersJsonSchema: PARAMS };
const G_NOW = { name: 'now' };
const G_TOOLS = [{ functionDeclarations: [G_WEATHER] }];

// ---------------------------------------------------------------------------------------------------------------
// Request fields

describe('request fields', () => {
  // [behaviour, request extra fields, options, request expected on top of BASE_REQUEST, warning fields]
  test.each<[string, Json, GeminiMappingOptions, Json, string[]]>([
    ['a plain request is contents only', {}, {}, {}, []],
    ['max_completion_tokens becomes maxOutputTokens', { max_completion_tokens: 300 }, {}, { generationConfig: { maxOutputTokens: 300 } }, []],
    ['max_tokens becomes maxOutputTokens', { max_tokens: 200 }, {}, { generationConfig: { maxOutputTokens: 200 } }, []],
    ['max_completion_tokens wins over max_tokens', { max_completion_tokens: 300, max_tokens: 200 }, {}, { generationConfig: { maxOutputTokens: 300 } }, []],
    ['no token limit sets none (Gemini applies its own)', { max_tokens: null }, {}, {}, []],
    ['a stop string becomes stopSequences', { stop: 'END' }, {}, { generationConfig: { stopSequences: ['END'] } }, []],
    ['a stop array becomes stopSequences', { stop: ['a', 'b'] }, {}, { generationConfig: { stopSequences: ['a', 'b'] } }, []],
    ['five stop sequences are allowed', { stop: ['1', '2', '3', '4', '5'] }, {}, { generationConfig: { stopSequences: ['1', '2', '3', '4', '5'] } }, []],
    ['an empty stop array sets nothing', { stop: [] }, {}, {}, []],
    ['temperature passes through', { temperature: 0.7 }, {}, { generationConfig: { temperature: 0.7 } }, []],
    ['temperature 2 (OpenAI and Gemini maximum) passes', { temperature: 2 }, {}, { generationConfig: { temperature: 2 } }, []],
    ['top_p becomes topP', { top_p: 0.9 }, {}, { generationConfig: { topP: 0.9 } }, []],
    ['n > 1 becomes candidateCount', { n: 3 }, {}, { generationConfig: { candidateCount: 3 } }, []],
    ['n = 1 is the default and sets nothing', { n: 1 }, {}, {}, []],
    ['seed passes through', { seed: 42 }, {}, { generationConfig: { seed: 42 } }, []],
    ['presence_penalty becomes presencePenalty', { presence_penalty: 0.5 }, {}, { generationConfig: { presencePenalty: 0.5 } }, []],
    ['frequency_penalty becomes frequencyPenalty', { frequency_penalty: -0.5 }, {}, { generationConfig: { frequencyPenalty: -0.5 } }, []],
    ['logprobs true becomes responseLogprobs', { logprobs: true }, {}, { generationConfig: { responseLogprobs: true } }, []],
    ['top_logprobs becomes logprobs', { logprobs: true, top_logprobs: 5 }, {}, { generationConfig: { responseLogprobs: true, logprobs: 5 } }, []],
    ['logprobs false sets nothing', { logprobs: false }, {}, {}, []],
    ['response_format text sets nothing', { response_format: { type: 'text' } }, {}, {}, []],
    ['response_format json_object is JSON mode', { response_format: { type: 'json_object' } }, {}, { generationConfig: { responseMimeType: 'application/json' } }, []],
    [
      'response_format json_schema is JSON mode with responseJsonSchema (name and strict are not sent)',
      { response_format: { type: 'json_schema', json_schema: { name: 'x', strict: true, schema: PARAMS } } },
      {},
      { generationConfig: { responseMimeType: 'application/json', responseJsonSchema: PARAMS } },
      [],
    ],
    [
      'additionalProperties is kept in a response schema (Gemini reads it)',
      { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { ...PARAMS, additionalProperties: false } } } },
      {},
      { generationConfig: { responseMimeType: 'application/json', responseJsonSchema: { ...PARAMS, additionalProperties: false } } },
      [],
    ],
    [
      'unsupported response schema keywords are dropped with one warning',
      { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { $schema: 'https://json-schema.org/draft/2020-12/schema', ...PARAMS } } } },
      {},
      { generationConfig: { responseMimeType: 'application/json', responseJsonSchema: PARAMS } },
      ['body.response_format.json_schema.schema'],
    ],
    ['reasoning_effort none is a thinking budget of 0', { reasoning_effort: 'none' }, {}, { generationConfig: { thinkingConfig: { thinkingBudget: 0 } } }, []],
    ['reasoning_effort minimal is 512', { reasoning_effort: 'minimal' }, {}, { generationConfig: { thinkingConfig: { thinkingBudget: 512 } } }, []],
    ['reasoning_effort low is 1024', { reasoning_effort: 'low' }, {}, { generationConfig: { thinkingConfig: { thinkingBudget: 1024 } } }, []],
    ['reasoning_effort medium is 8192', { reasoning_effort: 'medium' }, {}, { generationConfig: { thinkingConfig: { thinkingBudget: 8192 } } }, []],
    ['reasoning_effort high is 24576', { reasoning_effort: 'high' }, {}, { generationConfig: { thinkingConfig: { thinkingBudget: 24576 } } }, []],
    [
      'several generation fields share one generationConfig',
      { max_tokens: 100, temperature: 0, top_p: 1, stop: 'x', seed: 7 },
      {},
      { generationConfig: { maxOutputTokens: 100, temperature: 0, topP: 1, stopSequences: ['x'], seed: 7 } },
      [],
    ],
    ['function tools become one tool of functionDeclarations', { tools: [TOOL] }, {}, { tools: G_TOOLS }, []],
    [
      'a tool without parameters has no parametersJsonSchema',
      { tools: [TOOL, NOW_TOOL] },
      {},
      { tools: [{ functionDeclarations: [G_WEATHER, G_NOW] }] },
      [],
    ],
    ['an empty tools array sends no tools', { tools: [] }, {}, {}, []],
    [
      'tool strict is dropped with a warning',
      { tools: [{ ...TOOL, function: { ...TOOL.function, strict: true } }] },
      {},
      { tools: G_TOOLS },
      ['body.tools[].function.strict'],
    ],
    [
      'additionalProperties is kept in tool parameters',
      { tools: [{ ...TOOL, function: { ...TOOL.function, parameters: { ...PARAMS, additionalProperties: false } } }] },
      {},
      { tools: [{ functionDeclarations: [{ ...G_WEATHER, parametersJsonSchema: { ...PARAMS, additionalProperties: false } }] }] },
      [],
    ],
    [
      'unsupported tool parameter keywords are dropped with one warning for all tools',
      {
        tools: [
          { ...TOOL, function: { ...TOOL.function, parameters: { $schema: 'x', ...PARAMS } } },
          { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { s: { type: 'string', pattern: '^a' } } } } },
        ],
      },
      {},
      { tools: [{ functionDeclarations: [G_WEATHER, { name: 'f', parametersJsonSchema: { type: 'object', properties: { s: { type: 'string' } } } }] }] },
      ['body.tools[].function.parameters'],
    ],
    ["tool_choice 'auto' is mode AUTO", { tools: [TOOL], tool_choice: 'auto' }, {}, { tools: G_TOOLS, toolConfig: { functionCallingConfig: { mode: 'AUTO' } } }, []],
    ["tool_choice 'none' is mode NONE", { tools: [TOOL], tool_choice: 'none' }, {}, { tools: G_TOOLS, toolConfig: { functionCallingConfig: { mode: 'NONE' } } }, []],
    ["tool_choice 'none' without tools sets nothing", { tool_choice: 'none' }, {}, {}, []],
    ["tool_choice 'required' is mode ANY", { tools: [TOOL], tool_choice: 'required' }, {}, { tools: G_TOOLS, toolConfig: { functionCallingConfig: { mode: 'ANY' } } }, []],
    [
      'a named function tool_choice is mode ANY with allowedFunctionNames',
      { tools: [TOOL, NOW_TOOL], tool_choice: { type: 'function', function: { name: 'now' } } },
      {},
      { tools: [{ functionDeclarations: [G_WEATHER, G_NOW] }], toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['now'] } } },
      [],
    ],
    [
      'allowed_tools required is mode ANY with allowedFunctionNames',
      {
        tools: [TOOL, NOW_TOOL],
        tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'get_weather' } }] } },
      },
      {},
      { tools: [{ functionDeclarations: [G_WEATHER, G_NOW] }], toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } } },
      [],
    ],
    [
      'allowed_tools auto is mode AUTO over only the allowed declarations',
      {
        tools: [TOOL, NOW_TOOL],
        tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'now' } }] } },
      },
      {},
      { tools: [{ functionDeclarations: [G_NOW] }], toolConfig: { functionCallingConfig: { mode: 'AUTO' } } },
      [],
    ],
    ['parallel_tool_calls true is what Gemini does: no warning', { tools: [TOOL], parallel_tool_calls: true }, {}, { tools: G_TOOLS }, []],
    ['parallel_tool_calls false is dropped with a warning', { tools: [TOOL], parallel_tool_calls: false }, {}, { tools: G_TOOLS }, ['body.parallel_tool_calls']],
    [
      'safetySettings (a mapping option) are sent on the request',
      {},
      { safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_ONLY_HIGH' }] },
      { safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_ONLY_HIGH' }] },
      [],
    ],
    ['empty safetySettings send nothing', {}, { safetySettings: [] }, {}, []],
    ['stream false is accepted silently', { stream: false }, {}, {}, []],
    ['null optional fields are treated as absent', { seed: null, stop: null, temperature: null, tools: null, user: null, n: null }, {}, {}, []],
    ...(
      [
        ['user', 'u-1'],
        ['safety_identifier', 's-1'],
        ['prompt_cache_key', 'k'],
        ['logit_bias', { '50256': -100 }],
        ['prediction', { type: 'content', content: 'x' }],
        ['audio', { voice: 'alloy', format: 'mp3' }],
        ['modalities', ['text']],
        ['store', true],
        ['metadata', { job: 'x' }],
        ['service_tier', 'flex'],
        ['stream_options', { include_usage: true }],
        ['web_search_options', {}],
        ['verbosity', 'low'],
      ] as Array<[string, unknown]>
    ).map(([field, value]): [string, Json, GeminiMappingOptions, Json, string[]] => [
      `${field} has no equivalent and is dropped with a warning`,
      { [field]: value },
      {},
      {},
      [`body.${field}`],
    ]),
    ['top_k is not an OpenAI field: dropped with a warning, not passed through', { top_k: 5 }, {}, {}, ['body.top_k']],
    ['an unknown field is dropped with a warning', { frobnicate: 1 }, {}, {}, ['body.frobnicate']],
  ])('%s', (_name, extra, opts, expected, warnings) => {
    const mapped = toGeminiRequest(body(extra), opts);
    expect(mapped.request).toEqual({ ...BASE_REQUEST, ...expected });
    expect(warningFields(mapped.warnings)).toEqual(warnings);
  });

  test('the model is the batch-level models/<id> and is not part of the request', () => {
    const mapped = toGeminiRequest(body());
    expect(mapped.model).toBe('models/gemini-2.5-flash');
    expect(mapped.request).not.toHaveProperty('model');
    expect(GEMINI_REQUIRES_SINGLE_MODEL).toBe(true);
  });

  test('a dropped field warning names the field', () => {
    expect(toGeminiRequest(body({ user: 'u' })).warnings).toEqual(['body.user: no Gemini equivalent; dropped']);
  });

  test('the schema warning names the dropped keywords', () => {
    const schema = { type: 'object', $schema: 'x', properties: { a: { type: 'string', minLength: 1, default: 'q' } } };
    expect(toGeminiRequest(body({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } })).warnings).toEqual([
      'body.response_format.json_schema.schema: JSON Schema keywords Gemini does not support were dropped: $schema, default, minLength',
    ]);
  });

  test('each field is warned about once, however often it appears', () => {
    const strictTool = (name: string) => ({ type: 'function', function: { name, strict: true } });
    const { warnings } = toGeminiRequest(
      body({
        messages: [
          { role: 'user', content: 'a', name: 'ann' },
          { role: 'assistant', content: 'b', name: 'bot' },
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/a.png', detail: 'low' } }, { type: 'image_url', image_url: { url: 'https://x/b.png', detail: 'high' } }], name: 'ann' },
        ],
        tools: [strictTool('x'), strictTool('y')],
        user: 'u',
        store: true,
      }),
    );
    expect(warningFields(warnings).sort()).toEqual(
      ['body.messages[].name', 'body.messages[].content[].image_url.detail', 'body.tools[].function.strict', 'body.user', 'body.store'].sort(),
    );
  });

  test('the input body is not modified', () => {
    const schema = { $schema: 'x', definitions: { a: { const: 'q' } }, ...PARAMS };
    const b = body({
      tools: [{ ...TOOL, function: { ...TOOL.function, parameters: schema } }],
      messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }],
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema } },
    });
    const before = JSON.stringify(b);
    toGeminiRequest(b);
    expect(JSON.stringify(b)).toBe(before);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// JSON Schema subset

describe('JSON Schema keywords', () => {
  const responseSchema = (schema: Json) =>
    toGeminiRequest(body({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } })).request.generationConfig?.responseJsonSchema;

  // [behaviour, schema sent, schema Gemini gets]
  test.each<[string, Json, Json]>([
    [
      'every supported keyword is kept',
      {
        $id: 'id', $anchor: 'a', type: ['object', 'null'], title: 't', description: 'd', properties: { n: { type: 'integer', minimum: 0, maximum: 9, format: 'int32' } },
        required: ['n'], additionalProperties: { type: 'string' }, propertyOrdering: ['n'],
      },
      {
        $id: 'id', $anchor: 'a', type: ['object', 'null'], title: 't', description: 'd', properties: { n: { type: 'integer', minimum: 0, maximum: 9, format: 'int32' } },
        required: ['n'], additionalProperties: { type: 'string' }, propertyOrdering: ['n'],
      },
    ],
    [
      'arrays keep items, prefixItems, minItems and maxItems, and nested schemas are cleaned',
      { type: 'array', items: { type: 'string', maxLength: 3 }, prefixItems: [{ type: 'number', multipleOf: 2 }], minItems: 1, maxItems: 4, uniqueItems: true },
      { type: 'array', items: { type: 'string' }, prefixItems: [{ type: 'number' }], minItems: 1, maxItems: 4 },
    ],
    [
      'anyOf and oneOf are kept and cleaned; allOf and not are dropped',
      { anyOf: [{ type: 'string', pattern: 'x' }, { type: 'null' }], oneOf: [{ type: 'integer', exclusiveMinimum: 0 }], allOf: [{ type: 'string' }], not: { type: 'number' } },
      { anyOf: [{ type: 'string' }, { type: 'null' }], oneOf: [{ type: 'integer' }] },
    ],
    [
      'definitions become $defs and #/definitions/ references follow',
      { type: 'object', properties: { a: { $ref: '#/definitions/A' } }, definitions: { A: { type: 'string', examples: ['x'] } } },
      { type: 'object', properties: { a: { $ref: '#/$defs/A' } }, $defs: { A: { type: 'string' } } },
    ],
    ['$defs and $ref are kept', { $defs: { B: { type: 'integer' } }, $ref: '#/$defs/B' }, { $defs: { B: { type: 'integer' } }, $ref: '#/$defs/B' }],
    ['a string const becomes a one-value enum', { type: 'string', const: 'fixed' }, { type: 'string', enum: ['fixed'] }],
    ['a number const becomes a one-value enum', { type: 'number', const: 3 }, { type: 'number', enum: [3] }],
    ['a property named like an unsupported keyword is kept', { type: 'object', properties: { pattern: { type: 'string' }, default: { type: 'string' } } }, { type: 'object', properties: { pattern: { type: 'string' }, default: { type: 'string' } } }],
    ['boolean schemas are kept', { type: 'object', properties: { any: true }, additionalProperties: false }, { type: 'object', properties: { any: true }, additionalProperties: false }],
  ])('%s', (_name, schema, expected) => {
    expect(responseSchema(schema)).toEqual(expected);
  });

  // [behaviour, schema, dropped keywords named in the warning]
  test.each<[string, Json, string]>([
    ['$schema', { $schema: 'x', type: 'string' }, '$schema'],
    ['string constraints', { type: 'string', pattern: 'a', minLength: 1, maxLength: 2 }, 'maxLength, minLength, pattern'],
    ['defaults and examples', { type: 'string', default: 'a', examples: ['b'] }, 'default, examples'],
    ['a const that is not a string or number', { type: 'boolean', const: true }, 'const'],
    ['a const next to an enum', { type: 'string', enum: ['a'], const: 'a' }, 'const'],
  ])('dropped: %s', (_name, schema, named) => {
    const { warnings } = toGeminiRequest(body({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } }));
    expect(warnings).toEqual([`body.response_format.json_schema.schema: JSON Schema keywords Gemini does not support were dropped: ${named}`]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Requests that cannot be translated

describe('requests that cannot be translated', () => {
  const callTurn = (args: string) => ({
    role: 'assistant',
    content: null,
    tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: args } }],
  });
  const answered = (args: string) => [HI, callTurn(args), { role: 'tool', tool_call_id: 'call_1', content: 'x' }];
  const imageMessage = (url: string) => ({ role: 'user', content: [{ type: 'image_url', image_url: { url } }] });

  // [behaviour, request extra fields, error field, message pattern]
  test.each<[string, Json, string, RegExp]>([
    ['stream true is rejected', { stream: true }, 'body.stream', /stream: true is not allowed in a batch/],
    ['a non-boolean stream is rejected', { stream: 'yes' }, 'body.stream', /boolean/],
    ['deprecated functions are rejected', { functions: [{ name: 'f' }] }, 'body.functions', /use tools/],
    ['deprecated function_call is rejected', { function_call: 'auto' }, 'body.function_call', /use tools/],
    ['a missing model is rejected', { model: undefined }, 'body.model', /string/],
    ['an empty model is rejected', { model: '' }, 'body.model', /empty/],
    ['a Vertex model path is rejected', { model: 'publishers/google/models/gemini-2.5-flash' }, 'body.model', /not a Gemini model name/],
    ['a tuned model is rejected', { model: 'tunedModels/my-model' }, 'body.model', /not a Gemini model name/],
    ['missing messages are rejected', { messages: undefined }, 'body.messages', /missing/],
    ['messages that are not an array are rejected', { messages: { role: 'user' } }, 'body.messages', /array/],
    ['an empty conversation is rejected', { messages: [] }, 'body.messages', /no user or assistant message/],
    ['a conversation of only system messages is rejected', { messages: [{ role: 'system', content: 's' }] }, 'body.messages', /no user or assistant message/],
    ['a conversation of only empty text is rejected', { messages: [{ role: 'user', content: '' }] }, 'body.messages', /no user or assistant message with content/],
    ['an unknown role is rejected', { messages: [{ role: 'function', content: 'x', name: 'f' }] }, 'body.messages[0].role', /"function"/],
    ['invalid JSON tool call arguments are rejected naming the field', { messages: answered('{"city": ') }, 'body.messages[1].tool_calls[0].function.arguments', /not valid JSON/],
    ['tool call arguments that are not a JSON object are rejected', { messages: answered('[1,2]') }, 'body.messages[1].tool_calls[0].function.arguments', /JSON object, got an array/],
    ['empty tool call arguments are rejected', { messages: answered('') }, 'body.messages[1].tool_calls[0].function.arguments', /not valid JSON/],
    [
      'a tool call id used twice in one message is rejected',
      { messages: [HI, { role: 'assistant', content: null, tool_calls: [callTurn('{}').tool_calls[0], callTurn('{}').tool_calls[0]] }] },
      'body.messages[1].tool_calls[1].id',
      /used twice/,
    ],
    [
      'an assistant function_call is rejected',
      { messages: [HI, { role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } }] },
      'body.messages[1].function_call',
      /tool_calls/,
    ],
    ['an assistant message with neither content nor tool_calls is rejected', { messages: [HI, { role: 'assistant', content: null }] }, 'body.messages[1].content', /neither content nor tool_calls/],
    ['a tool message that answers no tool call is rejected', { messages: [HI, { role: 'tool', tool_call_id: 'call_1', content: 'x' }] }, 'body.messages[1].tool_call_id', /does not answer a tool call/],
    [
      'a tool message with an unknown tool_call_id is rejected',
      { messages: [HI, callTurn('{}'), { role: 'tool', tool_call_id: 'call_9', content: 'x' }] },
      'body.messages[2].tool_call_id',
      /"call_9"/,
    ],
    [
      'a tool call answered twice is rejected',
      { messages: [...answered('{}'), { role: 'tool', tool_call_id: 'call_1', content: 'y' }] },
      'body.messages[3].tool_call_id',
      /answered twice/,
    ],
    ['a tool call without its tool message is rejected (at the end)', { messages: [HI, callTurn('{}')] }, 'body.messages[1].tool_calls', /"call_1" has no tool message/],
    [
      'a tool call without its tool message is rejected (before the next user message)',
      { messages: [HI, callTurn('{}'), { role: 'user', content: 'and?' }] },
      'body.messages[1].tool_calls',
      /"call_1" has no tool message/,
    ],
    [
      'a conversation starting with an assistant tool call is rejected',
      { messages: [{ role: 'system', content: 's' }, callTurn('{}'), { role: 'tool', tool_call_id: 'call_1', content: 'x' }] },
      'body.messages[1]',
      /user turn before a function call/,
    ],
    ['an image with an unsupported media type is rejected', { messages: [imageMessage('data:image/gif;base64,R0lGOD==')] }, 'body.messages[0].content[0].image_url.url', /"image\/gif" is not supported by Gemini/],
    ['a data URL that is not base64 is rejected', { messages: [imageMessage('data:image/png,abc')] }, 'body.messages[0].content[0].image_url.url', /base64/],
    ['an image URL that is neither data: nor http(s) is rejected', { messages: [imageMessage('ftp://x/y.png')] }, 'body.messages[0].content[0].image_url.url', /http/],
    [
      'an input_audio format other than wav or mp3 is rejected',
      { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'flac' } }] }] },
      'body.messages[0].content[0].input_audio.format',
      /"flac"/,
    ],
    [
      'a file part with an OpenAI file id is rejected',
      { messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }] },
      'body.messages[0].content[0].file.file_id',
      /file ids cannot be sent to Gemini/,
    ],
    [
      'a file part of bare base64 with an unknown type is rejected',
      { messages: [{ role: 'user', content: [{ type: 'file', file: { file_data: 'AAAA', filename: 'x.bin' } }] }] },
      'body.messages[0].content[0].file.file_data',
      /data: URL/,
    ],
    [
      'an unknown content part type is rejected',
      { messages: [{ role: 'user', content: [{ type: 'video_url', video_url: { url: 'https://x/v.mp4' } }] }] },
      'body.messages[0].content[0].type',
      /"video_url"/,
    ],
    [
      'a non-text part in a system message is rejected',
      { messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }, HI] },
      'body.messages[0].content[0].type',
      /"text"/,
    ],
    ['a non-function tool is rejected', { tools: [{ type: 'custom', custom: { name: 'x' } }] }, 'body.tools[0].type', /"custom"/],
    [
      'a function name Gemini refuses (leading digit) is rejected',
      { tools: [{ type: 'function', function: { name: '1st' } }] },
      'body.tools[0].function.name',
      /not valid for Gemini/,
    ],
    ['a function declared twice is rejected', { tools: [TOOL, TOOL] }, 'body.tools[1].function.name', /declared twice/],
    ['an unknown tool_choice string is rejected', { tools: [TOOL], tool_choice: 'sometimes' }, 'body.tool_choice', /"sometimes"/],
    ['tool_choice required without tools is rejected', { tool_choice: 'required' }, 'body.tool_choice', /needs body.tools/],
    [
      'a named tool_choice of an undeclared function is rejected',
      { tools: [TOOL], tool_choice: { type: 'function', function: { name: 'other' } } },
      'body.tool_choice.function.name',
      /not in body.tools/,
    ],
    [
      'an allowed_tools mode other than auto or required is rejected',
      { tools: [TOOL], tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'sometimes', tools: [{ type: 'function', function: { name: 'get_weather' } }] } } },
      'body.tool_choice.allowed_tools.mode',
      /"sometimes"/,
    ],
    ['a custom tool_choice is rejected', { tools: [TOOL], tool_choice: { type: 'custom', custom: { name: 'x' } } }, 'body.tool_choice.type', /"custom"/],
    ['more than 5 stop sequences are rejected', { stop: ['1', '2', '3', '4', '5', '6'] }, 'body.stop', /6 sequences; Gemini takes at most 5/],
    ['a stop that is not a string or strings is rejected', { stop: [1] }, 'body.stop', /string/],
    ['max_tokens 0 is rejected', { max_tokens: 0 }, 'body.max_tokens', /positive integer/],
    ['a fractional max_completion_tokens is rejected', { max_completion_tokens: 10.5 }, 'body.max_completion_tokens', /positive integer/],
    ['a string max_tokens is rejected', { max_tokens: '100' }, 'body.max_tokens', /number/],
    ['a negative temperature is rejected', { temperature: -0.1 }, 'body.temperature', /from 0 to 2/],
    ['a temperature above 2 is rejected', { temperature: 2.5 }, 'body.temperature', /from 0 to 2/],
    ['a top_p above 1 is rejected', { top_p: 1.5 }, 'body.top_p', /from 0 to 1/],
    ['n = 0 is rejected', { n: 0 }, 'body.n', /positive integer/],
    ['a fractional seed is rejected', { seed: 1.5 }, 'body.seed', /integer/],
    ['a penalty out of range is rejected', { presence_penalty: 3 }, 'body.presence_penalty', /from -2 to 2/],
    ['top_logprobs without logprobs is rejected', { top_logprobs: 3 }, 'body.top_logprobs', /needs logprobs: true/],
    ['top_logprobs above 20 is rejected', { logprobs: true, top_logprobs: 21 }, 'body.top_logprobs', /from 0 to 20/],
    ['a non-boolean logprobs is rejected', { logprobs: 1 }, 'body.logprobs', /boolean/],
    ['an unsupported reasoning_effort is rejected', { reasoning_effort: 'xhigh' }, 'body.reasoning_effort', /"xhigh"/],
    ['a json_schema without a schema is rejected', { response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, 'body.response_format.json_schema.schema', /object/],
    ['an unknown response_format type is rejected', { response_format: { type: 'grammar' } }, 'body.response_format.type', /"grammar"/],
    ['a non-boolean parallel_tool_calls is rejected', { parallel_tool_calls: 'no' }, 'body.parallel_tool_calls', /boolean/],
  ])('%s', (_name, extra, field, message) => {
    const err = mappingError(body(extra));
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
    expect(err.name).toBe('RequestMappingError');
  });

  test('bad safetySettings options are a usage error, not a line problem', () => {
    expect(() => toGeminiRequest(body(), { safetySettings: [{ category: 'X' }] as never })).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Messages

describe('messages', () => {
  const tc = (id: string, name: string, args: Json) => ({ id, type: 'function', function: { name, arguments: JSON.stringify(args) } });
  const call = (name: string, args: Json, signature?: string) => ({ functionCall: { name, args }, ...(signature ? { thoughtSignature: signature } : {}) });
  const answer = (name: string, output: unknown) => ({ functionResponse: { name, response: { output } } });

  // [behaviour, OpenAI messages, expected systemInstruction (undefined = absent), expected contents]
  test.each<[string, Json[], unknown, Json[]]>([
    ['a system message becomes systemInstruction', [{ role: 'system', content: 'Be brief.' }, HI], { parts: [{ text: 'Be brief.' }] }, [G_HI]],
    ['a developer message becomes systemInstruction', [{ role: 'developer', content: 'Use French.' }, HI], { parts: [{ text: 'Use French.' }] }, [G_HI]],
    [
      'system and developer messages anywhere become one systemInstruction, one part each',
      [{ role: 'system', content: 'A' }, HI, { role: 'assistant', content: 'ok' }, { role: 'developer', content: [{ type: 'text', text: 'B' }, { type: 'text', text: 'C' }] }, { role: 'user', content: 'again' }],
      { parts: [{ text: 'A' }, { text: 'B' }, { text: 'C' }] },
      [G_HI, { role: 'model', parts: [{ text: 'ok' }] }, { role: 'user', parts: [{ text: 'again' }] }],
    ],
    ['an empty system message adds nothing', [{ role: 'system', content: '' }, HI], undefined, [G_HI]],
    ['assistant becomes role model', [HI, { role: 'assistant', content: 'hello' }], undefined, [G_HI, { role: 'model', parts: [{ text: 'hello' }] }]],
    [
      'user text parts become text parts',
      [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }],
      undefined,
      [{ role: 'user', parts: [{ text: 'a' }, { text: 'b' }] }],
    ],
    [
      'a data URL image becomes inlineData',
      [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }],
      undefined,
      [{ role: 'user', parts: [{ text: 'what is this?' }, { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }] }],
    ],
    ...(['image/png', 'image/jpeg', 'image/webp', 'image/heic', 'image/heif'].map((mimeType): [string, Json[], unknown, Json[]] => [
      `a ${mimeType} data URL is accepted`,
      [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:${mimeType};base64,AAAA` } }] }],
      undefined,
      [{ role: 'user', parts: [{ inlineData: { mimeType, data: 'AAAA' } }] }],
    ])),
    ...(
      [
        ['https://example.com/cat.png', 'image/png'],
        ['https://example.com/cat.JPG', 'image/jpeg'],
        ['https://example.com/cat.jpeg?size=large#x', 'image/jpeg'],
        ['http://example.com/a/b/cat.webp', 'image/webp'],
        ['https://example.com/cat.heic', 'image/heic'],
        ['https://example.com/cat.heif', 'image/heif'],
        ['https://example.com/render?id=7', 'image/jpeg'],
        ['https://example.com/cat.gif', 'image/jpeg'],
      ] as Array<[string, string]>
    ).map(([url, mimeType]): [string, Json[], unknown, Json[]] => [
      `an http(s) image URL ${url} becomes fileData with mime type ${mimeType}`,
      [{ role: 'user', content: [{ type: 'image_url', image_url: { url, detail: 'auto' } }] }],
      undefined,
      [{ role: 'user', parts: [{ fileData: { fileUri: url, mimeType } }] }],
    ]),
    [
      'input_audio becomes inlineData',
      [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }, { type: 'input_audio', input_audio: { data: 'SUQz', format: 'mp3' } }] }],
      undefined,
      [{ role: 'user', parts: [{ inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } }, { inlineData: { mimeType: 'audio/mp3', data: 'SUQz' } }] }],
    ],
    [
      'a file part with a data URL becomes inlineData',
      [{ role: 'user', content: [{ type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } }] }],
      undefined,
      [{ role: 'user', parts: [{ inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } }] }],
    ],
    [
      'a file part of bare base64 takes its type from the filename',
      [{ role: 'user', content: [{ type: 'file', file: { filename: 'report.PDF', file_data: 'JVBERi0=' } }] }],
      undefined,
      [{ role: 'user', parts: [{ inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } }] }],
    ],
    [
      'consecutive user messages are merged into one turn',
      [{ role: 'user', content: 'a' }, { role: 'user', content: [{ type: 'text', text: 'b' }] }],
      undefined,
      [{ role: 'user', parts: [{ text: 'a' }, { text: 'b' }] }],
    ],
    [
      'consecutive assistant messages are merged into one turn',
      [HI, { role: 'assistant', content: 'a' }, { role: 'assistant', content: 'b' }],
      undefined,
      [G_HI, { role: 'model', parts: [{ text: 'a' }, { text: 'b' }] }],
    ],
    [
      'a system message between two user messages does not split their turn',
      [{ role: 'user', content: 'a' }, { role: 'system', content: 's' }, { role: 'user', content: 'b' }],
      { parts: [{ text: 's' }] },
      [{ role: 'user', parts: [{ text: 'a' }, { text: 'b' }] }],
    ],
    [
      'empty text (a string or a part) adds nothing',
      [{ role: 'user', content: [{ type: 'text', text: '' }, { type: 'text', text: 'a' }] }, { role: 'assistant', content: '' }, { role: 'user', content: 'b' }],
      undefined,
      [{ role: 'user', parts: [{ text: 'a' }, { text: 'b' }] }],
    ],
    [
      'assistant tool_calls become functionCall parts after the text; the first carries the skip signature',
      [
        HI,
        { role: 'assistant', content: 'Let me look.', tool_calls: [tc('call_1', 'get_weather', { city: 'Paris' }), tc('call_2', 'now', {})] },
        { role: 'tool', tool_call_id: 'call_1', content: '18C' },
        { role: 'tool', tool_call_id: 'call_2', content: 'noon' },
      ],
      undefined,
      [
        G_HI,
        { role: 'model', parts: [{ text: 'Let me look.' }, call('get_weather', { city: 'Paris' }, SKIP_THOUGHT_SIGNATURE), call('now', {})] },
        { role: 'user', parts: [answer('get_weather', '18C'), answer('now', 'noon')] },
      ],
    ],
    [
      "a call's own thought signature (extra_content.google.thought_signature) is sent back",
      [
        HI,
        { role: 'assistant', content: null, tool_calls: [{ ...tc('c1', 'now', {}), extra_content: { google: { thought_signature: 'c2lnbmVk' } } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'noon' },
      ],
      undefined,
      [G_HI, { role: 'model', parts: [call('now', {}, 'c2lnbmVk')] }, { role: 'user', parts: [answer('now', 'noon')] }],
    ],
    [
      'tool results are named after the call they answer, in the order they come',
      [
        HI,
        { role: 'assistant', content: null, tool_calls: [tc('a', 'first', {}), tc('b', 'second', {})] },
        { role: 'tool', tool_call_id: 'b', content: '2' },
        { role: 'tool', tool_call_id: 'a', content: '1' },
      ],
      undefined,
      [G_HI, { role: 'model', parts: [call('first', {}, SKIP_THOUGHT_SIGNATURE), call('second', {})] }, { role: 'user', parts: [answer('second', '2'), answer('first', '1')] }],
    ],
    [
      'a JSON object or array tool result is sent parsed; other text as it is',
      [
        HI,
        { role: 'assistant', content: null, tool_calls: [tc('a', 'obj', {}), tc('b', 'arr', {}), tc('c', 'num', {}), tc('d', 'bad', {})] },
        { role: 'tool', tool_call_id: 'a', content: ' {"temp": 18} ' },
        { role: 'tool', tool_call_id: 'b', content: [{ type: 'text', text: '[1,' }, { type: 'text', text: '2]' }] },
        { role: 'tool', tool_call_id: 'c', content: '42' },
        { role: 'tool', tool_call_id: 'd', content: '{not json' },
      ],
      undefined,
      [
        G_HI,
        { role: 'model', parts: [call('obj', {}, SKIP_THOUGHT_SIGNATURE), call('arr', {}), call('num', {}), call('bad', {})] },
        { role: 'user', parts: [answer('obj', { temp: 18 }), answer('arr', [1, 2]), answer('num', '42'), answer('bad', '{not json')] },
      ],
    ],
    [
      'tool results and a following user message share one user turn',
      [HI, { role: 'assistant', content: null, tool_calls: [tc('c1', 'now', {})] }, { role: 'tool', tool_call_id: 'c1', content: 'noon' }, { role: 'user', content: 'thanks' }],
      undefined,
      [G_HI, { role: 'model', parts: [call('now', {}, SKIP_THOUGHT_SIGNATURE)] }, { role: 'user', parts: [answer('now', 'noon'), { text: 'thanks' }] }],
    ],
    [
      'a developer message between a tool call and its result is hoisted without breaking them apart',
      [HI, { role: 'assistant', content: null, tool_calls: [tc('c1', 'now', {})] }, { role: 'developer', content: 'Answer in French.' }, { role: 'tool', tool_call_id: 'c1', content: 'noon' }],
      { parts: [{ text: 'Answer in French.' }] },
      [G_HI, { role: 'model', parts: [call('now', {}, SKIP_THOUGHT_SIGNATURE)] }, { role: 'user', parts: [answer('now', 'noon')] }],
    ],
    [
      'an assistant refusal part is kept as text',
      [HI, { role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot.' }] }],
      undefined,
      [G_HI, { role: 'model', parts: [{ text: 'I cannot.' }] }],
    ],
    ['a conversation may start with a model turn', [{ role: 'assistant', content: 'Hello!' }, HI], undefined, [{ role: 'model', parts: [{ text: 'Hello!' }] }, G_HI]],
    ['a final assistant message is kept', [HI, { role: 'assistant', content: '{' }], undefined, [G_HI, { role: 'model', parts: [{ text: '{' }] }]],
  ])('%s', (_name, messages, systemInstruction, expected) => {
    const { request } = toGeminiRequest(body({ messages }));
    expect(request.systemInstruction).toEqual(systemInstruction);
    if (systemInstruction === undefined) expect(request).not.toHaveProperty('systemInstruction');
    expect(request.contents).toEqual(expected);
  });

  test('full conversation: system, user, two tool calls, their results, a follow-up and every setting', () => {
    const { model, request, warnings } = toGeminiRequest({
      model: 'models/gemini-2.5-pro',
      max_completion_tokens: 1000,
      temperature: 0.2,
      tools: [TOOL],
      tool_choice: 'auto',
      response_format: { type: 'json_object' },
      messages: [
        { role: 'system', content: 'You are a weather bot.' },
        { role: 'user', content: 'Weather in Paris and Rome?' },
        { role: 'assistant', content: null, tool_calls: [tc('call_p', 'get_weather', { city: 'Paris' }), tc('call_r', 'get_weather', { city: 'Rome' })] },
        { role: 'tool', tool_call_id: 'call_p', content: '18C' },
        { role: 'tool', tool_call_id: 'call_r', content: [{ type: 'text', text: '24C' }] },
        { role: 'user', content: 'Which is warmer?' },
      ],
    });
    expect(warnings).toEqual([]);
    expect(model).toBe('models/gemini-2.5-pro');
    expect(request).toEqual({
      systemInstruction: { parts: [{ text: 'You are a weather bot.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'Weather in Paris and Rome?' }] },
        { role: 'model', parts: [call('get_weather', { city: 'Paris' }, SKIP_THOUGHT_SIGNATURE), call('get_weather', { city: 'Rome' })] },
        { role: 'user', parts: [answer('get_weather', '18C'), answer('get_weather', '24C'), { text: 'Which is warmer?' }] },
      ],
      tools: G_TOOLS,
      toolConfig: { functionCallingConfig: { mode: 'AUTO' } },
      generationConfig: { maxOutputTokens: 1000, temperature: 0.2, responseMimeType: 'application/json' },
    });
  });

  test('a message field with no equivalent (name) is dropped with a warning', () => {
    const { request, warnings } = toGeminiRequest(body({ messages: [{ role: 'user', content: 'hi', name: 'ann' }] }));
    expect(request.contents).toEqual([G_HI]);
    expect(warnings).toEqual(['body.messages[].name: no Gemini equivalent; dropped']);
  });

  test('image detail other than auto is dropped with a warning', () => {
    const { warnings } = toGeminiRequest(body({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/a.png', detail: 'high' } }] }] }));
    expect(warningFields(warnings)).toEqual(['body.messages[].content[].image_url.detail']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Model name, check, batch lines

describe('model name', () => {
  test.each<[string, string]>([
    ['gemini-2.5-flash', 'models/gemini-2.5-flash'],
    ['models/gemini-2.5-flash', 'models/gemini-2.5-flash'],
    ['gemini-3-pro-preview', 'models/gemini-3-pro-preview'],
    ['gemini-2.0-flash-001', 'models/gemini-2.0-flash-001'],
  ])('%s -> %s', (model, expected) => {
    expect(geminiModelName(model)).toBe(expected);
  });

  test.each([['', /empty/], ['models/', /empty/], ['gemini 2.5', /not a Gemini model name/], ['models/a/b', /not a Gemini model name/]])(
    '%j is refused',
    (model, message) => {
      expect(() => geminiModelName(model as string)).toThrow(message as RegExp);
    },
  );
});

describe('checkGeminiRequest (validation)', () => {
  test('a request that translates has no problems and carries its warnings', () => {
    expect(checkGeminiRequest(body({ user: 'u', parallel_tool_calls: false }))).toEqual({
      problems: [],
      warnings: ['body.user: no Gemini equivalent; dropped', 'body.parallel_tool_calls: Gemini cannot be kept from calling several functions at once; dropped'],
    });
  });

  test('a request that cannot be translated is one problem naming its field', () => {
    expect(checkGeminiRequest(body({ stop: ['1', '2', '3', '4', '5', '6'] }))).toEqual({
      problems: [{ field: 'body.stop', message: 'body.stop has 6 sequences; Gemini takes at most 5' }],
      warnings: [],
    });
  });

  test('an error that is not a mapping problem is thrown', () => {
    expect(() => checkGeminiRequest(body(), { safetySettings: 'all' as never })).toThrow(RangeError);
  });
});

describe('batch lines', () => {
  const request: GenerateContentRequest = toGeminiRequest(body({ temperature: 0.5 })).request;

  test('inline: {request, metadata: {key: custom_id}}', () => {
    expect(inlinedRequest('req-1', request)).toEqual({ request, metadata: { key: 'req-1' } });
  });

  test('file: one {"key", "request"} JSON line with its newline', () => {
    const line = fileRequestLine('req/1 é', request);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(JSON.parse(line)).toEqual({ key: 'req/1 é', request });
  });

  test('sent bytes: inline is the JSON and a comma; file is the line', () => {
    const inline = Buffer.byteLength(JSON.stringify({ request, metadata: { key: 'req-1é' } })) + 1;
    expect(geminiSentBytes('req-1é', request, 'inline')).toBe(inline);
    expect(geminiSentBytes('req-1é', request, 'file')).toBe(Buffer.byteLength(fileRequestLine('req-1é', request)));
  });

  test('sent bytes count UTF-8 bytes, not characters', () => {
    const wide = toGeminiRequest(body({ messages: [{ role: 'user', content: '日本語' }] })).request;
    const narrow = toGeminiRequest(body({ messages: [{ role: 'user', content: 'abc' }] })).request;
    expect(geminiSentBytes('k', wide, 'file') - geminiSentBytes('k', narrow, 'file')).toBe(6);
  });

  test('the inline limit is under 20 MB', () => {
    expect(GEMINI_MAX_INLINE_BYTES).toBeLessThanOrEqual(20 * 1024 * 1024);
  });

  test.each<[string, Json, string | undefined]>([
    ['metadata.key', { metadata: { key: 'a' } }, 'a'],
    ['metadata.custom_id', { metadata: { custom_id: 'b' } }, 'b'],
    ['key wins over custom_id', { metadata: { key: 'a', custom_id: 'b' } }, 'a'],
    ['no metadata', {}, undefined],
  ])('the custom_id of an inlined response: %s', (_name, response, key) => {
    expect(inlinedResponseKey(response)).toBe(key);
  });

  test("the SDK's inlined form flattens systemInstruction, tools and generation fields into config", () => {
    const { request: full } = toGeminiRequest(
      body({ messages: [{ role: 'system', content: 's' }, HI], tools: [TOOL], tool_choice: 'required', max_tokens: 5 }),
      { safetySettings: [{ category: 'HARM_CATEGORY_HATE_SPEECH', threshold: 'OFF' }] },
    );
    expect(sdkInlinedRequest('k', full)).toEqual({
      contents: [G_HI],
      metadata: { key: 'k' },
      config: {
        systemInstruction: { parts: [{ text: 's' }] },
        tools: G_TOOLS,
        toolConfig: { functionCallingConfig: { mode: 'ANY' } },
        safetySettings: [{ category: 'HARM_CATEGORY_HATE_SPEECH', threshold: 'OFF' }],
        maxOutputTokens: 5,
      },
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Results

function response(over: Partial<GenerateContentResponse> = {}, candidate: Partial<Candidate> = {}): GenerateContentResponse {
  return {
    candidates: [{ content: { role: 'model', parts: [{ text: 'Hello!' }] }, finishReason: 'STOP', index: 0, ...candidate }],
    usageMetadata: { promptTokenCount: 11, candidatesTokenCount: 36, totalTokenCount: 47 },
    modelVersion: 'gemini-2.5-flash',
    responseId: 'resp_01',
    ...over,
  };
}

type Body = { choices: Array<{ index: number; finish_reason: string; message: Json; logprobs: unknown }>; usage: Json } & Json;
const bodyOf = (r: GenerateContentResponse, opts = {}) => toOpenAIResultLine('orig', { response: r }, opts).response?.body as Body;

describe('results', () => {
  test('a response becomes a chat.completion output line under the custom_id', () => {
    expect(toOpenAIResultLine('my/original id', { response: response() }, { createdAt: 1727203044 })).toEqual({
      id: expect.stringMatching(/^batch_req_[0-9a-f]{32}$/),
      custom_id: 'my/original id',
      response: {
        status_code: 200,
        request_id: 'resp_01',
        body: {
          id: 'chatcmpl-resp_01',
          object: 'chat.completion',
          created: 1727203044,
          model: 'gemini-2.5-flash',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!', refusal: null }, logprobs: null, finish_reason: 'stop' }],
          usage: {
            prompt_tokens: 11,
            completion_tokens: 36,
            total_tokens: 47,
            prompt_tokens_details: { cached_tokens: 0 },
            completion_tokens_details: { reasoning_tokens: 0 },
          },
          system_fingerprint: null,
        },
      },
      error: null,
    });
  });

  // [Gemini finishReason, with a function call, OpenAI finish_reason]
  test.each<[string | undefined, boolean, string]>([
    ['STOP', false, 'stop'],
    ['STOP', true, 'tool_calls'],
    ['MAX_TOKENS', false, 'length'],
    ['MAX_TOKENS', true, 'length'],
    ['SAFETY', false, 'content_filter'],
    ['SAFETY', true, 'content_filter'],
    ['RECITATION', false, 'content_filter'],
    ['BLOCKLIST', false, 'content_filter'],
    ['PROHIBITED_CONTENT', false, 'content_filter'],
    ['SPII', false, 'content_filter'],
    ['IMAGE_SAFETY', false, 'content_filter'],
    ['IMAGE_PROHIBITED_CONTENT', false, 'content_filter'],
    ['IMAGE_RECITATION', false, 'content_filter'],
    ['LANGUAGE', false, 'stop'],
    ['OTHER', false, 'stop'],
    ['MALFORMED_FUNCTION_CALL', false, 'stop'],
    ['UNEXPECTED_TOOL_CALL', false, 'stop'],
    ['TOO_MANY_TOOL_CALLS', true, 'tool_calls'],
    ['FINISH_REASON_UNSPECIFIED', false, 'stop'],
    ['SOME_FUTURE_REASON', false, 'stop'],
    [undefined, false, 'stop'],
    [undefined, true, 'tool_calls'],
  ])('finishReason %s (function call: %s) is finish_reason %s', (reason, withCall, expected) => {
    const parts = withCall ? [{ functionCall: { name: 'now', args: {} } }] : [{ text: 'x' }];
    const r = response({}, { finishReason: reason, content: { role: 'model', parts } });
    expect(bodyOf(r).choices[0].finish_reason).toBe(expected);
  });

  test('functionCall parts become tool_calls with JSON-string arguments and stable ids; thoughts are dropped', () => {
    const r = response({}, {
      content: {
        role: 'model',
        parts: [
          { text: 'Planning the calls', thought: true },
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'c2ln' },
          { functionCall: { name: 'now' } },
        ],
      },
    });
    const choice = bodyOf(r).choices[0];
    expect(choice).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [
          { id: expect.stringMatching(/^call_[0-9a-f]{24}$/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' }, extra_content: { google: { thought_signature: 'c2ln' } } },
          { id: expect.stringMatching(/^call_[0-9a-f]{24}$/), type: 'function', function: { name: 'now', arguments: '{}' } },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    });
    const ids = (choice.message.tool_calls as Array<{ id: string }>).map((c) => c.id);
    expect(new Set(ids).size).toBe(2);
    expect((bodyOf(r).choices[0].message.tool_calls as Array<{ id: string }>).map((c) => c.id)).toEqual(ids);
    const other = toOpenAIResultLine('another', { response: r }).response?.body as Body;
    expect((other.choices[0].message.tool_calls as Array<{ id: string }>)[0].id).not.toBe(ids[0]);
  });

  test("a function call's own id is kept", () => {
    const r = response({}, { content: { role: 'model', parts: [{ functionCall: { id: 'fc_7', name: 'now', args: {} } }] } });
    expect((bodyOf(r).choices[0].message.tool_calls as Array<{ id: string }>)[0].id).toBe('fc_7');
  });

  test('text parts are joined, thought parts left out, and tool_calls omitted when there are none', () => {
    const r = response({}, { content: { role: 'model', parts: [{ text: 'hmm', thought: true }, { text: 'Hel' }, { text: 'lo' }] } });
    const msg = bodyOf(r).choices[0].message;
    expect(msg.content).toBe('Hello');
    expect(msg).not.toHaveProperty('tool_calls');
  });

  test('a candidate without content (blocked output) has null content', () => {
    const r = response({}, { content: undefined, finishReason: 'SAFETY' });
    expect(bodyOf(r).choices[0]).toMatchObject({ message: { role: 'assistant', content: null }, finish_reason: 'content_filter' });
  });

  test('several candidates are several choices, by their index', () => {
    const r = response({
      candidates: [
        { content: { parts: [{ text: 'a' }] }, finishReason: 'STOP', index: 0 },
        { content: { parts: [{ text: 'b' }] }, finishReason: 'MAX_TOKENS', index: 1 },
      ],
    });
    expect(bodyOf(r).choices.map((c) => [c.index, c.message.content, c.finish_reason])).toEqual([
      [0, 'a', 'stop'],
      [1, 'b', 'length'],
    ]);
  });

  // [behaviour, usageMetadata, OpenAI usage]
  test.each<[string, GenerateContentResponse['usageMetadata'], Json]>([
    [
      'prompt and candidates tokens',
      { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 },
      { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
    ],
    [
      'thoughts count in completion_tokens and as reasoning_tokens',
      { promptTokenCount: 10, candidatesTokenCount: 5, thoughtsTokenCount: 100, totalTokenCount: 115 },
      { prompt_tokens: 10, completion_tokens: 105, total_tokens: 115, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 100 } },
    ],
    [
      'cached content is cached_tokens (already inside the prompt count)',
      { promptTokenCount: 1000, cachedContentTokenCount: 800, candidatesTokenCount: 5, totalTokenCount: 1005 },
      { prompt_tokens: 1000, completion_tokens: 5, total_tokens: 1005, prompt_tokens_details: { cached_tokens: 800 }, completion_tokens_details: { reasoning_tokens: 0 } },
    ],
    [
      'tool-use prompt tokens count as prompt tokens',
      { promptTokenCount: 10, toolUsePromptTokenCount: 4, candidatesTokenCount: 5, totalTokenCount: 19 },
      { prompt_tokens: 14, completion_tokens: 5, total_tokens: 19, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
    ],
    [
      'a missing total is the sum',
      { promptTokenCount: 10, candidatesTokenCount: 5, thoughtsTokenCount: 3 },
      { prompt_tokens: 10, completion_tokens: 8, total_tokens: 18, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 3 } },
    ],
    [
      'no usage is all zeros',
      undefined,
      { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
    ],
  ])('usage: %s', (_name, usageMetadata, expected) => {
    expect(bodyOf(response({ usageMetadata })).usage).toEqual(expected);
  });

  test('model is modelVersion, else the batch model without models/', () => {
    expect(bodyOf(response({ modelVersion: 'gemini-2.5-flash-001' })).model).toBe('gemini-2.5-flash-001');
    expect(bodyOf(response({ modelVersion: undefined }), { model: 'models/gemini-2.5-pro' }).model).toBe('gemini-2.5-pro');
  });

  test('created defaults to 0', () => {
    expect(bodyOf(response()).created).toBe(0);
  });

  test('without a responseId the ids are still stable, and the request_id is empty', () => {
    const line = toOpenAIResultLine('k', { response: response({ responseId: undefined }) });
    expect(line.response?.request_id).toBe('');
    expect((line.response?.body as Json).id).toMatch(/^chatcmpl-[0-9a-f]{24}$/);
    expect(toOpenAIResultLine('k', { response: response({ responseId: undefined }) })).toEqual(line);
  });

  test('line ids are stable for the same result and differ between results', () => {
    const a = toOpenAIResultLine('o', { response: response() }).id;
    expect(toOpenAIResultLine('o', { response: response() }).id).toBe(a);
    expect(toOpenAIResultLine('o', { response: response({ responseId: 'resp_02' }) }).id).not.toBe(a);
    expect(toOpenAIResultLine('p', { response: response() }).id).not.toBe(a);
  });

  test('logprobsResult becomes logprobs.content with the top candidates of each step', () => {
    const r = response({}, {
      content: { parts: [{ text: 'Hi!' }] },
      logprobsResult: {
        chosenCandidates: [{ token: 'Hi', logProbability: -0.1 }, { token: '!', logProbability: -0.5 }],
        topCandidates: [{ candidates: [{ token: 'Hi', logProbability: -0.1 }, { token: 'Hey', logProbability: -2.3 }] }, { candidates: [{ token: '!', logProbability: -0.5 }] }],
      },
    });
    expect(bodyOf(r).choices[0].logprobs).toEqual({
      content: [
        { token: 'Hi', logprob: -0.1, bytes: [72, 105], top_logprobs: [{ token: 'Hi', logprob: -0.1, bytes: [72, 105] }, { token: 'Hey', logprob: -2.3, bytes: [72, 101, 121] }] },
        { token: '!', logprob: -0.5, bytes: [33], top_logprobs: [{ token: '!', logprob: -0.5, bytes: [33] }] },
      ],
      refusal: null,
    });
  });

  test.each<[string, string | undefined, string]>([
    ['SAFETY', undefined, 'Gemini blocked the prompt (blockReason SAFETY).'],
    ['PROHIBITED_CONTENT', 'the prompt was refused', 'Gemini blocked the prompt (blockReason PROHIBITED_CONTENT): the prompt was refused'],
    ['OTHER', undefined, 'Gemini blocked the prompt (blockReason OTHER).'],
  ])('a prompt blocked for %s is a content_filter error line', (blockReason, blockReasonMessage, message) => {
    const r: GenerateContentResponse = { promptFeedback: { blockReason, blockReasonMessage }, usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 }, responseId: 'r1' };
    expect(toOpenAIResultLine('orig', { response: r })).toEqual({
      id: expect.stringMatching(/^batch_req_[0-9a-f]{32}$/),
      custom_id: 'orig',
      response: null,
      error: { code: 'content_filter', message },
    });
  });

  test('prompt feedback without a block reason is a normal response', () => {
    expect(toOpenAIResultLine('o', { response: response({ promptFeedback: { safetyRatings: [] } }) }).response?.status_code).toBe(200);
  });

  // [behaviour, Gemini error, HTTP status, OpenAI type, OpenAI code]
  test.each<[string, Status, number, string, string | null]>([
    ['an HTTP error body (code 400)', { code: 400, message: 'bad', status: 'INVALID_ARGUMENT' }, 400, 'invalid_request_error', 'INVALID_ARGUMENT'],
    ['an HTTP 429', { code: 429, message: 'slow down', status: 'RESOURCE_EXHAUSTED' }, 429, 'rate_limit_error', 'RESOURCE_EXHAUSTED'],
    ['an HTTP 500', { code: 500, message: 'oops', status: 'INTERNAL' }, 500, 'server_error', 'INTERNAL'],
    ['gRPC 3 INVALID_ARGUMENT (a batch rpc Status)', { code: 3, message: 'bad' }, 400, 'invalid_request_error', 'INVALID_ARGUMENT'],
    ['gRPC 4 DEADLINE_EXCEEDED', { code: 4, message: 'late' }, 504, 'server_error', 'DEADLINE_EXCEEDED'],
    ['gRPC 5 NOT_FOUND', { code: 5, message: 'gone' }, 404, 'not_found_error', 'NOT_FOUND'],
    ['gRPC 7 PERMISSION_DENIED', { code: 7, message: 'no' }, 403, 'permission_error', 'PERMISSION_DENIED'],
    ['gRPC 8 RESOURCE_EXHAUSTED', { code: 8, message: 'quota' }, 429, 'rate_limit_error', 'RESOURCE_EXHAUSTED'],
    ['gRPC 9 FAILED_PRECONDITION', { code: 9, message: 'x' }, 400, 'invalid_request_error', 'FAILED_PRECONDITION'],
    ['gRPC 13 INTERNAL', { code: 13, message: 'x' }, 500, 'server_error', 'INTERNAL'],
    ['gRPC 14 UNAVAILABLE', { code: 14, message: 'x' }, 503, 'server_error', 'UNAVAILABLE'],
    ['gRPC 16 UNAUTHENTICATED', { code: 16, message: 'x' }, 401, 'authentication_error', 'UNAUTHENTICATED'],
    ['a status name without a code', { message: 'x', status: 'NOT_FOUND' }, 404, 'not_found_error', 'NOT_FOUND'],
    ['neither code nor status', { message: 'x' }, 500, 'server_error', null],
  ])('an error: %s', (_name, error, status, type, code) => {
    expect(errorStatusCode(error)).toBe(status);
    expect(toOpenAIResultLine('orig.1', { error })).toEqual({
      id: expect.stringMatching(/^batch_req_[0-9a-f]{32}$/),
      custom_id: 'orig.1',
      response: { status_code: status, request_id: '', body: { error: { message: error.message, type, param: null, code } } },
      error: null,
    });
  });

  test('an error wrapped as an HTTP error body ({error: {...}}) is read the same', () => {
    const inner = { code: 400, message: 'bad', status: 'INVALID_ARGUMENT' };
    expect(toOpenAIResultLine('o', { error: { error: inner } as Status })).toEqual(toOpenAIResultLine('o', { error: inner }));
  });

  test('an error without a message says so', () => {
    const body = toOpenAIResultLine('o', { error: { code: 13 } }).response?.body as { error: { message: string } };
    expect(body.error.message).toBe('Gemini reported an error without a message');
  });

  test('an error wins over a response in the same result', () => {
    expect(toOpenAIResultLine('o', { response: response(), error: { code: 13, message: 'x' } }).response?.status_code).toBe(500);
  });

  test('a result with neither response nor error is a missing_result error line', () => {
    expect(toOpenAIResultLine('o', {})).toEqual({
      id: expect.stringMatching(/^batch_req_/),
      custom_id: 'o',
      response: null,
      error: { code: 'missing_result', message: 'Gemini returned neither a response nor an error for this request.' },
    });
  });

  test("raw keeps Gemini's response and error objects as the bodies", () => {
    const r = response();
    expect(toOpenAIResultLine('o', { response: r }, { raw: true }).response).toEqual({ status_code: 200, request_id: 'resp_01', body: r });
    const error = { code: 8, message: 'quota' };
    expect(toOpenAIResultLine('o', { error }, { raw: true }).response).toEqual({ status_code: 429, request_id: '', body: { error } });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Batch states and counts

describe('batch states', () => {
  test.each<[string | undefined, string]>([
    ['BATCH_STATE_PENDING', 'validating'],
    ['BATCH_STATE_RUNNING', 'in_progress'],
    ['BATCH_STATE_SUCCEEDED', 'completed'],
    ['BATCH_STATE_FAILED', 'failed'],
    ['BATCH_STATE_CANCELLED', 'cancelled'],
    ['BATCH_STATE_EXPIRED', 'expired'],
    ['BATCH_STATE_UNSPECIFIED', 'in_progress'],
    ['JOB_STATE_QUEUED', 'validating'],
    ['JOB_STATE_PENDING', 'validating'],
    ['JOB_STATE_RUNNING', 'in_progress'],
    ['JOB_STATE_UPDATING', 'in_progress'],
    ['JOB_STATE_PAUSED', 'in_progress'],
    ['JOB_STATE_SUCCEEDED', 'completed'],
    ['JOB_STATE_PARTIALLY_SUCCEEDED', 'completed'],
    ['JOB_STATE_FAILED', 'failed'],
    ['JOB_STATE_CANCELLING', 'cancelling'],
    ['JOB_STATE_CANCELLED', 'cancelled'],
    ['JOB_STATE_EXPIRED', 'expired'],
    ['JOB_STATE_UNSPECIFIED', 'in_progress'],
    ['BATCH_STATE_SOMETHING_NEW', 'in_progress'],
    ['toString', 'in_progress'],
    [undefined, 'in_progress'],
  ])('%s is %s', (state, status) => {
    expect(geminiBatchStatus(state)).toBe(status);
  });

  test('the status map lists every REST state', () => {
    for (const state of ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED']) {
      expect(GEMINI_STATUS_MAP).toHaveProperty(`BATCH_STATE_${state}`);
    }
  });
});

describe('batch counts', () => {
  // [behaviour, batchStats, request_counts]
  test.each<[string, BatchStats | undefined, Json | null]>([
    ['no stats yet is null (unknown, not zero)', undefined, null],
    ['int64 strings', { requestCount: '10', successfulRequestCount: '7', failedRequestCount: '2', pendingRequestCount: '1' }, { total: 10, completed: 7, failed: 2 }],
    ['numbers', { requestCount: 4, successfulRequestCount: 4 }, { total: 4, completed: 4, failed: 0 }],
    ['zero counts are omitted by proto3 JSON', { requestCount: '3', pendingRequestCount: '3' }, { total: 3, completed: 0, failed: 0 }],
    ['an empty stats object is all zeros', {}, { total: 0, completed: 0, failed: 0 }],
    ['without requestCount the total is the sum', { successfulRequestCount: '2', failedRequestCount: '1', pendingRequestCount: '5' }, { total: 8, completed: 2, failed: 1 }],
    ['a malformed count reads as zero', { requestCount: 'many', successfulRequestCount: '-1', failedRequestCount: '1.5' }, { total: 0, completed: 0, failed: 0 }],
  ])('%s', (_name, stats, expected) => {
    expect(geminiRequestCounts(stats)).toEqual(expected);
  });
});
