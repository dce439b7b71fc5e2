import { z } from 'zod';
import type { IntegrationTypeDefinition } from './types.ts';

const region = z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'an AWS region such as us-east-1');

/**
 * One AWS account. Credentials are an access key pair, a role to assume, or both (the key pair then
 * assumes the role). A role without keys is assumed with the worker's own credentials (its instance
 * profile): only the scans worker's host needs to be trusted by the role.
 */
export const awsSettingsSchema = z.strictObject({
  regions: z.array(region).min(1).max(30).refine((r) => new Set(r).size === r.length, 'a region is given twice').describe('the regions scanned'),
  roleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'an IAM role ARN').optional().describe('a role to assume (STS AssumeRole) before every call'),
  externalId: z.string().min(2).max(1224).optional().describe('the ExternalId the role\'s trust policy asks for'),
  endpoint: z.url({ protocol: /^https?$/ }).max(500).optional().describe('an AWS-compatible endpoint for every service (a local emulator); leave out for AWS itself'),
});
export const awsSecretsSchema = z.strictObject({
  accessKeyId: z.string().regex(/^[A-Z0-9]{16,128}$/, 'an access key id (AKIA…)').meta({ writeOnly: true }).optional(),
  secretAccessKey: z.string().min(16).max(128).meta({ writeOnly: true }).optional(),
});
export type AwsSettings = z.infer<typeof awsSettingsSchema>;
export type AwsSecrets = z.infer<typeof awsSecretsSchema>;

export const awsIntegration: IntegrationTypeDefinition<typeof awsSettingsSchema, typeof awsSecretsSchema> = {
  type: 'aws',
  title: 'AWS account',
  settingsSchema: awsSettingsSchema,
  secretsSchema: awsSecretsSchema,
  addresses: ['endpoint'],
  check: (settings, secrets) => {
    const issues = [];
    if ((secrets.accessKeyId === undefined) !== (secrets.secretAccessKey === undefined)) {
      issues.push({ path: ['secrets', secrets.accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey'], message: 'give the access key id and the secret access key together' });
    }
    if (secrets.accessKeyId === undefined && settings.roleArn === undefined) issues.push({ path: ['settings', 'roleArn'], message: 'give an access key pair, a role to assume, or both' });
    return issues;
  },
};
