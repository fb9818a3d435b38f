/** OpenAI batch JSONL <-> Anthropic Message Batches mapping: one row per row of the tables in provider-apis.md section 10. */
import type { Message } from '@anthropic-ai/sdk/resources/messages';
import type { MessageBatch, MessageBatchResult } from '@anthropic-ai/sdk/resources/messages/batches';
import {
  ANTHROPIC_CUSTOM_ID,
  CustomIdMap,
  JSON_OBJECT_INSTRUCTION,
  RequestMappingError,
  toAnthropicParams,
  toOpenAIBatch,
  toOpenAIResultLine,
  type AnthropicMappingOptions,
} from '../../src/providers/anthropic/mapping';
import { hashedCustomId } from '../../src/providers/anthropic/custom-ids';

type Json = Record<string, unknown>;

const MODEL = 'claude-sonnet-4-5';
const HI = { role: 'user', content: 'hi' };
const BASE_PARAMS = { model: MODEL, max_tokens: 4096, messages: [HI] };

function body(extra: Json = {}): Json {
  return { model: MODEL, messages: [HI], ...extra };
}

/** The error toAnthropicParams throws for `b` (fails the test if it does not throw one). */
function mappingError(b: Json, opts?: AnthropicMappingOptions): RequestMappingError {
  try {
    toAnthropicParams(b, opts);
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

const TOOL = { type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };
const ANT_TOOL = { name: 'get_weather', description: 'Weather now', input_schema: { type: 'object', properties: { city: { type: 'string' } } } };

describe('request fields (10.2)', () => {
  // [behaviour, request extra fields, options, params expected on top of BASE_PARAMS, warning fields]
  test.each<[string, Json, AnthropicMappingOptions, Json, string[]]>([
    ['model passes through unchanged', { model: 'claude-opus-4-7' }, {}, { model: 'claude-opus-4-7' }, []],
    ['an OpenAI model name is not renamed', { model: 'gpt-4o' }, {}, { model: 'gpt-4o' }, []],
    ['max_completion_tokens becomes max_tokens', { max_completion_tokens: 300 }, {}, { max_tokens: 300 }, []],
    ['max_tokens passes through', { max_tokens: 200 }, {}, { max_tokens: 200 }, []],
    ['max_completion_tokens wins over max_tokens', { max_completion_tokens: 300, max_tokens: 200 }, {}, { max_tokens: 300 }, []],
    ['no token limit uses the default 4096 without a warning', {}, {}, { max_tokens: 4096 }, []],
    ['no token limit uses defaultMaxTokens', {}, { defaultMaxTokens: 1000 }, { max_tokens: 1000 }, []],
    ['null token limits count as absent', { max_tokens: null, max_completion_tokens: null }, {}, { max_tokens: 4096 }, []],
    ['stop string becomes stop_sequences', { stop: 'END' }, {}, { stop_sequences: ['END'] }, []],
    ['stop array becomes stop_sequences', { stop: ['a', 'b'] }, {}, { stop_sequences: ['a', 'b'] }, []],
    ['whitespace-only stop entries are dropped with a warning', { stop: ['a', ' ', '\n'] }, {}, { stop_sequences: ['a'] }, ['body.stop']],
    ['an all-whitespace stop list leaves no stop_sequences', { stop: '  ' }, {}, {}, ['body.stop']],
    ['temperature <= 1 passes', { temperature: 0.7 }, {}, { temperature: 0.7 }, []],
    ['temperature > 1 is clamped to 1 with a warning', { temperature: 1.5 }, {}, { temperature: 1 }, ['body.temperature']],
    ['top_p passes', { top_p: 0.9 }, {}, { top_p: 0.9 }, []],
    ['n = 1 is ignored silently', { n: 1 }, {}, {}, []],
    ['function tools become input_schema tools', { tools: [TOOL] }, {}, { tools: [ANT_TOOL] }, []],
    [
      'a tool without parameters gets an empty object schema',
      { tools: [{ type: 'function', function: { name: 'now' } }] },
      {},
      { tools: [{ name: 'now', input_schema: { type: 'object', properties: {} } }] },
      [],
    ],
    [
      'tool strict is dropped with a warning',
      { tools: [{ ...TOOL, function: { ...TOOL.function, strict: true } }] },
      {},
      { tools: [ANT_TOOL] },
      ['body.tools[].function.strict'],
    ],
    ["tool_choice 'auto' becomes {type:'auto'}", { tools: [TOOL], tool_choice: 'auto' }, {}, { tools: [ANT_TOOL], tool_choice: { type: 'auto' } }, []],
    ["tool_choice 'none' becomes {type:'none'}", { tools: [TOOL], tool_choice: 'none' }, {}, { tools: [ANT_TOOL], tool_choice: { type: 'none' } }, []],
    ["tool_choice 'required' becomes {type:'any'}", { tools: [TOOL], tool_choice: 'required' }, {}, { tools: [ANT_TOOL], tool_choice: { type: 'any' } }, []],
    [
      'a named function tool_choice becomes {type:tool, name}',
      { tools: [TOOL], tool_choice: { type: 'function', function: { name: 'get_weather' } } },
      {},
      { tools: [ANT_TOOL], tool_choice: { type: 'tool', name: 'get_weather' } },
      [],
    ],
    [
      'parallel_tool_calls false sets disable_parallel_tool_use on the tool_choice',
      { tools: [TOOL], tool_choice: 'required', parallel_tool_calls: false },
      {},
      { tools: [ANT_TOOL], tool_choice: { type: 'any', disable_parallel_tool_use: true } },
      [],
    ],
    [
      'parallel_tool_calls false without tool_choice creates an auto tool_choice',
      { tools: [TOOL], parallel_tool_calls: false },
      {},
      { tools: [ANT_TOOL], tool_choice: { type: 'auto', disable_parallel_tool_use: true } },
      [],
    ],
    ['parallel_tool_calls false without tools adds nothing', { parallel_tool_calls: false }, {}, {}, []],
    ['parallel_tool_calls true is the default and adds nothing', { tools: [TOOL], parallel_tool_calls: true }, {}, { tools: [ANT_TOOL] }, []],
    ['user becomes metadata.user_id', { user: 'u-1' }, {}, { metadata: { user_id: 'u-1' } }, []],
    ['safety_identifier becomes metadata.user_id', { safety_identifier: 's-1' }, {}, { metadata: { user_id: 's-1' } }, []],
    [
      'safety_identifier wins over a different user, which is warned about',
      { user: 'u-1', safety_identifier: 's-1' },
      {},
      { metadata: { user_id: 's-1' } },
      ['body.user'],
    ],
    ['reasoning_effort low is a 1024-token thinking budget', { reasoning_effort: 'low', max_tokens: 20000 }, {}, { max_tokens: 20000, thinking: { type: 'enabled', budget_tokens: 1024 } }, []],
    ['reasoning_effort medium is a 4096-token thinking budget', { reasoning_effort: 'medium', max_tokens: 20000 }, {}, { max_tokens: 20000, thinking: { type: 'enabled', budget_tokens: 4096 } }, []],
    ['reasoning_effort high is a 16384-token thinking budget', { reasoning_effort: 'high', max_tokens: 20000 }, {}, { max_tokens: 20000, thinking: { type: 'enabled', budget_tokens: 16384 } }, []],
    ['the thinking budget is capped at max_tokens - 1', { reasoning_effort: 'high', max_tokens: 8000 }, {}, { max_tokens: 8000, thinking: { type: 'enabled', budget_tokens: 7999 } }, []],
    ['the default max_tokens caps the high budget too', { reasoning_effort: 'high' }, {}, { thinking: { type: 'enabled', budget_tokens: 4095 } }, []],
    ['reasoning_effort with max_tokens <= 1024 is dropped with a warning', { reasoning_effort: 'low', max_tokens: 1024 }, {}, { max_tokens: 1024 }, ['body.reasoning_effort']],
    ["reasoning_effort 'none' means no thinking", { reasoning_effort: 'none' }, {}, {}, []],
    ['response_format text adds nothing', { response_format: { type: 'text' } }, {}, {}, []],
    ['response_format text is allowed in reject mode', { response_format: { type: 'text' } }, { responseFormat: 'reject' }, {}, []],
    [
      'response_format json_schema becomes output_config.format',
      { response_format: { type: 'json_schema', json_schema: { name: 'x', strict: true, schema: { type: 'object', properties: { a: { type: 'string' } } } } } },
      {},
      { output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { a: { type: 'string' } } } } } },
      [],
    ],
    ['response_format json_object becomes a system instruction', { response_format: { type: 'json_object' } }, {}, { system: JSON_OBJECT_INSTRUCTION }, []],
    [
      'the json_object instruction is appended to an existing system prompt',
      { messages: [{ role: 'system', content: 'Be brief.' }, HI], response_format: { type: 'json_object' } },
      {},
      { system: `Be brief.\n${JSON_OBJECT_INSTRUCTION}` },
      [],
    ],
    ['stream false is accepted silently', { stream: false }, {}, {}, []],
    ['null optional fields are treated as absent', { seed: null, stop: null, temperature: null, tools: null, user: null }, {}, {}, []],
    ...(
      [
        ['seed', 42],
        ['logprobs', true],
        ['top_logprobs', 3],
        ['presence_penalty', 0.5],
        ['frequency_penalty', 0.5],
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
    ).map(([field, value]): [string, Json, AnthropicMappingOptions, Json, string[]] => [
      `${field} has no equivalent and is dropped with a warning`,
      { [field]: value },
      {},
      {},
      [`body.${field}`],
    ]),
    ['top_k is not an OpenAI field: dropped with a warning, not passed through', { top_k: 5 }, {}, {}, ['body.top_k']],
    ['an unknown field is dropped with a warning', { frobnicate: 1 }, {}, {}, ['body.frobnicate']],
  ])('%s', (_name, extra, opts, expected, warnings) => {
    const mapped = toAnthropicParams(body(extra), opts);
    expect(mapped.params).toEqual({ ...BASE_PARAMS, ...expected });
    expect(warningFields(mapped.warnings)).toEqual(warnings);
  });

  test('a dropped field warning names the field', () => {
    expect(toAnthropicParams(body({ seed: 1 })).warnings).toEqual(['body.seed: no Anthropic equivalent; dropped']);
  });

  test('each field is warned about once, however often it appears', () => {
    const strictTool = (name: string) => ({ type: 'function', function: { name, strict: true } });
    const { warnings } = toAnthropicParams(
      body({
        messages: [
          { role: 'user', content: 'a', name: 'ann' },
          { role: 'assistant', content: 'b', name: 'bot' },
          { role: 'user', content: 'c', name: 'ann' },
        ],
        tools: [strictTool('x'), strictTool('y')],
        stop: [' ', '\t', 'END'],
        seed: 1,
        logprobs: true,
        top_logprobs: 2,
      }),
    );
    expect(warningFields(warnings).sort()).toEqual(
      ['body.messages[].name', 'body.tools[].function.strict', 'body.stop', 'body.seed', 'body.logprobs', 'body.top_logprobs'].sort(),
    );
  });

  test('the input body is not modified', () => {
    const b = body({ tools: [TOOL], parallel_tool_calls: false, messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] });
    const before = JSON.stringify(b);
    toAnthropicParams(b);
    expect(JSON.stringify(b)).toBe(before);
  });
});

