import { DEFAULT_KAFKA_MAX_MESSAGE_BYTES, maxTaskBodyBytes } from '@deliberate/contracts';
import { loadGatewayConfig } from './config';

describe('gateway config: the body limit', () => {
  it('derives the body limit from the Kafka message limit when it is not set', () => {
    expect(loadGatewayConfig({}).GATEWAY_MAX_BODY_BYTES).toBe(
      maxTaskBodyBytes(DEFAULT_KAFKA_MAX_MESSAGE_BYTES),
    );
    expect(loadGatewayConfig({ KAFKA_MAX_MESSAGE_BYTES: '5000000' }).GATEWAY_MAX_BODY_BYTES).toBe(
      maxTaskBodyBytes(5_000_000),
    );
  });

  it('keeps an explicit smaller limit', () => {
    expect(loadGatewayConfig({ GATEWAY_MAX_BODY_BYTES: '100000' }).GATEWAY_MAX_BODY_BYTES).toBe(100_000);
  });

  it('refuses at start-up a body limit whose tasks Kafka could not carry, naming both variables', () => {
    expect(() => loadGatewayConfig({ GATEWAY_MAX_BODY_BYTES: String(2 * 1024 * 1024) })).toThrow(
      /GATEWAY_MAX_BODY_BYTES.*KAFKA_MAX_MESSAGE_BYTES/,
    );
  });
});
