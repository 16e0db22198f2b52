// One definition of who is calling, shared with the services the gateway forwards to.
export type { Access, Principal } from '@deliberate/contracts';
