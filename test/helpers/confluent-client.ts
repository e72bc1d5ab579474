// jest's "confluent" project (jest.config.js): the test file, and the worker processes and scripts it starts
// (they inherit the environment), use the confluent Kafka client.
process.env.TICKSYNC_KAFKA_CLIENT = 'confluent';
