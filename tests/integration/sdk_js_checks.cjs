// SPDX-License-Identifier: Apache-2.0
// AWS SDK for JavaScript v3 against kura; run by test_sdk_js.sh.
// usage: NODE_PATH=.../node_modules node sdk_js_checks.cjs ENDPOINT AK SK LABEL
'use strict';
const crypto = require('crypto');
const { Readable } = require('stream');
const zlib = require('zlib');
const s3 = require('@aws-sdk/client-s3');
const { Upload } = require('@aws-sdk/lib-storage');

const [endpoint, ak, sk, label] = process.argv.slice(2);
const client = new s3.S3Client({
  endpoint, region: 'us-east-1', forcePathStyle: true,
  credentials: { accessKeyId: ak, secretAccessKey: sk },
  maxAttempts: 1,
});

// record every raw response's x-amz-request-id
const seen = [];
client.middlewareStack.add((next, ctx) => async (args) => {
  try {
    const out = await next(args);
    seen.push([ctx.commandName, out.response.statusCode, out.response.headers['x-amz-request-id']]);
    return out;
  } catch (e) {
    const r = e.$response;
    if (r) seen.push([ctx.commandName, r.statusCode, r.headers['x-amz-request-id']]);
    throw e;
  }
}, { step: 'deserialize', name: 'recordRequestId' });

// record what the SDK sends for uploads (checksum mode)
const sent = [];
client.middlewareStack.add((next, ctx) => async (args) => {
  const h = args.request.headers || {};
  if (ctx.commandName === 'PutObjectCommand' || ctx.commandName === 'UploadPartCommand') {
    const lower = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
    const sha = lower['x-amz-content-sha256'] || 'no-sha256-header';
    sent.push([ctx.commandName, /^[0-9a-f]{64}$/.test(sha) ? 'signed-hash' : sha, lower['x-amz-trailer'] || '',
      Object.keys(lower).filter((k) => k.startsWith('x-amz-checksum-')).join(',')]);
  }
  return next(args);
}, { step: 'finalizeRequest', name: 'recordSent', priority: 'low' });

let passed = 0, failed = 0;
const failures = [];
function eq(got, want, what) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) throw new Error(`${what}: expected ${w.slice(0, 400)}, got ${g.slice(0, 400)}`);
}
async function run(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${label}: ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  } catch (e) {
    failed++;
    const msg = `${e.name || 'Error'}: ${e.message}` + (e.$metadata ? ` (http ${e.$metadata.httpStatusCode})` : '');
    failures.push(`${label}: ${name}: ${msg}`);
    console.log(`FAIL ${label}: ${name}: ${msg}`);
    if (process.env.KURA_IT_TRACE) console.log(e.stack);
  }
}
async function bytes(body) {
  return Buffer.from(await body.transformToByteArray());
}
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const md5 = (b) => crypto.createHash('md5').update(b).digest('hex');
const crc32b64 = (b) => {
  const v = zlib.crc32 ? zlib.crc32(b) : null;
  if (v === null) return null;
  const out = Buffer.alloc(4); out.writeUInt32BE(v >>> 0); return out.toString('base64');
};
async function expectError(p, name, what) {
  try { await p; } catch (e) {
    if (e.name !== name) throw new Error(`${what}: expected ${name}, got ${e.name} (${e.message})`);
    return e;
  }
  throw new Error(`${what}: expected ${name}, call succeeded`);
}

