/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum Cloud Storage keeps for every object beside
 * its MD5 and sends as the resource's `crc32c` and in `x-goog-hash` (https://cloud.google.com/storage/docs/hashes-etags):
 * the big-endian 4 bytes of the checksum, in base64. google-cloud-storage checks uploads and downloads against it
 * by default. Node has no CRC32C (zlib's crc32 is the other polynomial), so it is computed here, slicing by 8.
 */

const TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    tables[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let t = 1; t < 8; t++) tables[t][n] = (tables[t - 1][n] >>> 8) ^ tables[0][tables[t - 1][n] & 0xff];
  }
  return tables;
})();

/** An incremental CRC32C: `update` with each piece in order, then `digest`. */
export class Crc32c {
  private crc = 0xffffffff;

  update(data: Uint8Array): this {
    const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
    let crc = this.crc;
    let i = 0;
    const end8 = data.length - (data.length % 8);
    for (; i < end8; i += 8) {
      const lo = (crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))) >>> 0;
      crc =
        t7[lo & 0xff] ^
        t6[(lo >>> 8) & 0xff] ^
        t5[(lo >>> 16) & 0xff] ^
        t4[lo >>> 24] ^
        t3[data[i + 4]] ^
        t2[data[i + 5]] ^
        t1[data[i + 6]] ^
        t0[data[i + 7]];
    }
    for (; i < data.length; i++) crc = t0[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
    this.crc = crc >>> 0;
    return this;
  }

  /** The checksum as an unsigned 32-bit number. */
  value(): number {
    return (this.crc ^ 0xffffffff) >>> 0;
  }

  /** The checksum as Cloud Storage writes it: base64 of its 4 big-endian bytes. */
  digest(): string {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.value());
    return out.toString('base64');
  }
}
