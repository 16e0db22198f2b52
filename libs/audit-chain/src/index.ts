export * from './canonical-json';
export * from './record-hash';
export * from './checkpoint-statement';