(async () => {
  const B = `js-${label}`;
  await run('CreateBucket', async () => {
    await client.send(new s3.CreateBucketCommand({ Bucket: B }));
    const lb = await client.send(new s3.ListBucketsCommand({}));
    if (!lb.Buckets.some((b) => b.Name === B)) throw new Error('bucket not listed');
  });

  const data = crypto.randomBytes(300001);
  await run('PutObject Buffer + GetObject (checksum mode)', async () => {
    const put = await client.send(new s3.PutObjectCommand({
      Bucket: B, Key: 'buf/obj', Body: data, ContentType: 'application/x-js',
      Metadata: { lang: 'js' },
    }));
    eq(put.ETag, `"${md5(data)}"`, 'PutObject ETag');
    const g = await client.send(new s3.GetObjectCommand({ Bucket: B, Key: 'buf/obj', ChecksumMode: 'ENABLED' }));
    const body = await bytes(g.Body);
    eq(sha(body), sha(data), 'GetObject body');
    eq(g.ContentType, 'application/x-js', 'ContentType');
    eq(g.Metadata, { lang: 'js' }, 'Metadata');
    const want = crc32b64(data);
    if (want !== null) eq(g.ChecksumCRC32, want, 'ChecksumCRC32 (default checksum of the SDK)');
  });

  await run('PutObject from a stream (unknown length -> aws-chunked)', async () => {
    const d = crypto.randomBytes(2 * 1024 * 1024 + 11);
    const chunks = [];
    for (let i = 0; i < d.length; i += 65536) chunks.push(d.subarray(i, i + 65536));
    await client.send(new s3.PutObjectCommand({
      Bucket: B, Key: 'stream/obj', Body: Readable.from(chunks), ContentLength: d.length,
    }));
    const g = await client.send(new s3.GetObjectCommand({ Bucket: B, Key: 'stream/obj', ChecksumMode: 'ENABLED' }));
    eq(sha(await bytes(g.Body)), sha(d), 'stream upload content');
    const want = crc32b64(d);
    if (want !== null) eq(g.ChecksumCRC32, want, 'ChecksumCRC32');
  });

  for (const alg of ['CRC32', 'CRC32C', 'SHA1', 'SHA256']) {
    await run(`PutObject ChecksumAlgorithm ${alg}`, async () => {
      const d = crypto.randomBytes(50000);
      const put = await client.send(new s3.PutObjectCommand({
        Bucket: B, Key: `ck/${alg}`, Body: d, ChecksumAlgorithm: alg,
      }));
      const g = await client.send(new s3.GetObjectCommand({ Bucket: B, Key: `ck/${alg}`, ChecksumMode: 'ENABLED' }));
      eq(sha(await bytes(g.Body)), sha(d), 'content');
      const field = 'Checksum' + alg;
      if (!put[field]) throw new Error(`PutObject response lacks ${field}`);
      eq(g[field], put[field], `GetObject ${field} equals the uploaded one`);
      if (alg === 'SHA256') eq(g[field], crypto.createHash('sha256').update(d).digest('base64'), 'SHA256 value');
      if (alg === 'SHA1') eq(g[field], crypto.createHash('sha1').update(d).digest('base64'), 'SHA1 value');
    });
  }

  await run('wrong ChecksumCRC32 -> BadDigest', async () => {
    await expectError(client.send(new s3.PutObjectCommand({
      Bucket: B, Key: 'ck/bad', Body: Buffer.from('payload'), ChecksumCRC32: 'AAAAAA==',
    })), 'BadDigest', 'PutObject with a wrong CRC32');
    await expectError(client.send(new s3.HeadObjectCommand({ Bucket: B, Key: 'ck/bad' })), 'NotFound', 'no object');
  });

  await run('HeadObject / NoSuchKey', async () => {
    const h = await client.send(new s3.HeadObjectCommand({ Bucket: B, Key: 'buf/obj' }));
    eq([h.ContentLength, h.ETag], [data.length, `"${md5(data)}"`], 'HeadObject');
    await expectError(client.send(new s3.GetObjectCommand({ Bucket: B, Key: 'missing' })), 'NoSuchKey', 'GET missing');
  });

  await run('GetObject Range', async () => {
    const g = await client.send(new s3.GetObjectCommand({ Bucket: B, Key: 'buf/obj', Range: 'bytes=1000-1999' }));
    eq(sha(await bytes(g.Body)), sha(data.subarray(1000, 2000)), 'range body');
    eq(g.ContentRange, `bytes 1000-1999/${data.length}`, 'ContentRange');
  });

  await run('ListObjectsV2 paging with delimiter', async () => {
    const keys = [];
    for (let i = 0; i < 30; i++) keys.push(`list/k${String(i).padStart(2, '0')}`);
    keys.push('list/sub/a', 'list/sub/b', 'list/zz/c');
    await Promise.all(keys.map((k) => client.send(new s3.PutObjectCommand({ Bucket: B, Key: k, Body: k }))));
    const got = [];
    for await (const page of s3.paginateListObjectsV2({ client, pageSize: 7 }, { Bucket: B, Prefix: 'list/' })) {
      for (const o of page.Contents || []) got.push(o.Key);
    }
    eq(got, [...keys].sort(), 'paginated keys');
    const entries = [];
    let n = 0;
    for await (const page of s3.paginateListObjectsV2({ client, pageSize: 4 }, { Bucket: B, Prefix: 'list/', Delimiter: '/' })) {
      n++;
      for (const o of page.Contents || []) entries.push(o.Key);
      for (const p of page.CommonPrefixes || []) entries.push(p.Prefix);
    }
    eq(entries.sort(), [...keys.slice(0, 30), 'list/sub/', 'list/zz/'].sort(), 'delimiter entries');
    eq(n, 8, 'pages for 32 entries at 4 per page');
  });

  await run('CopyObject + DeleteObjects', async () => {
    await client.send(new s3.CopyObjectCommand({ Bucket: B, Key: 'copy/obj', CopySource: `${B}/buf/obj` }));
    const g = await client.send(new s3.GetObjectCommand({ Bucket: B, Key: 'copy/obj' }));
    eq(sha(await bytes(g.Body)), sha(data), 'copied content');
    eq(g.Metadata, { lang: 'js' }, 'copied metadata');
    const r = await client.send(new s3.DeleteObjectsCommand({
      Bucket: B, Delete: { Objects: [{ Key: 'copy/obj' }, { Key: 'list/k00' }, { Key: 'nope' }] },
    }));
    eq((r.Deleted || []).map((d) => d.Key).sort(), ['copy/obj', 'list/k00', 'nope'], 'Deleted');
    eq(r.Errors || [], [], 'Errors');
  });

  await run('lib-storage Upload 12 MiB (multipart from a stream)', async () => {
    const d = crypto.randomBytes(12 * 1024 * 1024);
    const chunks = [];
    for (let i = 0; i < d.length; i += 1 << 20) chunks.push(d.subarray(i, i + (1 << 20)));
    const up = new Upload({
      client, params: { Bucket: B, Key: 'big/upload.bin', Body: Readable.from(chunks), ContentType: 'application/x-big' },
      partSize: 5 * 1024 * 1024, queueSize: 2, leavePartsOnError: false,
    });
    const res = await up.done();
    if (!/-3"$/.test(res.ETag)) throw new Error(`Upload ETag ${res.ETag} is not a 3-part multipart ETag`);
    const g = await client.send(new s3.GetObjectCommand({ Bucket: B, Key: 'big/upload.bin' }));
    eq(sha(await bytes(g.Body)), sha(d), '12 MiB content');
    eq(g.ContentType, 'application/x-big', 'ContentType');
    const ups = await client.send(new s3.ListMultipartUploadsCommand({ Bucket: B }));
    eq(ups.Uploads || [], [], 'no multipart upload left');
  });

  await run('lib-storage Upload small (single PutObject)', async () => {
    const d = crypto.randomBytes(1000);
    await new Upload({ client, params: { Bucket: B, Key: 'small/upload', Body: d } }).done();
    const g = await client.send(new s3.GetObjectCommand({ Bucket: B, Key: 'small/upload' }));
    eq(sha(await bytes(g.Body)), sha(d), 'small upload content');
  });

  await run('every response has x-amz-request-id', async () => {
    const bad = seen.filter(([, , id]) => !id);
    eq(bad, [], 'responses without x-amz-request-id');
    if (seen.length < 20) throw new Error(`only ${seen.length} responses recorded`);
  });

  const modes = [...new Set(sent.map((s) => s.join(' ')))];
  console.log(`     upload modes used by the SDK: ${JSON.stringify(modes)}`);
  if (failures.length) {
    console.log('\nFailures:');
    for (const f of failures) console.log('  ' + f);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.log(`FAIL ${label}: crashed: ${e.stack}`); console.log(`${passed} passed, ${failed + 1} failed`); process.exit(1); });