describe('requests that cannot be translated (10.2)', () => {
  const callTurn = (args: string) => ({
    role: 'assistant',
    content: null,
    tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: args } }],
  });
  const imageMessage = (url: string) => ({ role: 'user', content: [{ type: 'image_url', image_url: { url } }] });

  // [behaviour, request extra fields, options, error field, message pattern]
  test.each<[string, Json, AnthropicMappingOptions, string, RegExp]>([
    ['stream true is rejected', { stream: true }, {}, 'body.stream', /stream/],
    ['n > 1 is rejected with advice', { n: 2 }, {}, 'body.n', /^n > 1 is not supported for Anthropic batches; send n separate requests$/],
    ['n = 0 is rejected', { n: 0 }, {}, 'body.n', /positive integer/],
    ['missing messages are rejected', { messages: undefined }, {}, 'body.messages', /missing/],
    ['messages that are not an array are rejected', { messages: { role: 'user' } }, {}, 'body.messages', /array/],
    ['a conversation of only system messages is rejected', { messages: [{ role: 'system', content: 's' }] }, {}, 'body.messages', /no user or assistant/],
    ['an empty conversation is rejected', { messages: [] }, {}, 'body.messages', /no user or assistant/],
    [
      'a conversation starting with an assistant turn after hoisting is rejected',
      { messages: [{ role: 'system', content: 's' }, { role: 'assistant', content: 'a' }, HI] },
      {},
      'body.messages[1]',
      /first non-system message must be a user message/,
    ],
    ['a missing model is rejected', { model: undefined }, {}, 'body.model', /string/],
    ['an unknown role is rejected', { messages: [{ role: 'function', content: 'x', name: 'f' }] }, {}, 'body.messages[0].role', /"function"/],
    [
      'invalid JSON tool call arguments are rejected naming the field',
      { messages: [HI, callTurn('{"city": ')] },
      {},
      'body.messages[1].tool_calls[0].function.arguments',
      /not valid JSON/,
    ],
    [
      'tool call arguments that are not a JSON object are rejected',
      { messages: [HI, callTurn('[1,2]')] },
      {},
      'body.messages[1].tool_calls[0].function.arguments',
      /JSON object, got an array/,
    ],
    [
      'empty tool call arguments are rejected',
      { messages: [HI, callTurn('')] },
      {},
      'body.messages[1].tool_calls[0].function.arguments',
      /not valid JSON/,
    ],
    [
      'an assistant function_call is rejected',
      { messages: [HI, { role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } }] },
      {},
      'body.messages[1].function_call',
      /tool_calls/,
    ],
    [
      'an assistant message with neither content nor tool_calls is rejected',
      { messages: [HI, { role: 'assistant', content: null }] },
      {},
      'body.messages[1].content',
      /neither content nor tool_calls/,
    ],
    [
      'a tool message that answers no tool call is rejected',
      { messages: [HI, { role: 'tool', tool_call_id: 'call_1', content: 'x' }] },
      {},
      'body.messages[1].tool_call_id',
      /does not answer a tool call/,
    ],
    [
      'a tool message with an unknown tool_call_id is rejected',
      { messages: [HI, callTurn('{}'), { role: 'tool', tool_call_id: 'call_9', content: 'x' }] },
      {},
      'body.messages[2].tool_call_id',
      /"call_9"/,
    ],
    ['an image with an unsupported media type is rejected', { messages: [imageMessage('data:image/svg+xml;base64,PHN2Zz4=')] }, {}, 'body.messages[0].content[0].image_url.url', /image\/svg\+xml/],
    ['a data URL that is not base64 is rejected', { messages: [imageMessage('data:image/png,abc')] }, {}, 'body.messages[0].content[0].image_url.url', /base64/],
    ['an image URL that is neither data: nor http(s) is rejected', { messages: [imageMessage('ftp://x/y.png')] }, {}, 'body.messages[0].content[0].image_url.url', /http/],
    [
      'an input_audio part is rejected',
      { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }] }] },
      {},
      'body.messages[0].content[0].type',
      /"input_audio"/,
    ],
    [
      'a file part is rejected',
      { messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }] },
      {},
      'body.messages[0].content[0].type',
      /"file"/,
    ],
    [
      'a non-text part in a system message is rejected',
      { messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }, HI] },
      {},
      'body.messages[0].content[0].type',
      /"text"/,
    ],
    ['a non-function tool is rejected', { tools: [{ type: 'custom', custom: { name: 'x' } }] }, {}, 'body.tools[0].type', /"custom"/],
    ['an unknown tool_choice string is rejected', { tools: [TOOL], tool_choice: 'sometimes' }, {}, 'body.tool_choice', /"sometimes"/],
    ['max_tokens 0 is rejected', { max_tokens: 0 }, {}, 'body.max_tokens', /positive integer/],
    ['a fractional max_completion_tokens is rejected', { max_completion_tokens: 10.5 }, {}, 'body.max_completion_tokens', /positive integer/],
    ['a string max_tokens is rejected', { max_tokens: '100' }, {}, 'body.max_tokens', /number/],
    ['a negative temperature is rejected', { temperature: -0.1 }, {}, 'body.temperature', />= 0/],
    ['a stop that is not a string or strings is rejected', { stop: [1] }, {}, 'body.stop', /string/],
    ['an unsupported reasoning_effort is rejected', { reasoning_effort: 'xhigh' }, {}, 'body.reasoning_effort', /"xhigh"/],
    [
      'response_format json_schema is rejected in reject mode',
      { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {} } } },
      { responseFormat: 'reject' },
      'body.response_format',
      /json_schema/,
    ],
    ['response_format json_object is rejected in reject mode', { response_format: { type: 'json_object' } }, { responseFormat: 'reject' }, 'body.response_format', /json_object/],
    ['a json_schema without a schema is rejected', { response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, {}, 'body.response_format.json_schema.schema', /object/],
  ])('%s', (_name, extra, opts, field, message) => {
    const err = mappingError(body(extra), opts);
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
    expect(err.name).toBe('RequestMappingError');
  });
});

