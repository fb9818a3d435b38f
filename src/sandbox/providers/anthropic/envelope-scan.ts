/**
 * A push scanner for the create body `{"requests": [ ... ]}`: it walks the top-level object byte by byte
 * and hands out the raw text of each `requests` element as it completes, so a 256 MB body is never parsed
 * or held whole. It checks only the skeleton; each element and other top-level value goes to JSON.parse.
 */

/** The body is not the JSON object the scanner expects; `message` says where it went wrong. */
export class MalformedBody extends Error {}

type State =
  | 'root' // before '{'
  | 'key-or-close' // just after '{'
  | 'key' // after ',' in the object
  | 'colon'
  | 'value'
  | 'after-value' // ',' or '}'
  | 'element-or-close' // just after '[' of `requests`
  | 'element' // after ',' in `requests`
  | 'after-element' // ',' or ']'
  | 'done';

/** A value being collected: strings and containers end at their closing byte, other values at a delimiter. */
interface Capture {
  role: 'key' | 'value' | 'element';
  pieces: Buffer[];
  start: number;
  primitive: boolean;
  depth: number;
  inString: boolean;
  escaped: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export class EnvelopeScanner {
  /** What the body's `requests` key held, once the scan has passed it. */
  requests: 'absent' | 'array' | 'not-array' = 'absent';
  private state: State = 'root';
  private capture: Capture | null = null;
  private key = '';
  private elements: Buffer[] = [];

  /** Feeds the next chunk of the body; returns the `requests` elements it completed, in order. */
  push(chunk: Buffer): Buffer[] {
    this.elements = [];
    if (this.capture) this.capture.start = 0;
    let i = 0;
    while (i < chunk.length) {
      if (this.capture) {
        i = this.collect(chunk, i, this.capture);
        continue;
      }
      const c = chunk[i];
      if (!isSpace(c)) this.step(c, i);
      if (!this.capture) i++; // a capture that starts here consumes its first byte in `collect`
    }
    if (this.capture) this.capture.pieces.push(chunk.subarray(this.capture.start));
    return this.elements;
  }

  /** Call after the last chunk: a body that stopped early is malformed. */
  end(): void {
    if (this.state !== 'done') throw new MalformedBody(this.state === 'root' ? 'the request body is empty' : 'unexpected end of the JSON body');
  }

  /** One structural byte outside any captured value. */
  private step(c: number, at: number): void {
    switch (this.state) {
      case 'root':
        if (c !== OPEN_OBJECT) throw new MalformedBody('the request body must be a JSON object');
        this.state = 'key-or-close';
        return;
      case 'key-or-close':
      case 'key':
        if (c === CLOSE_OBJECT && this.state === 'key-or-close') this.state = 'done';
        else if (c === QUOTE) this.begin('key', at);
        else throw new MalformedBody('expected a property name in double quotes');
        return;
      case 'colon':
        if (c !== COLON) throw new MalformedBody(`expected ':' after the property name "${this.key}"`);
        this.state = 'value';
        return;
      case 'value':
        if (this.key === 'requests' && this.requests !== 'absent') throw new MalformedBody('the property "requests" appears twice');
        if (this.key === 'requests' && c === OPEN_ARRAY) {
          this.requests = 'array';
          this.state = 'element-or-close';
        } else this.beginValue('value', c, at);
        return;
      case 'after-value':
        if (c === COMMA) this.state = 'key';
        else if (c === CLOSE_OBJECT) this.state = 'done';
        else throw new MalformedBody("expected ',' or '}' after a property value");
        return;
      case 'element-or-close':
      case 'element':
        if (c === CLOSE_ARRAY && this.state === 'element-or-close') this.state = 'after-value';
        else this.beginValue('element', c, at);
        return;
      case 'after-element':
        if (c === COMMA) this.state = 'element';
        else if (c === CLOSE_ARRAY) this.state = 'after-value';
        else throw new MalformedBody("expected ',' or ']' after an element of \"requests\"");
        return;
      case 'done':
        throw new MalformedBody('unexpected data after the JSON object');
    }
  }

  private beginValue(role: 'value' | 'element', c: number, at: number): void {
    if (c === COMMA || c === CLOSE_ARRAY || c === CLOSE_OBJECT || c === COLON) {
      throw new MalformedBody(`unexpected '${String.fromCharCode(c)}' where a value was expected`);
    }
    this.begin(role, at);
  }

  private begin(role: Capture['role'], at: number): void {
    this.capture = { role, pieces: [], start: at, primitive: false, depth: 0, inString: false, escaped: false };
  }

  /** Advances through a captured value from `i`; returns where scanning resumes. */
  private collect(chunk: Buffer, i: number, cap: Capture): number {
    if (i === cap.start && cap.pieces.length === 0) {
      const first = chunk[i];
      cap.primitive = first !== QUOTE && first !== OPEN_OBJECT && first !== OPEN_ARRAY;
    }
    for (; i < chunk.length; i++) {
      const c = chunk[i];
      if (cap.primitive) {
        if (isSpace(c) || c === COMMA || c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
          this.complete(chunk, i, cap);
          return i; // the delimiter belongs to the enclosing structure
        }
      } else if (cap.inString) {
        if (cap.escaped) cap.escaped = false;
        else if (c === BACKSLASH) cap.escaped = true;
        else if (c === QUOTE) {
          cap.inString = false;
          if (cap.depth === 0) {
            this.complete(chunk, i + 1, cap);
            return i + 1;
          }
        }
      } else if (c === QUOTE) cap.inString = true;
      else if (c === OPEN_OBJECT || c === OPEN_ARRAY) cap.depth++;
      else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        cap.depth--;
        if (cap.depth === 0) {
          this.complete(chunk, i + 1, cap);
          return i + 1;
        }
      }
    }
    return i;
  }

  private complete(chunk: Buffer, end: number, cap: Capture): void {
    cap.pieces.push(chunk.subarray(cap.start, end));
    const raw = cap.pieces.length === 1 ? cap.pieces[0] : Buffer.concat(cap.pieces);
    this.capture = null;
    if (cap.role === 'element') {
      this.elements.push(raw);
      this.state = 'after-element';
      return;
    }
    const value = parse(raw);
    if (cap.role === 'key') {
      this.key = String(value);
      this.state = 'colon';
      return;
    }
    if (this.key === 'requests') this.requests = 'not-array';
    this.state = 'after-value';
  }
}

function parse(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw new MalformedBody(err instanceof Error ? err.message : String(err));
  }
}
