import { Module } from '@nestjs/common';
import { TenantPolicyCache } from './tenant-policy.cache';

// Gives a service TenantPolicyCache; the importing app also imports KafkaModule.forRoot.
@Module({
  providers: [TenantPolicyCache],
  exports: [TenantPolicyCache],
})
export class TenantPolicyModule {}
