/** An `s3://bucket/key` address, split. The key may be empty (`s3://bucket/`); no bucket or no slash: undefined. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  return match ? { bucket: match[1]!, key: match[2]! } : undefined;
}
