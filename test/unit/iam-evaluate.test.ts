import { checkPolicy, evaluate, type PolicyDocument } from '../../iam/evaluate';

const reader: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::lake/raw/*' },
    {
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: 'arn:aws:s3:::lake',
      Condition: { StringLike: { 's3:prefix': ['raw/*', 'raw/'] } },
    },
    { Effect: 'Allow', Action: ['glue:Get*'], Resource: ['arn:aws:glue:us-east-1:1:table/db/*'] },
  ],
};

test('an Allow matches by action (wildcards, any case) and resource (wildcards, exact case)', () => {
  expect(evaluate([reader], { action: 's3:GetObject', resource: 'arn:aws:s3:::lake/raw/t/x.gz' })).toBe('allowed');
  expect(evaluate([reader], { action: 'S3:getobject', resource: 'arn:aws:s3:::lake/raw/x' })).toBe('allowed');
  expect(evaluate([reader], { action: 'glue:GetTable', resource: 'arn:aws:glue:us-east-1:1:table/db/t' })).toBe(
    'allowed',
  );
  expect(evaluate([reader], { action: 's3:GetObject', resource: 'arn:aws:s3:::lake/RAW/x' })).toBe('implicit-deny');
  expect(evaluate([reader], { action: 's3:PutObject', resource: 'arn:aws:s3:::lake/raw/x' })).toBe('implicit-deny');
  expect(evaluate([reader], { action: 'glue:CreateTable', resource: 'arn:aws:glue:us-east-1:1:table/db/t' })).toBe(
    'implicit-deny',
  );
  expect(evaluate([], { action: 's3:GetObject', resource: 'arn:aws:s3:::lake/raw/x' })).toBe('implicit-deny');
});

test('conditions: StringLike on a present key, and a missing key', () => {
  const list = (prefix?: string) =>
    evaluate([reader], { action: 's3:ListBucket', resource: 'arn:aws:s3:::lake', context: { 's3:prefix': prefix } });
  expect(list('raw/ticks/')).toBe('allowed');
  expect(list('raw/')).toBe('allowed');
  expect(list('dlq/')).toBe('implicit-deny');
  expect(list(undefined)).toBe('implicit-deny');
});

test('an explicit Deny wins over any Allow; NotAction and NotResource; negated operators and IfExists', () => {
  const deny: PolicyDocument = {
    Statement: [
      { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' },
      { Effect: 'Deny', Action: 's3:DeleteObject', NotResource: 'arn:aws:s3:::lake/tmp/*' },
      {
        Effect: 'Deny',
        Action: 's3:PutObject',
        Resource: '*',
        Condition: { StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': 'AES256' } },
      },
    ],
  };
  expect(evaluate([deny], { action: 'glue:GetTable', resource: 'x' })).toBe('allowed');
  expect(evaluate([deny], { action: 'iam:PassRole', resource: 'x' })).toBe('implicit-deny');
  expect(evaluate([deny], { action: 's3:DeleteObject', resource: 'arn:aws:s3:::lake/raw/a' })).toBe('explicit-deny');
  expect(evaluate([deny], { action: 's3:DeleteObject', resource: 'arn:aws:s3:::lake/tmp/a' })).toBe('allowed');
  const put = (encryption?: string) =>
    evaluate([deny], {
      action: 's3:PutObject',
      resource: 'arn:aws:s3:::lake/a',
      context: { 's3:x-amz-server-side-encryption': encryption },
    });
  expect(put('AES256')).toBe('allowed');
  expect(put('aws:kms')).toBe('explicit-deny');
  // IfExists: a missing key satisfies the condition, so the Deny applies.
  expect(put(undefined)).toBe('explicit-deny');
});

test('set qualifiers and Null', () => {
  const policy: PolicyDocument = {
    Statement: [
      {
        Effect: 'Allow',
        Action: 'glue:TagResource',
        Resource: '*',
        Condition: {
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['team', 'env'] },
          Null: { 'aws:TagKeys': 'false' },
        },
      },
    ],
  };
  const tag = (keys?: string[]) =>
    evaluate([policy], { action: 'glue:TagResource', resource: 'r', context: { 'aws:TagKeys': keys } });
  expect(tag(['team'])).toBe('allowed');
  expect(tag(['team', 'owner'])).toBe('implicit-deny');
  expect(tag(undefined)).toBe('implicit-deny');
});

test('a malformed policy or an operator the evaluation does not know is refused, naming it', () => {
  expect(() => checkPolicy({ Statement: [] }, 'p')).toThrow('policy p: no Statement');
  expect(() => checkPolicy({ Statement: [{ Effect: 'Allow', Resource: '*' }] }, 'p')).toThrow(
    'policy p statement 0: give exactly one of Action and NotAction',
  );
  expect(() =>
    checkPolicy(
      {
        Statement: [
          { Effect: 'Allow', Action: '*', Resource: '*', Condition: { DateGreaterThan: { 'aws:CurrentTime': 'x' } } },
        ],
      },
      'p',
    ),
  ).toThrow('condition operator DateGreaterThan is not supported');
  expect(() => checkPolicy({ Statement: [{ Effect: 'Maybe' as 'Allow', Action: '*', Resource: '*' }] }, 'p')).toThrow(
    'Effect must be Allow or Deny',
  );
});
