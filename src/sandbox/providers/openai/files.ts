/** The file store: metadata in memory, bytes on disk under `<dataDir>/files/<id>`. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { notFound } from '../../kernel/http';
import type { SortKey } from '../../kernel/pagination';
import { RecordBook } from '../../kernel/store';
import { newFileId } from './ids';
import { paginate, type PageRequest } from './list';
import type { FileJson, FilePurpose, ListJson } from './wire';

const THIRTY_DAYS_S = 30 * 24 * 3600;

export interface StoredFile {
  id: string;
  bytes: number;
  createdMs: number;
  /** Unix seconds, or null when the file is kept until deleted. */
  expiresAt: number | null;
  filename: string;
  purpose: FilePurpose;
  path: string;
}

export interface NewFile {
  /** A file already written to disk; it is moved into the store. */
  sourcePath: string;
  bytes: number;
  filename: string;
  purpose: FilePurpose;
  /** Seconds after creation; absent means the API's default for the purpose. */
  expiresAfterSeconds?: number;
}

export class FileStore {
  private readonly files: RecordBook<StoredFile>;

  constructor(
    private readonly dir: string,
    now: () => number,
  ) {
    this.files = new RecordBook(now);
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
  }

  async add(input: NewFile, createdMs = this.files.now()): Promise<StoredFile> {
    const id = newFileId();
    const target = path.join(this.dir, id);
    await fs.rename(input.sourcePath, target);
    const createdAt = Math.floor(createdMs / 1000);
    // Batch inputs and outputs expire after 30 days by default; other purposes are kept until deleted.
    const defaultExpiry = input.purpose === 'batch' || input.purpose === 'batch_output' ? THIRTY_DAYS_S : null;
    const expiresAfter = input.expiresAfterSeconds ?? defaultExpiry;
    const file: StoredFile = {
      id,
      bytes: input.bytes,
      createdMs,
      expiresAt: expiresAfter === null ? null : createdAt + expiresAfter,
      filename: input.filename,
      purpose: input.purpose,
      path: target,
    };
    this.files.add(id, file, createdMs);
    return file;
  }

  require(id: string, param: string | null = null): StoredFile {
    const file = this.files.get(id);
    if (!file) throw notFound(`No such File object: ${id}`, param);
    return file;
  }

  /** Forgets the file and unlinks its bytes; downloads already streaming keep their open descriptor. */
  async delete(id: string): Promise<void> {
    const file = this.require(id, 'id');
    this.files.delete(id);
    await fs.rm(file.path, { force: true });
  }

  list(purpose: string | null, page: Omit<PageRequest, 'after'> & { after: string | null }): ListJson<FileJson> {
    const after = page.after === null ? null : this.cursor(page.after);
    const items = this.files
      .entries()
      .filter(({ value: f }) => purpose === null || f.purpose === purpose)
      .map(({ key, value: f }) => ({ key, value: toFileJson(f) }));
    return paginate(items, { ...page, after });
  }

  private cursor(id: string): SortKey {
    const key = this.files.keyOf(id);
    if (!key) throw notFound(`No such File object: ${id}`, 'after');
    return key;
  }
}

export function toFileJson(file: StoredFile): FileJson {
  return {
    id: file.id,
    object: 'file',
    bytes: file.bytes,
    created_at: Math.floor(file.createdMs / 1000),
    expires_at: file.expiresAt,
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
    status_details: null,
  };
}
