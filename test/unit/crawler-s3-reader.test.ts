import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchBucket,
  S3Client,
  type GetObjectCommandInput,
  type ListObjectsV2CommandInput,
} from '@aws-sdk/client-s3';
import { S3AccessError, s3ObjectReader, type StoredObject } from '../../local-aws/glue/crawler';

type Input = ListObjectsV2CommandInput | GetObjectCommandInput;

/**
 * An S3 client whose requests never leave the process: a middleware at the
 * front of the stack answers each command, so the reader is exercised through
 * the real SDK commands.
 */
function fakeS3(answer: (command: string, input: Input) => unknown) {
  const client = new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  });
  const calls: { command: string; input: Input }[] = [];
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      const input = args.input as Input;
      calls.push({ command: context.commandName ?? '', input });
      return { output: answer(context.commandName ?? '', input) as never, response: {} };
    },
    { step: 'initialize', name: 'fakeS3' },
  );
  return { client, calls };
}

const collect = async (objects: AsyncIterable<StoredObject>) => {
  const listed: StoredObject[] = [];
  for await (const object of objects) listed.push(object);
  return listed;
};

test('list follows continuation tokens through every page', async () => {
  const { client, calls } = fakeS3((_command, input) => {
    const token = (input as ListObjectsV2CommandInput).ContinuationToken;
    return token === undefined
      ? {
          Contents: [{ Key: 'raw/a', Size: 1, LastModified: new Date(1) }],
          IsTruncated: true,
          NextContinuationToken: 't1',
        }
      : { Contents: [{ Key: 'raw/b', Size: 2 }], IsTruncated: false };
  });
  const listed = await collect(s3ObjectReader(client).list('lake', 'raw/', new AbortController().signal));
  expect(listed).toEqual([
    { key: 'raw/a', size: 1, lastModified: new Date(1) },
    { key: 'raw/b', size: 2, lastModified: new Date(0) },
  ]);
  expect(calls.map(({ command, input }) => [command, input])).toEqual([
    [ListObjectsV2Command.name, { Bucket: 'lake', Prefix: 'raw/', ContinuationToken: undefined }],
    [ListObjectsV2Command.name, { Bucket: 'lake', Prefix: 'raw/', ContinuationToken: 't1' }],
  ]);
});

test('read asks for an inclusive byte range, or the whole object without one', async () => {
  const { client, calls } = fakeS3(() => ({
    Body: { transformToByteArray: () => Promise.resolve(new Uint8Array([1, 2, 3])) },
  }));
  const reader = s3ObjectReader(client);
  const signal = new AbortController().signal;
  expect(await reader.read('lake', 'raw/a', signal, { start: 0, end: 65535 })).toEqual(Buffer.from([1, 2, 3]));
  await reader.read('lake', 'raw/a', signal);
  expect(calls.map(({ command, input }) => [command, (input as GetObjectCommandInput).Range])).toEqual([
    [GetObjectCommand.name, 'bytes=0-65535'],
    [GetObjectCommand.name, undefined],
  ]);
});

test('an S3 error names the operation, the S3 location and the code', async () => {
  const { client } = fakeS3(() => {
    throw new NoSuchBucket({ message: 'The specified bucket does not exist', $metadata: {} });
  });
  const listing = collect(s3ObjectReader(client).list('no-such-bucket', 'x/', new AbortController().signal));
  await expect(listing).rejects.toBeInstanceOf(S3AccessError);
  await expect(listing).rejects.toMatchObject({
    code: 'NoSuchBucket',
    message: 'S3 ListObjectsV2 of s3://no-such-bucket/x/ failed: NoSuchBucket: The specified bucket does not exist',
  });
});

test('an aborted request stays an abort, not an S3 error', async () => {
  const controller = new AbortController();
  const { client } = fakeS3(() => {
    controller.abort();
    const error = new Error('The operation was aborted');
    error.name = 'AbortError';
    throw error;
  });
  await expect(s3ObjectReader(client).read('lake', 'raw/a', controller.signal)).rejects.toMatchObject({
    name: 'AbortError',
  });
});