describe('messages (10.2)', () => {
  const tc = (id: string, name: string, args: Json) => ({ id, type: 'function', function: { name, arguments: JSON.stringify(args) } });

  // [behaviour, OpenAI messages, expected system (undefined = absent), expected Anthropic messages]
  test.each<[string, Json[], unknown, Json[]]>([
    ['a system message is hoisted into system', [{ role: 'system', content: 'Be brief.' }, HI], 'Be brief.', [HI]],
    ['a developer message is hoisted into system', [{ role: 'developer', content: 'Use French.' }, HI], 'Use French.', [HI]],
    [
      'system and developer messages anywhere are joined with a newline',
      [{ role: 'system', content: 'A' }, HI, { role: 'assistant', content: 'ok' }, { role: 'developer', content: 'B' }, { role: 'user', content: 'again' }],
      'A\nB',
      [HI, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'again' }],
    ],
    [
      'system text parts become text blocks and keep cache_control',
      [
        { role: 'system', content: 'plain' },
        { role: 'developer', content: [{ type: 'text', text: 'cached', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'more' }] },
        HI,
      ],
      [{ type: 'text', text: 'plain' }, { type: 'text', text: 'cached', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'more' }],
      [HI],
    ],
    [
      'user text parts become text blocks',
      [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }],
      undefined,
      [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }],
    ],
    [
      'a data URL image becomes a base64 image block',
      [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }],
      undefined,
      [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          ],
        },
      ],
    ],
    [
      'an http URL image becomes a url image block',
      [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'auto' } }] }],
      undefined,
      [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } }] }],
    ],
    ...(['image/jpeg', 'image/png', 'image/gif', 'image/webp'].map((mediaType): [string, Json[], unknown, Json[]] => [
      `a ${mediaType} data URL is accepted`,
      [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:${mediaType};base64,AAAA` } }] }],
      undefined,
      [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: mediaType, data: 'AAAA' } }] }],
    ])),
    [
      'consecutive user messages are merged into one turn',
      [{ role: 'user', content: 'a' }, { role: 'user', content: [{ type: 'text', text: 'b' }] }],
      undefined,
      [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }],
    ],
    [
      'consecutive assistant messages are merged into one turn',
      [HI, { role: 'assistant', content: 'a' }, { role: 'assistant', content: 'b' }],
      undefined,
      [HI, { role: 'assistant', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }],
    ],
    [
      'assistant tool_calls become tool_use blocks after the text',
      [HI, { role: 'assistant', content: 'Let me look.', tool_calls: [tc('call_1', 'get_weather', { city: 'Paris' })] }, { role: 'tool', tool_call_id: 'call_1', content: '18C' }],
      undefined,
      [
        HI,
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me look.' },
            { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: '18C' }] },
      ],
    ],
    [
      'assistant tool_calls with null content become only tool_use blocks',
      [HI, { role: 'assistant', content: null, tool_calls: [tc('call_1', 'now', {})] }],
      undefined,
      [HI, { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'now', input: {} }] }],
    ],
    [
      'tool message text parts become tool_result text blocks',
      [HI, { role: 'assistant', content: null, tool_calls: [tc('call_1', 'now', {})] }, { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: 'noon' }] }],
      undefined,
      [
        HI,
        { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'now', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: 'noon' }] }] },
      ],
    ],
    [
      'an assistant refusal part is kept as text',
      [HI, { role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot.' }] }],
      undefined,
      [HI, { role: 'assistant', content: [{ type: 'text', text: 'I cannot.' }] }],
    ],
    ['a final assistant message (prefill) is kept', [HI, { role: 'assistant', content: '{' }], undefined, [HI, { role: 'assistant', content: '{' }]],
  ])('%s', (_name, messages, system, expected) => {
    const { params } = toAnthropicParams(body({ messages }));
    expect(params.system).toEqual(system);
    if (system === undefined) expect(params).not.toHaveProperty('system');
    expect(params.messages).toEqual(expected);
  });

  test('full conversation: system, user, assistant tool_calls, two tool results and a user follow-up', () => {
    const { params, warnings } = toAnthropicParams({
      model: MODEL,
      max_completion_tokens: 1000,
      tools: [TOOL],
      messages: [
        { role: 'system', content: 'You are a weather bot.' },
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [tc('call_p', 'get_weather', { city: 'Paris' }), tc('call_r', 'get_weather', { city: 'Rome' })],
        },
        { role: 'tool', tool_call_id: 'call_p', content: '18C' },
        { role: 'tool', tool_call_id: 'call_r', content: [{ type: 'text', text: '24C' }] },
        { role: 'user', content: 'Which is warmer?' },
      ],
    });
    expect(warnings).toEqual([]);
    expect(params).toEqual({
      model: MODEL,
      max_tokens: 1000,
      system: 'You are a weather bot.',
      tools: [ANT_TOOL],
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'call_p', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'call_r', name: 'get_weather', input: { city: 'Rome' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_p', content: '18C' },
            { type: 'tool_result', tool_use_id: 'call_r', content: [{ type: 'text', text: '24C' }] },
            { type: 'text', text: 'Which is warmer?' },
          ],
        },
      ],
    });
  });

  test('a developer message mid-conversation is hoisted without breaking tool-result adjacency', () => {
    const { params } = toAnthropicParams(
      body({
        messages: [
          HI,
          { role: 'assistant', content: null, tool_calls: [tc('c1', 'now', {})] },
          { role: 'developer', content: 'Answer in French.' },
          { role: 'tool', tool_call_id: 'c1', content: 'noon' },
        ],
      }),
    );
    expect(params.system).toBe('Answer in French.');
    expect(params.messages).toEqual([
      HI,
      { role: 'assistant', content: [{ type: 'tool_use', id: 'c1', name: 'now', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c1', content: 'noon' }] },
    ]);
  });

  test('a message field with no equivalent (name) is dropped with a warning', () => {
    const { params, warnings } = toAnthropicParams(body({ messages: [{ role: 'user', content: 'hi', name: 'ann' }] }));
    expect(params.messages).toEqual([HI]);
    expect(warnings).toEqual(['body.messages[].name: no Anthropic equivalent; dropped']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Result side (10.3)

function message(over: Partial<Message> = {}): Message {
  return {
    id: 'msg_01',
    type: 'message',
    role: 'assistant',
    model: 'claude-opus-4-7',
    content: [{ type: 'text', text: 'Hello!', citations: null }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 11, output_tokens: 36 },
    ...over,
  } as Message;
}

const succeeded = (m: Message = message()) => ({ custom_id: 'r0', result: { type: 'succeeded', message: m } as MessageBatchResult });
const errored = (type: string, requestId: string | null = 'req_1') => ({
  custom_id: 'r0',
  result: { type: 'errored', error: { type: 'error', error: { type, message: `boom: ${type}` }, request_id: requestId } } as unknown as MessageBatchResult,
});

describe('results (10.3)', () => {
  test.each<[string | null, string]>([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['pause_turn', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    [null, 'stop'],
    ['some_future_reason', 'stop'],
  ])('stop_reason %s is finish_reason %s', (stopReason, finish) => {
    const line = toOpenAIResultLine(succeeded(message({ stop_reason: stopReason as Message['stop_reason'] })), 'orig');
    expect((line.response?.body as { choices: Array<{ finish_reason: string }> }).choices[0].finish_reason).toBe(finish);
  });

  test.each<[string, number]>([
    ['invalid_request_error', 400],
    ['authentication_error', 401],
    ['billing_error', 402],
    ['permission_error', 403],
    ['not_found_error', 404],
    ['request_too_large', 413],
    ['rate_limit_error', 429],
    ['api_error', 500],
    ['timeout_error', 504],
    ['overloaded_error', 529],
    ['conflict_error', 500],
  ])('an errored result of type %s is HTTP %i in the error file', (type, status) => {
    const line = toOpenAIResultLine(errored(type), 'orig.1');
    expect(line).toEqual({
      id: expect.stringMatching(/^batch_req_[0-9a-f]{32}$/),
      custom_id: 'orig.1',
      response: { status_code: status, request_id: 'req_1', body: { error: { message: `boom: ${type}`, type, param: null, code: null } } },
      error: null,
    });
  });

  test('a succeeded result becomes a chat.completion output line under the original custom_id', () => {
    expect(toOpenAIResultLine(succeeded(), 'my/original id', { createdAt: 1727203044 })).toEqual({
      id: expect.stringMatching(/^batch_req_[0-9a-f]{32}$/),
      custom_id: 'my/original id',
      response: {
        status_code: 200,
        request_id: 'msg_01',
        body: {
          id: 'chatcmpl-msg_01',
          object: 'chat.completion',
          created: 1727203044,
          model: 'claude-opus-4-7',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!', refusal: null }, logprobs: null, finish_reason: 'stop' }],
          usage: { prompt_tokens: 11, completion_tokens: 36, total_tokens: 47, prompt_tokens_details: { cached_tokens: 0 } },
          system_fingerprint: null,
        },
      },
      error: null,
    });
  });

  test('tool_use blocks become tool_calls, thinking is dropped, and content is null without text', () => {
    const m = message({
      stop_reason: 'tool_use',
      content: [
        { type: 'thinking', thinking: 'hmm', signature: 'sig' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'toolu_2', name: 'now', input: {} },
      ] as Message['content'],
    });
    const body = toOpenAIResultLine(succeeded(m), 'o').response?.body as Json & { choices: Array<Json> };
    expect(body.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'now', arguments: '{}' } },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    });
  });

  test('several text blocks are joined and the tool_calls key is omitted when there are none', () => {
    const m = message({ content: [{ type: 'thinking', thinking: 't', signature: 's' }, { type: 'text', text: 'Hel' }, { type: 'text', text: 'lo' }] as Message['content'] });
    const msg = (toOpenAIResultLine(succeeded(m), 'o').response?.body as { choices: Array<{ message: Json }> }).choices[0].message;
    expect(msg.content).toBe('Hello');
    expect(msg).not.toHaveProperty('tool_calls');
  });

  test('prompt tokens include cache reads and writes; cached_tokens is the cache reads', () => {
    const m = message({ usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 } as Message['usage'] });
    expect((toOpenAIResultLine(succeeded(m), 'o').response?.body as Json).usage).toEqual({
      prompt_tokens: 130,
      completion_tokens: 5,
      total_tokens: 135,
      prompt_tokens_details: { cached_tokens: 100 },
    });
  });

  test('created defaults to 0', () => {
    expect((toOpenAIResultLine(succeeded(), 'o').response?.body as Json).created).toBe(0);
  });

  test('line ids are stable for the same result and differ between results', () => {
    const a = toOpenAIResultLine(succeeded(), 'o').id;
    expect(toOpenAIResultLine(succeeded(), 'other').id).toBe(a);
    expect(toOpenAIResultLine(succeeded(message({ id: 'msg_02' })), 'o').id).not.toBe(a);
    expect(toOpenAIResultLine({ ...succeeded(), custom_id: 'r1' }, 'o').id).not.toBe(a);
  });

  test('an errored result without a request_id has an empty request_id', () => {
    expect(toOpenAIResultLine(errored('api_error', null), 'o').response?.request_id).toBe('');
  });

  test('a canceled result is a batch_cancelled error line', () => {
    expect(toOpenAIResultLine({ custom_id: 'r0', result: { type: 'canceled' } }, 'orig')).toEqual({
      id: expect.stringMatching(/^batch_req_/),
      custom_id: 'orig',
      response: null,
      error: { code: 'batch_cancelled', message: 'This request was not executed because the batch was cancelled.' },
    });
  });

  test('an expired result is a batch_expired error line', () => {
    expect(toOpenAIResultLine({ custom_id: 'r0', result: { type: 'expired' } }, 'orig')).toEqual({
      id: expect.stringMatching(/^batch_req_/),
      custom_id: 'orig',
      response: null,
      error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' },
    });
  });

  test('raw keeps the Anthropic message as the body of a succeeded line', () => {
    const m = message();
    expect(toOpenAIResultLine(succeeded(m), 'orig', { raw: true }).response).toEqual({ status_code: 200, request_id: 'msg_01', body: m });
  });

  test('raw keeps the Anthropic error object as the body of an errored line', () => {
    const line = errored('overloaded_error');
    expect(toOpenAIResultLine(line, 'orig', { raw: true })).toEqual({
      id: expect.stringMatching(/^batch_req_/),
      custom_id: 'orig',
      response: { status_code: 529, request_id: 'req_1', body: (line.result as { error: unknown }).error },
      error: null,
    });
  });

  test('raw does not change canceled and expired lines', () => {
    const canceled = { custom_id: 'r0', result: { type: 'canceled' } as MessageBatchResult };
    expect(toOpenAIResultLine(canceled, 'o', { raw: true })).toEqual(toOpenAIResultLine(canceled, 'o'));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Batch object (10.3)

const T_CREATED = '2024-09-24T18:37:24.100435Z';
const T_EXPIRES = '2024-09-25T18:37:24.100435Z';
const T_CANCEL = '2024-09-24T19:00:00.5Z';
const T_ENDED = '2024-09-24T20:00:00Z';
const S = (iso: string) => Math.floor(Date.parse(iso) / 1000);

function messageBatch(over: Partial<MessageBatch> = {}, counts: Partial<MessageBatch['request_counts']> = {}): MessageBatch {
  return {
    id: 'msgbatch_01',
    type: 'message_batch',
    processing_status: 'in_progress',
    request_counts: { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0, ...counts },
    created_at: T_CREATED,
    expires_at: T_EXPIRES,
    ended_at: null,
    cancel_initiated_at: null,
    archived_at: null,
    results_url: null,
    ...over,
  };
}

const CTX = { endpoint: '/v1/chat/completions' };

describe('batch object (10.3)', () => {
  // [behaviour, Anthropic batch, OpenAI status]
  test.each<[string, MessageBatch, string]>([
    ['in_progress stays in_progress', messageBatch({}, { processing: 3 }), 'in_progress'],
    ['canceling is cancelling', messageBatch({ processing_status: 'canceling', cancel_initiated_at: T_CANCEL }, { processing: 3 }), 'cancelling'],
    [
      'ended after a cancel is cancelled',
      messageBatch({ processing_status: 'ended', cancel_initiated_at: T_CANCEL, ended_at: T_ENDED }, { succeeded: 1, canceled: 2 }),
      'cancelled',
    ],
    [
      'ended after a cancel is cancelled even with expired requests',
      messageBatch({ processing_status: 'ended', cancel_initiated_at: T_CANCEL, ended_at: T_ENDED }, { expired: 2 }),
      'cancelled',
    ],
    ['ended with expired requests is expired', messageBatch({ processing_status: 'ended', ended_at: T_EXPIRES }, { succeeded: 1, expired: 2 }), 'expired'],
    ['ended otherwise is completed', messageBatch({ processing_status: 'ended', ended_at: T_ENDED }, { succeeded: 2, errored: 1 }), 'completed'],
    ['ended with only errors is still completed', messageBatch({ processing_status: 'ended', ended_at: T_ENDED }, { errored: 3 }), 'completed'],
  ])('status: %s', (_name, batch, status) => {
    expect(toOpenAIBatch(batch, CTX).status).toBe(status);
  });

  // [behaviour, Anthropic batch, timestamps expected, timestamps that must be absent]
  test.each<[string, MessageBatch, Json, string[]]>([
    [
      'in_progress: created_at, in_progress_at = created_at, expires_at',
      messageBatch(),
      { created_at: S(T_CREATED), in_progress_at: S(T_CREATED), expires_at: S(T_EXPIRES) },
      ['cancelling_at', 'completed_at', 'expired_at', 'cancelled_at', 'failed_at', 'finalizing_at'],
    ],
    [
      'cancelling: cancel_initiated_at is cancelling_at',
      messageBatch({ processing_status: 'canceling', cancel_initiated_at: T_CANCEL }),
      { cancelling_at: S(T_CANCEL) },
      ['completed_at', 'expired_at', 'cancelled_at'],
    ],
    [
      'completed: ended_at is completed_at',
      messageBatch({ processing_status: 'ended', ended_at: T_ENDED }, { succeeded: 1 }),
      { completed_at: S(T_ENDED) },
      ['cancelling_at', 'expired_at', 'cancelled_at'],
    ],
    [
      'expired: ended_at is expired_at',
      messageBatch({ processing_status: 'ended', ended_at: T_EXPIRES }, { expired: 1 }),
      { expired_at: S(T_EXPIRES) },
      ['cancelling_at', 'completed_at', 'cancelled_at'],
    ],
    [
      'cancelled: ended_at is cancelled_at and cancel_initiated_at is cancelling_at',
      messageBatch({ processing_status: 'ended', cancel_initiated_at: T_CANCEL, ended_at: T_ENDED }, { canceled: 1 }),
      { cancelling_at: S(T_CANCEL), cancelled_at: S(T_ENDED) },
      ['completed_at', 'expired_at'],
    ],
  ])('timestamps: %s', (_name, batch, expected, absent) => {
    const out = toOpenAIBatch(batch, CTX);
    expect(out).toMatchObject(expected);
    for (const key of absent) expect(out).not.toHaveProperty(key);
  });

  test('ISO timestamps with microseconds become whole unix seconds', () => {
    expect(toOpenAIBatch(messageBatch(), CTX).created_at).toBe(1727203044);
  });

  // [behaviour, Anthropic counts, OpenAI counts]
  test.each<[string, Partial<MessageBatch['request_counts']>, Json]>([
    ['processing requests count towards total only', { processing: 5 }, { total: 5, completed: 0, failed: 0 }],
    ['succeeded requests are completed', { succeeded: 4 }, { total: 4, completed: 4, failed: 0 }],
    ['errored requests are failed', { errored: 2 }, { total: 2, completed: 0, failed: 2 }],
    ['canceled requests are failed', { canceled: 3 }, { total: 3, completed: 0, failed: 3 }],
    ['expired requests are failed', { expired: 1 }, { total: 1, completed: 0, failed: 1 }],
    ['total is the sum of all five', { processing: 1, succeeded: 2, errored: 3, canceled: 4, expired: 5 }, { total: 15, completed: 2, failed: 12 }],
  ])('request_counts: %s', (_name, counts, expected) => {
    expect(toOpenAIBatch(messageBatch({}, counts), CTX).request_counts).toEqual(expected);
  });

  test('the whole object: id, endpoint, input file, window, and no unset optional fields', () => {
    expect(toOpenAIBatch(messageBatch({ processing_status: 'ended', ended_at: T_ENDED }, { succeeded: 2 }), { ...CTX, inputFileId: 'file-abc' })).toEqual({
      id: 'msgbatch_01',
      object: 'batch',
      endpoint: '/v1/chat/completions',
      input_file_id: 'file-abc',
      completion_window: '24h',
      status: 'completed',
      created_at: S(T_CREATED),
      in_progress_at: S(T_CREATED),
      expires_at: S(T_EXPIRES),
      completed_at: S(T_ENDED),
      request_counts: { total: 2, completed: 2, failed: 0 },
    });
  });

  test('input_file_id defaults to an empty string', () => {
    expect(toOpenAIBatch(messageBatch(), CTX).input_file_id).toBe('');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// custom_id remap (10.4)

/** Small seeded PRNG so the random round trip is reproducible. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('custom ids (10.4)', () => {
  test.each([
    ['one character', 'a'],
    ['dashed', 'request-1'],
    ['mixed', 'A_b-9'],
    ['64-character', 'x'.repeat(64)],
    ['hash-like', 'h_looks_hashed_but_is_valid'],
  ])('a valid (%s) id is kept', (_kind, id) => {
    const map = new CustomIdMap();
    expect(map.add(id)).toBe(id);
    expect(map.toOriginal(id)).toBe(id);
    expect(map.remapped).toBe(0);
    expect([...map.entries()]).toEqual([]);
  });

  test.each([
    ['dotted', 'order.1'],
    ['spaced', 'with space'],
    ['slashed', 'path/to/x'],
    ['coloned', 'colon:id'],
    ['accented', 'héllo'],
    ['CJK', '日本語'],
    ['emoji', '🙂'],
    ['empty', ''],
    ['65-character', 'x'.repeat(65)],
    ['1000-character', 'a'.repeat(1000)],
  ])(
    'an invalid (%s) id is remapped to h_<base32 sha256> and back',
    (_kind, id) => {
      const map = new CustomIdMap();
      const safe = map.add(id);
      expect(safe).toMatch(/^h_[a-z2-7]{40}$/);
      expect(safe).toBe(hashedCustomId(id));
      expect(map.toOriginal(safe)).toBe(id);
      expect(map.remapped).toBe(1);
      expect([...map.entries()]).toEqual([[safe, id]]);
    },
  );

  test.each([
    ['order.1', 'h_zayie3cfhds3wd6lcy6e6cfpvkonclm5t5gbf6le'],
    ['héllo/wörld', 'h_467mbqhwqyqiswxjbuzaaqsvoyrwresjcfj7nzxj'],
  ])('the hash is base32(sha256(utf8 id)) lowercase: %s', (id, expected) => {
    expect(new CustomIdMap().add(id)).toBe(expected);
  });

  test('the remap is deterministic across instances', () => {
    expect(new CustomIdMap().add('a.b')).toBe(new CustomIdMap().add('a.b'));
  });

  test('adding the same id twice returns the same safe id', () => {
    const map = new CustomIdMap();
    expect(map.add('a.b')).toBe(map.add('a.b'));
    expect(map.add('ok')).toBe('ok');
    expect(map.add('ok')).toBe('ok');
    expect(map.remapped).toBe(1);
  });

  test('collision: a valid id equal to an earlier mapped id gets a numeric suffix', () => {
    const map = new CustomIdMap();
    const mapped = map.add('x.y');
    expect(map.add(mapped)).toBe(`${mapped}_1`);
    expect(map.toOriginal(mapped)).toBe('x.y');
    expect(map.toOriginal(`${mapped}_1`)).toBe(mapped);
    expect(map.remapped).toBe(2);
  });

  test('collision: a mapped id equal to an earlier kept id gets a numeric suffix', () => {
    const map = new CustomIdMap();
    const kept = hashedCustomId('x.y');
    expect(map.add(kept)).toBe(kept);
    expect(map.add('x.y')).toBe(`${kept}_1`);
    expect(map.toOriginal(kept)).toBe(kept);
    expect(map.toOriginal(`${kept}_1`)).toBe('x.y');
  });

  test('collision: suffixes count up and stay within 64 characters', () => {
    const long = 'L'.repeat(64);
    const map = CustomIdMap.fromEntries([
      [long, 'first original'],
      [`${'L'.repeat(62)}_1`, 'second original'],
    ]);
    const safe = map.add(long);
    expect(safe).toBe(`${'L'.repeat(62)}_2`);
    expect(safe).toMatch(ANTHROPIC_CUSTOM_ID);
    expect(map.toOriginal(safe)).toBe(long);
  });

  test('toOriginal of an id that could not have come from the map is undefined', () => {
    expect(new CustomIdMap().toOriginal('has.dot')).toBeUndefined();
  });

  test('entries() holds only remapped ids and fromEntries() restores the inverse', () => {
    const map = new CustomIdMap();
    const ids = ['keep-me', 'a.b', 'c d', 'keep_too'];
    const safe = ids.map((id) => map.add(id));
    const persisted = JSON.parse(JSON.stringify([...map.entries()])) as Array<[string, string]>;
    expect(persisted.map(([, original]) => original)).toEqual(['a.b', 'c d']);
    const restored = CustomIdMap.fromEntries(persisted);
    expect(safe.map((s) => restored.toOriginal(s))).toEqual(ids);
    expect(restored.remapped).toBe(2);
    expect(restored.add('a.b')).toBe(safe[1]);
  });

  test('fromEntries rejects an entry whose safe id Anthropic would not accept', () => {
    expect(() => CustomIdMap.fromEntries([['bad.id', 'x']])).toThrow(/not an Anthropic custom_id/);
  });

  test('round trip for 10,000 random unicode, dotted, long and valid ids', () => {
    const rand = mulberry32(20240924);
    const pick = (s: string) => s[Math.floor(rand() * s.length)];
    const pools = [
      'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-', // valid characters
      'abc.:/ 09-_', // dotted, slashed, spaced
      'éü日本語🙂Ωж\u0000\u200b\t', // unicode (including astral, NUL, zero-width)
    ];
    const originals = new Set<string>();
    while (originals.size < 10_000) {
      const pool = pools[Math.floor(rand() * pools.length)];
      const length = rand() < 0.1 ? 60 + Math.floor(rand() * 200) : 1 + Math.floor(rand() * 20);
      let id = '';
      for (let i = 0; i < length; i++) id += pool === pools[2] ? [...pool][Math.floor(rand() * [...pool].length)] : pick(pool);
      originals.add(id);
    }
    const map = new CustomIdMap();
    const pairs = [...originals].map((original) => [original, map.add(original)] as const);
    const safeIds = new Set(pairs.map(([, safe]) => safe));
    expect(safeIds.size).toBe(originals.size);
    const restored = CustomIdMap.fromEntries(JSON.parse(JSON.stringify([...map.entries()])) as Array<[string, string]>);
    for (const [original, safe] of pairs) {
      expect(safe).toMatch(ANTHROPIC_CUSTOM_ID);
      if (ANTHROPIC_CUSTOM_ID.test(original)) expect(safe).toBe(original);
      expect(map.toOriginal(safe)).toBe(original);
      expect(restored.toOriginal(safe)).toBe(original);
    }
    expect(map.remapped).toBe(pairs.filter(([original]) => !ANTHROPIC_CUSTOM_ID.test(original)).length);
    expect(map.remapped).toBeGreaterThan(1000);
  });
});
