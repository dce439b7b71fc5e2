export * from './ingest.ts';
export * from './policies.ts';
export * from './views.ts';
export * from './oncall.ts';
export * from './live.ts';
export * from './contact.ts';
