import { parseS3Uri } from '../../lib/s3-uri';

test('splits an s3:// address into bucket and key, and refuses what is not one', () => {
  expect(parseS3Uri('s3://lake/input/ticks.csv')).toEqual({ bucket: 'lake', key: 'input/ticks.csv' });
  expect(parseS3Uri('s3://lake/athena-results/')).toEqual({ bucket: 'lake', key: 'athena-results/' });
  expect(parseS3Uri('s3://lake/')).toEqual({ bucket: 'lake', key: '' });
  expect(parseS3Uri('s3://lake')).toBeUndefined();
  expect(parseS3Uri('/data/ticks.csv')).toBeUndefined();
  expect(parseS3Uri('https://lake/input/ticks.csv')).toBeUndefined();
});
